/**
 * An output file written beside its final name and renamed into place when complete, so a
 * failed `save -o` leaves no half-written archive (docker's atomicwriter, same checks and
 * messages).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import type { Writable } from "node:stream";

const REASONS: Record<string, string> = {
  ENOENT: "no such file or directory",
  ENOTDIR: "not a directory",
  EACCES: "permission denied",
};

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return (e.code && REASONS[e.code]) || e.message;
}

/** Refuses destinations docker refuses; throws Error with its text. */
export function validateDestination(file: string): void {
  if (file === "") throw new Error("file name is empty");
  const dir = path.dirname(file);
  if (dir !== "." && dir !== "..") {
    let st: fs.Stats;
    try {
      st = fs.statSync(dir);
    } catch (err) {
      throw new Error(`invalid output path: stat ${dir}: ${reason(err)}`);
    }
    if (!st.isDirectory()) throw new Error(`invalid output path: stat ${dir}: not a directory`);
  }
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new Error(`failed to stat output path: lstat ${file}: ${reason(err)}`);
  }
  if (st.isFile()) return;
  if (st.isDirectory()) throw new Error("cannot write to a directory");
  if (st.isSymbolicLink()) throw new Error("cannot write to a symbolic link directly");
  if (st.isFIFO()) throw new Error("cannot write to a named pipe (FIFO)");
  if (st.isSocket()) throw new Error("cannot write to a socket");
  if (st.isCharacterDevice()) throw new Error("cannot write to a character device file");
  if (st.isBlockDevice()) throw new Error("cannot write to a block device file");
  throw new Error("unknown file mode");
}

export interface AtomicFile {
  stream: Writable;
  /** Waits for the data to be written, then renames the file into place. */
  commit(): Promise<void>;
  /** Removes the temporary file. */
  abort(): void;
}

export function createAtomicFile(file: string, mode = 0o600): AtomicFile {
  validateDestination(file);
  const target = path.resolve(file);
  const tmp = path.join(path.dirname(target), `.tmp-${path.basename(target)}${randomBytes(5).toString("hex")}`);
  const fd = fs.openSync(tmp, "wx", mode);
  const stream = fs.createWriteStream("", { fd });
  let done = false;
  return {
    stream,
    commit: () =>
      new Promise<void>((resolve, reject) => {
        stream.end(() => {
          try {
            fs.renameSync(tmp, target);
            done = true;
            resolve();
          } catch (err) {
            reject(err);
          }
        });
        stream.once("error", reject);
      }),
    abort: () => {
      if (done) return;
      stream.destroy();
      fs.rmSync(tmp, { force: true });
    },
  };
}
