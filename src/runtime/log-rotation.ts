import * as fsp from "node:fs/promises";
import * as path from "node:path";

/**
 * The files of a rotated container log, Docker's json-file naming: `<log>` is the one conmon
 * writes, `<log>.1` the newest rotated one, `<log>.2` the one before it, and so on.
 */

function isErrno(err: unknown, code: string): boolean {
  return typeof err === "object" && err !== null && (err as NodeJS.ErrnoException).code === code;
}

/** The existing files of the log, oldest first (the current one last). */
export async function logFiles(logPath: string): Promise<string[]> {
  const base = path.basename(logPath);
  let names: string[];
  try {
    names = await fsp.readdir(path.dirname(logPath));
  } catch (err) {
    if (isErrno(err, "ENOENT")) return [];
    throw err;
  }
  const rotated = names
    .map((n) => (n.startsWith(`${base}.`) ? /^\d+$/.exec(n.slice(base.length + 1)) : null))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[0]))
    .sort((a, b) => b - a)
    .map((k) => `${logPath}.${k}`);
  return names.includes(base) ? [...rotated, logPath] : rotated;
}

/**
 * Makes room for a new current file: drops the oldest rotated file beyond what `maxFile`
 * allows, shifts `<log>.k` to `<log>.k+1` and renames `<log>` to `<log>.1`. The writer keeps
 * writing into the renamed file until it is told to reopen, so nothing is lost in between.
 * With maxFile 1 the caller removes `<log>.1` once the writer has reopened.
 */
export async function shiftLogFiles(logPath: string, maxFile: number): Promise<void> {
  const keep = Math.max(1, maxFile - 1);
  for (const file of await logFiles(logPath)) {
    const k = Number(file.slice(logPath.length + 1));
    if (file !== logPath && k >= keep) await fsp.rm(file, { force: true });
  }
  for (let k = keep - 1; k >= 1; k--) await rename(`${logPath}.${k}`, `${logPath}.${k + 1}`);
  await rename(logPath, `${logPath}.1`);
}

/** Puts `<log>.1` back as `<log>` when the writer could not reopen (it has exited). */
export async function unshiftLogFile(logPath: string): Promise<void> {
  try {
    await fsp.access(logPath);
  } catch {
    await rename(`${logPath}.1`, logPath);
  }
}

async function rename(from: string, to: string): Promise<void> {
  try {
    await fsp.rename(from, to);
  } catch (err) {
    if (!isErrno(err, "ENOENT")) throw err;
  }
}
