/**
 * The client's terminal while attached with a TTY, as docker/cli handles it: raw input (keys
 * go to the container's terminal, which does the echo and line editing), the window size
 * sent at start and on every SIGWINCH, and the detach keys watched on the way out.
 */
import type { ApiClient } from "./api-client";
import type { CliIO } from "./command";
import { StatusError, messageOf } from "./errors";
import { DEFAULT_DETACH_KEYS, detachKeyBytes, invalidDetachKeysMessage } from "../lib/detach-keys";

/** [height, width] of the client's terminal, or undefined when stdout is not one. */
export function terminalSize(io: CliIO): [number, number] | undefined {
  const out = io.stdout;
  if (!out.isTTY || !out.rows || !out.columns) return undefined;
  return [out.rows, out.columns];
}

/** Puts stdin in raw mode when it is a terminal; returns the function that restores it. */
export function rawInput(io: CliIO): () => void {
  const input = io.stdin;
  if (!input.isTTY || !input.setRawMode) return () => undefined;
  input.setRawMode(true);
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    input.setRawMode?.(false);
  };
}

/**
 * Sends the terminal's size to `resizePath` (/containers/{id}/resize or /exec/{id}/resize)
 * now and on every SIGWINCH. The first resize is retried briefly, as docker does, because
 * the process may still be starting. Returns the function that stops watching.
 */
export function monitorTerminalSize(client: ApiClient, resizePath: string, io: CliIO): () => void {
  if (!terminalSize(io)) return () => undefined;
  const send = async (): Promise<void> => {
    const size = terminalSize(io);
    if (!size) return;
    await client.call("POST", resizePath, { query: { h: String(size[0]), w: String(size[1]) } });
  };
  void (async () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        return await send();
      } catch {
        await new Promise((r) => setTimeout(r, 10 * (attempt + 1)).unref());
      }
    }
    io.stderr.write("failed to resize tty, using default size\n");
  })();
  const proc = io.proc;
  if (!proc) return () => undefined;
  const onResize = (): void => {
    send().catch((err: unknown) => io.stderr.write(`failed to resize tty: ${messageOf(err)}\n`));
  };
  proc.on("SIGWINCH", onResize);
  return () => proc.off("SIGWINCH", onResize);
}

/** --detach-keys as bytes; an unreadable value is refused before anything is created. */
export function detachKeysOption(spec: string | undefined, exitCode = 125): Buffer {
  const value = spec || DEFAULT_DETACH_KEYS;
  try {
    return detachKeyBytes(value);
  } catch {
    throw new StatusError(invalidDetachKeysMessage(value), exitCode);
  }
}
