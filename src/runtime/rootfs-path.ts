import { constants as C } from "node:fs";
import * as fsp from "node:fs/promises";

/**
 * Reading a file of a container's root filesystem without ever leaving it. A container image or
 * a running container controls every path component, so `/etc/passwd` may be a symlink to the
 * host's /etc/shadow, or `/etc` a symlink to `/`. We walk one component at a time, each looked
 * up relative to an open directory fd (through /proc/self/fd/N/<name>, Node's stand-in for
 * openat), never following a symlink in the kernel: links are read and re-resolved here with
 * the container root as "/", and ".." never climbs above it. A component swapped for a symlink
 * between our lstat and open makes the O_NOFOLLOW open fail, so races fail closed.
 */

const MAX_SYMLINKS = 255;

export class RootPathError extends Error {}

function fdPath(fd: number, name: string): string {
  return `/proc/self/fd/${fd}/${name}`;
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === "object" && err !== null && (err as NodeJS.ErrnoException).code === code;
}

/**
 * Contents of `file` (a path inside the container) under `root`, or null when it does not exist.
 * Only regular files are read (a FIFO or device would block or lie); larger than maxBytes is an error.
 */
export async function readFileInRoot(root: string, file: string, maxBytes = 16 * 1024 * 1024): Promise<Buffer | null> {
  const rootHandle = await fsp.open(root, C.O_RDONLY | C.O_DIRECTORY);
  // stack[0] is the root; each entry is an open directory along the resolved path.
  const stack: fsp.FileHandle[] = [rootHandle];
  const closeAbove = async (depth: number): Promise<void> => {
    while (stack.length > depth) await stack.pop()!.close();
  };
  try {
    const queue = file.split("/");
    let links = 0;
    while (queue.length > 0) {
      const name = queue.shift()!;
      if (name === "" || name === ".") continue;
      if (name === "..") {
        if (stack.length > 1) await closeAbove(stack.length - 1);
        continue;
      }
      const dir = stack[stack.length - 1];
      const p = fdPath(dir.fd, name);
      let st;
      try {
        st = await fsp.lstat(p);
      } catch (err) {
        if (isErrno(err, "ENOENT") || isErrno(err, "ENOTDIR")) return null;
        throw err;
      }
      if (st.isSymbolicLink()) {
        if (++links > MAX_SYMLINKS) throw new RootPathError(`too many levels of symbolic links in ${file}`);
        const target = await fsp.readlink(p);
        if (target.startsWith("/")) await closeAbove(1);
        queue.unshift(...target.split("/"));
        continue;
      }
      const isLast = queue.every((c) => c === "" || c === ".");
      if (!isLast) {
        if (!st.isDirectory()) return null;
        stack.push(await fsp.open(p, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW));
        continue;
      }
      if (!st.isFile()) throw new RootPathError(`${file} is not a regular file`);
      // O_NONBLOCK: if the entry was swapped for a FIFO, open must not hang.
      const fh = await fsp.open(p, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
      try {
        const fst = await fh.stat();
        if (!fst.isFile()) throw new RootPathError(`${file} is not a regular file`);
        if (fst.size > maxBytes) throw new RootPathError(`${file} is larger than ${maxBytes} bytes`);
        // Read to EOF with a cap: the file may grow after the stat.
        const chunks: Buffer[] = [];
        let total = 0;
        for (;;) {
          const chunk = Buffer.alloc(64 * 1024);
          const { bytesRead } = await fh.read(chunk, 0, chunk.length, null);
          if (bytesRead === 0) break;
          total += bytesRead;
          if (total > maxBytes) throw new RootPathError(`${file} is larger than ${maxBytes} bytes`);
          chunks.push(chunk.subarray(0, bytesRead));
        }
        return Buffer.concat(chunks, total);
      } finally {
        await fh.close();
      }
    }
    return null; // the path named a directory (or the root itself)
  } finally {
    await closeAbove(0);
  }
}
