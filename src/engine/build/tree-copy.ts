import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { errorMessage } from "../../lib/errors";

const run = promisify(execFile);

/**
 * Copies a file or a directory's contents into `dest` keeping owners, modes, links and times
 * (cp -a: a RUN's view of a cache seed or an rw bind must be the source as it is).
 */
export async function copyTree(src: string, dest: string, opts: { contents?: boolean } = { contents: true }): Promise<void> {
  try {
    await run("cp", ["-a", "--reflink=auto", opts.contents === false ? src : `${src}/.`, dest], { timeout: 600_000 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr;
    throw new Error(`copying ${src}: ${stderr?.trim() || errorMessage(err)}`);
  }
}
