/**
 * The streaming half of run and start -a: the hijacked attach connection (stdin in,
 * demultiplexed stdout/stderr out, half-close when stdin ends), the exit-status wait that
 * is registered before start, and forwarding of the client's signals.
 */
import type { Socket } from "node:net";
import type { ApiClient } from "./api-client";
import { pathSegment, readBody } from "./api-client";
import type { CliIO } from "./command";
import { messageOf } from "./errors";
import { copyStream, demuxStream } from "./stdcopy";
import { detachKeysOption, monitorTerminalSize, rawInput } from "./terminal";
import { DetachKeyFilter } from "../lib/detach-keys";

export interface AttachOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  detachKeys?: string;
}

export interface AttachSession {
  /**
   * Settles when the output ends: "ended" when the daemon closed it (the container exited),
   * "detached" when the user typed the detach keys.
   */
  done: Promise<"ended" | "detached">;
  /** Tears the connection down (after a failed start). */
  close(): void;
}

/** Opens the hijacked attach stream and starts pumping it; returns once the daemon upgraded. */
export async function attachContainer(
  client: ApiClient,
  id: string,
  opts: AttachOptions,
  io: CliIO,
): Promise<AttachSession> {
  const socket: Socket = await client.hijack(`/containers/${pathSegment(id)}/attach`, {
    stream: true,
    stdin: opts.stdin,
    stdout: opts.stdout,
    stderr: opts.stderr,
    detachKeys: opts.detachKeys,
  });

  let stopInput = (): void => undefined;
  let detached = false;
  if (opts.stdin && opts.tty) {
    stopInput = forwardTerminalInput(io, socket, detachKeysOption(opts.detachKeys), () => {
      detached = true;
      socket.destroy();
    });
  } else if (opts.stdin) {
    const input = io.stdin;
    // pipe() ends the socket's write side when stdin ends: that half-close is how the
    // daemon learns to close the container's stdin.
    input.pipe(socket);
    stopInput = () => {
      input.unpipe(socket);
      input.pause();
    };
  }

  // With a TTY the daemon sends raw bytes; stderr is merged into stdout by the terminal.
  const pump = opts.tty ? copyStream(socket, io.stdout) : demuxStream(socket, io.stdout, io.stderr);
  const done = pump
    .catch((err: unknown) => {
      if (!detached) throw err;
    })
    .then(() => (detached ? ("detached" as const) : ("ended" as const)))
    .finally(() => {
      stopInput();
      socket.destroy();
    });
  // The caller may never await `done` (failed start); keep Node from reporting it.
  done.catch(() => undefined);
  return {
    done,
    close: () => {
      stopInput();
      socket.destroy();
    },
  };
}

/**
 * A TTY's input: the terminal in raw mode, keys sent as typed, the detach keys swallowed and
 * acted on here (docker/cli does the same; the daemon watches too). Returns the undo.
 */
export function forwardTerminalInput(io: CliIO, socket: Socket, keys: Buffer, onDetach: () => void): () => void {
  const input = io.stdin;
  const restore = rawInput(io);
  const filter = new DetachKeyFilter(keys);
  const onData = (chunk: Buffer): void => {
    const { data, detached } = filter.push(chunk);
    if (data.length && socket.writable) socket.write(data);
    if (detached) onDetach();
  };
  const onEnd = (): void => {
    if (socket.writable) socket.end();
  };
  input.on("data", onData);
  input.once("end", onEnd);
  input.resume();
  return () => {
    input.off("data", onData);
    input.off("end", onEnd);
    input.pause();
    restore();
  };
}

export interface ExitWait {
  /** Resolves when the daemon answered the wait's headers, i.e. it registered the wait. */
  registered: Promise<void>;
  /** The exit status; 125 (after printing why) when the wait itself failed. */
  status: Promise<number>;
  /** No one will read the status (the user detached): fail silently when the client closes. */
  abandon(): void;
}

/**
 * POST /containers/{id}/wait?condition=next-exit|removed. Sent before start so that a
 * container which exits at once cannot be missed.
 */
export function waitForExit(client: ApiClient, id: string, condition: string, io: CliIO): ExitWait {
  let abandoned = false;
  const response = client.request("POST", `/containers/${pathSegment(id)}/wait`, { query: { condition } });
  const registered = response.then(
    () => undefined,
    () => undefined,
  );
  const status = response
    .then(async (res) => {
      const text = (await readBody(res)).toString("utf8");
      const body = JSON.parse(text) as { StatusCode?: number; Error?: { Message?: string } | null };
      if (body.Error?.Message) {
        io.stderr.write(`Error waiting for container: ${body.Error.Message}\n`);
        return 125;
      }
      return body.StatusCode ?? 0;
    })
    .catch((err: unknown) => {
      if (!abandoned) io.stderr.write(`error waiting for container: ${messageOf(err)}\n`);
      return 125;
    });
  return { registered, status, abandon: () => (abandoned = true) };
}

/** Resolves after `ms` without keeping the process alive. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * How long run waits for the daemon to confirm the wait (moby flushes the 200 headers as
 * soon as the wait is registered) before starting anyway, for daemons that answer later.
 */
export const WAIT_REGISTER_TIMEOUT_MS = 250;

const FORWARDED_SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH"];

/**
 * --sig-proxy: signals the client receives go to the container (POST .../kill). Returns
 * the function that stops forwarding.
 */
export function forwardSignals(client: ApiClient, id: string, proc: NodeJS.Process, io: CliIO): () => void {
  const handlers = FORWARDED_SIGNALS.map((signal) => {
    const handler = (): void => {
      // SIGWINCH is a terminal resize, not something to deliver to a non-TTY process.
      if (signal === "SIGWINCH") return;
      client
        .call("POST", `/containers/${pathSegment(id)}/kill`, { query: { signal } })
        .catch((err: unknown) => io.stderr.write(`error sending signal: ${messageOf(err)}\n`));
    };
    proc.on(signal, handler);
    return { signal, handler };
  });
  return () => {
    for (const { signal, handler } of handlers) proc.off(signal, handler);
  };
}

/** The daemon refused to start the container; `message` is its error. */
export class StartError extends Error {}

export interface AttachedStartOptions extends AttachOptions {
  /** The container has --rm: wait for its removal rather than its exit. */
  autoRemove: boolean;
  /** --sig-proxy: forward the client's signals (never with a TTY, as docker). */
  proxySignals: boolean;
}

/**
 * docker's attached start, shared by `run` and `start -a`: attach, register the exit wait,
 * start, stream until the output ends; resolves with the container's exit status.
 * Throws StartError when the start itself fails.
 */
export async function attachStartAndWait(
  client: ApiClient,
  id: string,
  opts: AttachedStartOptions,
  io: CliIO,
): Promise<number> {
  const stopForwarding =
    opts.proxySignals && !opts.tty && io.proc ? forwardSignals(client, id, io.proc, io) : () => undefined;
  try {
    const session = await attachContainer(client, id, opts, io);
    const exit = waitForExit(client, id, opts.autoRemove ? "removed" : "next-exit", io);
    await Promise.race([exit.registered, delay(WAIT_REGISTER_TIMEOUT_MS)]);
    try {
      await client.call("POST", `/containers/${pathSegment(id)}/start`);
    } catch (err) {
      session.close();
      // With --rm the daemon removes the container; let that finish before exiting.
      if (opts.autoRemove) await Promise.race([exit.status, delay(10_000)]);
      throw new StartError(messageOf(err));
    }
    const stopResizing = opts.tty ? monitorTerminalSize(client, `/containers/${pathSegment(id)}/resize`, io) : () => undefined;
    try {
      // docker run -it: the detach keys leave the container running and exit 0, silently.
      if ((await session.done) === "detached") {
        exit.abandon();
        return 0;
      }
    } catch (err) {
      io.stderr.write(`${messageOf(err)}\n`);
    } finally {
      stopResizing();
    }
    return await exit.status;
  } finally {
    stopForwarding();
  }
}
