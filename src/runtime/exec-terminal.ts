import * as fs from "node:fs";
import { PassThrough, Writable, type Readable } from "node:stream";
import * as tty from "node:tty";
import { native } from "../lib/native";

/**
 * The terminal of an `exec -t`. runc hands a pty master to a --console-socket only when it
 * detaches, and then nobody can wait for the process; without detaching it wants a terminal of
 * its own to copy to and from. So the runtime runs on the slave of a pty made here: runc
 * allocates the container's pty, copies between the two, forwards our window size (it resizes
 * on SIGWINCH, which the kernel sends when the master is resized) and exits with the process.
 *
 * Containers' own TTYs do not come here: conmon holds their pty (see ConmonRuntime.resize).
 */
export interface ExecTerminal {
  /** Give this to the runtime as stdin, stdout and stderr, then call releaseSlave(). */
  slaveFd: number;
  /** Our copy of the slave must go, or the output would never end. */
  releaseSlave(): void;
  /** What the process writes; ends when the runtime has exited and closed the slave. */
  output: Readable;
  /** To the process's terminal; end() is ignored (a terminal has no end of input). */
  input: Writable;
  resize(height: number, width: number): void;
  /** Frees everything if the runtime never ran. */
  close(): void;
}

export function openExecTerminal(size?: { height: number; width: number }): ExecTerminal {
  const addon = native();
  const [masterFd, slaveFd] = addon.openPty();
  if (size) setSize(masterFd, size);
  // A tty.ReadStream reads through libuv's poller: no thread-pool thread waits on it.
  const master = new tty.ReadStream(masterFd);
  const output = new PassThrough();
  // The slave's last close makes reads fail with EIO: that is the end of output.
  const end = (): void => {
    output.end();
    master.destroy();
  };
  master.on("error", end);
  master.on("end", end);
  master.pipe(output, { end: false });
  let slaveOpen = true;
  const releaseSlave = (): void => {
    if (!slaveOpen) return;
    slaveOpen = false;
    fs.closeSync(slaveFd);
  };
  const input = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (master.destroyed) return cb();
      master.write(chunk, () => cb());
    },
    final(cb) {
      cb();
    },
  });
  return {
    slaveFd,
    releaseSlave,
    output,
    input,
    resize(height, width) {
      if (!master.destroyed) setSize(masterFd, { height, width });
    },
    close() {
      releaseSlave();
      end();
    },
  };
}

function setSize(fd: number, size: { height: number; width: number }): void {
  try {
    native().setWinsize(fd, size.height, size.width);
  } catch {
    // The terminal is already gone.
  }
}

/**
 * Sets the window size of the terminal a process has on stdin (or stdout, stderr): the
 * container's pty of an exec, from outside. crun, unlike runc, does not pass a SIGWINCH on to
 * the pty it made, so an `exec -t` under crun is resized here; the kernel then signals the
 * process's foreground group as for any resize. False when none of those is a terminal.
 */
export function resizeTerminalOf(pid: number, height: number, width: number): boolean {
  for (const fd of [0, 1, 2]) {
    let handle: number;
    try {
      handle = fs.openSync(`/proc/${pid}/fd/${fd}`, fs.constants.O_RDWR | fs.constants.O_NOCTTY | fs.constants.O_NONBLOCK);
    } catch {
      continue;
    }
    try {
      native().setWinsize(handle, height, width);
      return true;
    } catch {
      // not a terminal: try the next
    } finally {
      fs.closeSync(handle);
    }
  }
  return false;
}
