import * as fs from "node:fs";
import * as path from "node:path";
import { Readable, Writable } from "node:stream";
import { native } from "../lib/native";
import type { AttachStreams } from "./types";

/**
 * Client side of conmon's attach socket (`<bundle>/attach`, SOCK_SEQPACKET). Every packet conmon
 * sends is one read of the container's output prefixed by one byte naming the pipe
 * (conmon's stdpipe_t: 2 = stdout, 3 = stderr; a TTY's output is all stdout). Packets we send
 * are raw stdin bytes; our half-close (shutdown SHUT_WR) is EOF for conmon, which then closes
 * the container's stdin unless it runs with --leave-stdin-open.
 *
 * Node's net module cannot open SEQPACKET sockets, so the fd comes from the native addon and is
 * read with blocking fs.read calls. Each attached container therefore holds one libuv
 * threadpool thread in a read; bin/wharfd raises UV_THREADPOOL_SIZE so attaches cannot starve
 * file I/O. close() shuts the socket down (SHUT_RDWR), which makes the blocked read return 0;
 * the fd is closed only once no read or write on it is in flight, so it is never reused under
 * a pending call.
 */

/** What attach needs from the addon (shutdownReadWrite is new; without it close() waits for EOF). */
export interface AttachNative {
  seqpacketConnect(socketPath: string): number;
  shutdownWrite(fd: number): void;
  shutdownReadWrite?(fd: number): void;
}

const PIPE_STDOUT = 2;
const PIPE_STDERR = 3;
/** conmon sends at most 8192 bytes + 1 per packet; a read buffer smaller than a packet would truncate it. */
const READ_BUFFER = 64 * 1024;
/** conmon reads stdin packets into a 32 KiB buffer; smaller packets are never cut. */
const STDIN_PACKET = 8192;

export function attachSocketPath(bundleDir: string): string {
  return path.join(bundleDir, "attach");
}

/**
 * Connects to the socket in `bundleDir`. The path goes through /proc/self/fd/N of the open
 * bundle directory because sockaddr_un holds only 107 bytes and bundle paths can be longer.
 * Throws the addon's error (with errno) when nothing listens there.
 */
export function connectAttach(bundleDir: string, addon: AttachNative = native()): number {
  const dirFd = fs.openSync(bundleDir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    return addon.seqpacketConnect(`/proc/self/fd/${dirFd}/attach`);
  } finally {
    fs.closeSync(dirFd);
  }
}

/** Attaches to conmon's socket in `bundleDir`; see the module comment. */
export function attach(bundleDir: string, opts: { stdin: boolean }, addon: AttachNative = native()): AttachStreams {
  const fd = connectAttach(bundleDir, addon);
  return new AttachSession(fd, opts.stdin, addon).streams();
}

class AttachSession {
  private readonly buf = Buffer.allocUnsafe(READ_BUFFER);
  private reading = false;
  /** The stream whose push() said "full"; reading waits until Node calls its _read. */
  private blockedOn: Readable | null = null;
  private ended = false;
  private closing = false;
  private fdClosed = false;
  private writesInFlight = 0;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly stdin?: Writable;

  constructor(
    private readonly fd: number,
    withStdin: boolean,
    private readonly addon: AttachNative,
  ) {
    this.stdout = new Readable({ read: () => this.unblock(this.stdout) });
    this.stderr = new Readable({ read: () => this.unblock(this.stderr) });
    // A consumer that destroys the stream it was slow on must not stall the other one.
    this.stdout.on("close", () => this.unblock(this.stdout));
    this.stderr.on("close", () => this.unblock(this.stderr));
    if (withStdin) {
      this.stdin = new Writable({
        write: (chunk: Buffer, _enc, cb) => this.writeStdin(chunk, cb),
        final: (cb) => {
          try {
            if (!this.fdClosed) this.addon.shutdownWrite(this.fd);
            cb();
          } catch (err) {
            cb(err as Error);
          }
        },
      });
    }
    this.readNext();
  }

  streams(): AttachStreams {
    return { stdout: this.stdout, stderr: this.stderr, stdin: this.stdin, close: () => this.close() };
  }

  private unblock(s: Readable): void {
    if (this.blockedOn !== s) return;
    this.blockedOn = null;
    this.readNext();
  }

  private readNext(): void {
    if (this.ended || this.reading || this.blockedOn) return;
    if (this.closing) return this.finish();
    this.reading = true;
    fs.read(this.fd, this.buf, 0, this.buf.length, null, (err, n) => {
      this.reading = false;
      if (err || n === 0 || this.closing) return this.finish();
      const target = this.buf[0] === PIPE_STDERR ? this.stderr : this.buf[0] === PIPE_STDOUT ? this.stdout : null;
      if (target && n > 1 && !target.destroyed && !target.push(Buffer.from(this.buf.subarray(1, n)))) {
        // Backpressure reaches conmon (its write to us blocks), not a growing buffer here.
        this.blockedOn = target;
        return;
      }
      this.readNext();
    });
  }

  private writeStdin(chunk: Buffer, cb: (err?: Error | null) => void): void {
    if (this.fdClosed || this.closing) return cb(new Error("attach session is closed"));
    let off = 0;
    const next = (): void => {
      if (off >= chunk.length) return cb();
      const len = Math.min(STDIN_PACKET, chunk.length - off);
      this.writesInFlight++;
      fs.write(this.fd, chunk, off, len, null, (err, written) => {
        this.writesInFlight--;
        if (this.ended) this.maybeCloseFd();
        if (err) return cb(err);
        off += written;
        next();
      });
    };
    next();
  }

  /** Output is over (conmon closed its side, or we were closed): end the streams. */
  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.stdout.push(null);
    this.stderr.push(null);
    if (this.stdin && !this.stdin.destroyed && !this.stdin.writableFinished) this.stdin.destroy();
    this.maybeCloseFd();
  }

  private maybeCloseFd(): void {
    if (this.fdClosed || this.reading || this.writesInFlight > 0) return;
    this.fdClosed = true;
    fs.close(this.fd, () => undefined);
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.blockedOn = null;
    if (this.reading || this.writesInFlight > 0) {
      try {
        // Wakes the blocked read (returns 0) and fails blocked writes; finish() then closes the fd.
        this.addon.shutdownReadWrite?.(this.fd);
      } catch {
        // already shut down
      }
    }
    if (!this.reading) this.finish();
  }
}
