import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import type { OciProcess } from "../oci-spec";
import { encodeGuestProcess } from "./guest-process";
import { connectControl } from "./state";

/**
 * `wharf-vm-runtime exec --process FILE [--pid-file F] ID`, as the engine runs `runc exec`: in
 * the foreground, the process's stdio on ours (a pty slave for -t), its exit code ours. The
 * shim (shim.sock, an "exec" line) relays our frames to the agent, which starts the process in
 * the container's root beside the first one: C (the process), I (stdin), E (end of stdin),
 * S (a signal), W (window size) go in; P (it started), O (stdout), F (stderr), X (the exit
 * status) come back. Only at P is the pid file written: an exec that could not start fails as
 * `runc exec` does, with no pid file and the reason in the log.
 */

const FORWARDED_SIGNALS: NodeJS.Signals[] = ["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"];
/** The status when the VM went away before the process reported one (killed with the container). */
const LOST_STATUS = 137;

function frame(type: string, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, "latin1");
  head.writeUInt32LE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  return b;
}

function windowSize(rows: number, cols: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16LE(rows & 0xffff, 0);
  b.writeUInt16LE(cols & 0xffff, 2);
  return b;
}

/** Connects to the shim and asks it for an exec channel. */
function connectShim(dir: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = connectControl(dir);
    let answer = "";
    const onData = (c: Buffer): void => {
      answer += c.toString("latin1");
      const nl = answer.indexOf("\n");
      if (nl < 0) return;
      sock.off("data", onData);
      const line = answer.slice(0, nl);
      if (line !== "ok") return reject(new Error(line.replace(/^error /, "")));
      // Nothing follows "ok" before our first frame: the shim answers only that.
      resolve(sock);
    };
    sock.on("data", onData);
    sock.once("error", () => reject(new Error("container is not running")));
    sock.once("end", () => reject(new Error("container is not running")));
    sock.write("exec\n");
  });
}

/** Runs the exec to its end; resolves with its exit status. */
export async function vmExec(stateDirectory: string, processFile: string, pidFile: string | undefined): Promise<number> {
  const proc = JSON.parse(fs.readFileSync(processFile, "utf8")) as OciProcess;
  const tty = proc.terminal && process.stdin.isTTY === true;
  const sizeNow = (): [number, number] => [process.stdout.rows || proc.consoleSize?.height || 24, process.stdout.columns || proc.consoleSize?.width || 80];
  if (proc.terminal) {
    const [rows, cols] = sizeNow();
    proc.consoleSize = { height: rows, width: cols };
  }
  const sock = await connectShim(stateDirectory);
  sock.removeAllListeners("end");
  sock.removeAllListeners("error");
  sock.write(frame("C", encodeGuestProcess({ process: proc, hostname: "" }, true)));
  for (const sig of FORWARDED_SIGNALS) process.on(sig, () => sock.write(frame("S", u32(os.constants.signals[sig]))));
  if (tty) {
    // The guest's pty does the line discipline; ours passes bytes through (stty: libuv's raw
    // mode keeps ONLCR, and every newline would gain a second \r).
    spawnSync("stty", ["raw", "-echo"], { stdio: [0, "ignore", "ignore"] });
    process.on("SIGWINCH", () => {
      const [rows, cols] = sizeNow();
      sock.write(frame("W", windowSize(rows, cols)));
    });
  }
  process.stdin.on("data", (chunk: Buffer) => sock.write(frame("I", chunk)));
  process.stdin.on("end", () => sock.write(frame("E")));
  process.stdin.on("error", () => sock.write(frame("E")));
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    let done = false;
    // Until the agent says the process runs, its stderr is why it could not start.
    let started = false;
    let startError = "";
    const finish = (status: number): void => {
      if (done) return;
      done = true;
      if (started) resolve(status);
      // As runc: no pid file, the reason in the log; the engine words it as Docker does.
      else {
        // Nothing may keep the runtime alive now: it exits with the error.
        sock.destroy();
        process.stdin.destroy();
        reject(new Error(`exec failed: unable to start container process: ${startError.trim() || `status ${status}`}`));
      }
    };
    sock.on("data", (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      while (buf.length >= 5) {
        const len = buf.readUInt32LE(1);
        if (buf.length < 5 + len) break;
        const type = String.fromCharCode(buf[0]);
        const payload = buf.subarray(5, 5 + len);
        buf = buf.subarray(5 + len);
        // stdout/stderr writes to pipes and ttys are synchronous on Linux: nothing is lost at exit.
        if (type === "P" && !started) {
          started = true;
          // The engine signals this pid: signals reach the guest process through us.
          if (pidFile) fs.writeFileSync(pidFile, String(process.pid));
        } else if (type === "O") process.stdout.write(payload);
        else if (type === "F" && !started) startError += payload.toString("utf8");
        else if (type === "F") process.stderr.write(payload);
        else if (type === "X" && payload.length >= 4) finish(payload.readUInt32LE(0));
      }
    });
    sock.on("end", () => finish(LOST_STATUS));
    sock.on("error", () => finish(LOST_STATUS));
  });
}
