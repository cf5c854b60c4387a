/**
 * Client side of the daemon's multiplexed ("stdcopy") streams: non-TTY attach and logs.
 * Framing is lib/stdcopy's; this module routes frames to stdout/stderr with back-pressure
 * and treats frame types the way docker's StdCopy does.
 */
import type { Readable, Writable } from "node:stream";
import { Demuxer, STDERR, STDIN, STDOUT } from "../lib/stdcopy";

/** Type 3 carries an error message from the daemon instead of container output. */
export const SYSERR = 3;

function write(target: Writable, data: Buffer): Promise<void> | undefined {
  if (target.write(data)) return undefined;
  return new Promise((resolve) => {
    const done = (): void => {
      target.off("drain", done);
      target.off("close", done);
      target.off("error", done);
      resolve();
    };
    target.on("drain", done).on("close", done).on("error", done);
  });
}

/**
 * Copies a multiplexed stream to stdout/stderr until it ends. Rejects on a system-error
 * frame (with its text) and on a stream type no daemon sends, as docker's StdCopy does.
 */
export async function demuxStream(source: Readable, stdout: Writable, stderr: Writable): Promise<void> {
  const demux = new Demuxer();
  for await (const chunk of source) {
    for (const frame of demux.push(chunk as Buffer)) {
      let target: Writable;
      if (frame.stream === STDOUT || frame.stream === STDIN) target = stdout;
      else if (frame.stream === STDERR) target = stderr;
      else if (frame.stream === SYSERR) throw new Error(frame.payload.toString("utf8"));
      else throw new Error(`Unrecognized input header: ${frame.stream}`);
      const wait = write(target, frame.payload);
      if (wait) await wait;
    }
  }
}

/** Copies a raw stream (TTY output, a saved image) to `target` until either ends. */
export async function copyStream(source: Readable, target: Writable): Promise<void> {
  for await (const chunk of source) {
    // A reader that went away (`wharf save x | head -c1`) ends the copy.
    if (target.destroyed) {
      source.destroy();
      return;
    }
    const wait = write(target, chunk as Buffer);
    if (wait) await wait;
  }
}
