import * as fs from "node:fs";
import * as path from "node:path";
import { DockerIgnore } from "../../lib/dockerignore";
import { InvalidParameterError } from "../../lib/errors";
import { resolveInRoot } from "../../lib/tar/resolve";

/**
 * An unpacked build context made ready: its Dockerfile read (a context without "Dockerfile" may
 * have "dockerfile", as in Docker) and what .dockerignore excludes removed (the daemon checks
 * too: a client may have sent it all).
 */
export function prepareContext(contextDir: string, dockerfile: string): string {
  let dfName = dockerfile || "Dockerfile";
  if (dfName === "Dockerfile" && !fs.existsSync(path.join(contextDir, dfName)) && fs.existsSync(path.join(contextDir, "dockerfile"))) dfName = "dockerfile";
  let dfText: string;
  try {
    dfText = fs.readFileSync(resolveInRoot(contextDir, dfName, true), "utf8");
  } catch {
    throw new InvalidParameterError(`Cannot locate specified Dockerfile: ${dfName}`);
  }
  const ignorePath = path.join(contextDir, ".dockerignore");
  if (fs.existsSync(ignorePath)) {
    const ignore = new DockerIgnore(fs.readFileSync(ignorePath, "utf8"));
    if (!ignore.empty) pruneIgnored(contextDir, "", ignore);
  }
  return dfText;
}

function pruneIgnored(root: string, rel: string, ignore: DockerIgnore): void {
  const dir = path.join(root, rel);
  for (const name of fs.readdirSync(dir)) {
    const childRel = rel ? `${rel}/${name}` : name;
    if (childRel === ".dockerignore") continue;
    const abs = path.join(root, childRel);
    const st = fs.lstatSync(abs);
    const excluded = ignore.excluded(childRel);
    if (st.isDirectory()) {
      if (excluded && !ignore.hasExceptions) fs.rmSync(abs, { recursive: true, force: true });
      else pruneIgnored(root, childRel, ignore);
    } else if (excluded) fs.rmSync(abs, { force: true });
  }
}
