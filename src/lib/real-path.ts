import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The path with every symlink resolved; a tail that does not exist yet (a bind source `-v`
 * will create) is kept as written under its existing parent's real path, so a symlinked
 * parent cannot hide where the path really is.
 */
export function realPath(p: string): string {
  const abs = path.resolve(p);
  try {
    return fs.realpathSync(abs);
  } catch {
    const parent = path.dirname(abs);
    return parent === abs ? abs : path.join(realPath(parent), path.basename(abs));
  }
}
