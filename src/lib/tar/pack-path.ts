import * as fs from "node:fs";
import * as path from "node:path";
import { PassThrough, type Readable } from "node:stream";
import * as tar from "tar-stream";

/**
 * tar-stream's packer is a streamx stream; HTTP responses, applyLayer and pipes want a Node
 * stream. Errors of the packer end the returned stream.
 */
export function nodeStream(pack: tar.Pack): Readable {
  const out = new PassThrough();
  pack.on("error", (err: Error) => out.destroy(err));
  pack.pipe(out);
  return out;
}

/**
 * A tar of one path and everything under it, entries named `name`/… (docker cp's rebase).
 * Symlinks are stored, never followed — except the path itself with `followTop` (cp -L).
 * Devices, fifos and sockets are left out, as docker cp leaves them.
 */
export function packPath(
  abs: string,
  name: string,
  opts: { followTop?: boolean; mapOwner?: (uid: number, gid: number) => { uid: number; gid: number } } = {},
): Readable {
  const pack = tar.pack();
  const walk = async (p: string, entryName: string, top: boolean): Promise<void> => {
    const st = top && opts.followTop ? fs.statSync(p) : fs.lstatSync(p);
    const { uid, gid } = opts.mapOwner ? opts.mapOwner(st.uid, st.gid) : st;
    const base = { name: entryName, mode: st.mode & 0o7777, uid, gid, mtime: st.mtime };
    if (st.isSymbolicLink()) {
      pack.entry({ ...base, type: "symlink", linkname: fs.readlinkSync(p) });
    } else if (st.isDirectory()) {
      pack.entry({ ...base, name: `${entryName.replace(/\/+$/, "")}/`, type: "directory" });
      for (const child of fs.readdirSync(p).sort()) await walk(path.join(p, child), path.posix.join(entryName, child), false);
    } else if (st.isFile()) {
      await new Promise<void>((resolve, reject) => {
        const entry = pack.entry({ ...base, type: "file", size: st.size }, (err) => (err ? reject(err) : resolve()));
        fs.createReadStream(p).on("error", reject).pipe(entry);
      });
    }
  };
  walk(abs, name, true).then(
    () => pack.finalize(),
    (err: Error) => pack.destroy(err),
  );
  return nodeStream(pack);
}
