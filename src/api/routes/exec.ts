import type { Duplex } from "node:stream";
import { execCreateSchema, type ExecService } from "../../engine/containers/exec-service";
import { STDERR, STDOUT, frame } from "../../lib/stdcopy";
import type { ExecProcess } from "../../runtime/types";
import { DEFAULT_DETACH_KEYS, DetachKeyFilter, detachKeyBytes } from "../../lib/detach-keys";
import type { Authorization } from "../authorization";
import { type Router, readJson, sendJson, terminalSizeParams } from "../router";
import { writeUpgradeHeaders } from "../server";
import { versionAtLeast } from "../version";
import { z } from "zod";

const startSchema = z
  .object({
    Detach: z.boolean().nullable().optional(),
    Tty: z.boolean().nullable().optional(),
    ConsoleSize: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]).nullable().optional(),
  })
  .passthrough();

interface EarlyInput {
  chunks: Buffer[];
  ended: boolean;
  onData?: (c: Buffer) => void;
  onEnd?: () => void;
}

/**
 * Pipes an exec's output to the client (framed unless TTY) and the client's input to it; ends
 * the socket at exit. On a TTY the detach keys end the session and leave the process running,
 * and the client's EOF ends the session too (a terminal has no end of input), as in Docker.
 */
function pumpExec(proc: ExecProcess, socket: Duplex, early: EarlyInput, tty: { keys: Buffer } | null): void {
  const stdin = proc.stdin;
  if (stdin) {
    stdin.on("error", () => undefined);
    const filter = tty ? new DetachKeyFilter(tty.keys) : null;
    let detached = false;
    const forward = (chunk: Buffer): void => {
      if (detached) return;
      const { data, detached: sawKeys } = filter ? filter.push(chunk) : { data: chunk, detached: false };
      if (data.length) stdin.write(data);
      if (sawKeys) {
        detached = true;
        socket.end();
      }
    };
    const endInput = tty ? () => socket.end() : () => stdin.end();
    for (const chunk of early.chunks.splice(0)) forward(chunk);
    early.onData = forward;
    early.onEnd = endInput;
    if (early.ended) endInput();
  } else {
    early.chunks.length = 0;
    early.onData = () => undefined;
  }
  let open = 2;
  const finish = (): void => {
    if (--open > 0) return;
    void proc.exit.then(({ error }) => {
      // Docker writes a start failure into the stream as text on stdout.
      if (error && socket.writable) {
        const text = Buffer.from(`OCI runtime exec failed: ${error}: unknown\r\n`);
        socket.write(tty ? text : frame(STDOUT, text));
      }
      socket.end();
    });
  };
  for (const [source, type] of [[proc.stdout, STDOUT], [proc.stderr, STDERR]] as const) {
    source.on("data", (chunk: Buffer) => {
      if (!socket.writable) return;
      if (!socket.write(tty ? chunk : frame(type, chunk))) {
        source.pause();
        socket.once("drain", () => source.resume());
      }
    });
    source.once("end", finish);
  }
}

export function registerExecRoutes(router: Router, execs: ExecService, authorization?: Authorization): void {
  router.post("/containers/:id/exec", async ({ req, res, params }) => {
    const body = await readJson(req, execCreateSchema);
    authorization?.checkExec(body);
    sendJson(res, 201, execs.create(params.id, body));
  });

  router.get("/exec/:id/json", async ({ res, params }) => {
    sendJson(res, 200, execs.inspect(params.id));
  });

  router.post("/exec/:id/resize", async ({ res, params, query }) => {
    const { height, width } = terminalSizeParams(query);
    execs.resize(params.id, height, width);
    res.writeHead(200, { "Content-Length": 0 });
    res.end();
  });

  router.post(
    "/exec/:id/start",
    async ({ req, res, params }) => {
      // Without an upgrade: detached starts, or clients that read output from the response.
      const body = await readJson(req, startSchema);
      const proc = await execs.start(params.id, body.ConsoleSize);
      if (body.Detach) {
        proc.stdin?.end();
        proc.stdout.resume();
        proc.stderr.resume();
        res.writeHead(200, { "Content-Length": 0 });
        res.end();
        return;
      }
      const tty = execs.get(params.id).request.Tty ?? false;
      res.writeHead(200, { "Content-Type": tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream" });
      proc.stdin?.end();
      let open = 2;
      for (const [source, type] of [[proc.stdout, STDOUT], [proc.stderr, STDERR]] as const) {
        source.on("data", (chunk: Buffer) => res.write(tty ? chunk : frame(type, chunk)));
        source.once("end", () => {
          if (--open === 0) res.end();
        });
      }
    },
    async ({ req, params, apiVersion }, socket, head) => {
      // After an upgrade the request body (Content-Length bytes) and then stdin arrive on the
      // socket itself; one listener splits them so no byte is lost in between.
      const bodyLength = Number(req.headers["content-length"] ?? 0) || 0;
      const early: EarlyInput = { chunks: [], ended: false };
      let bodyBytes = Buffer.alloc(0);
      let bodyDone!: () => void;
      const bodyRead = new Promise<void>((resolve) => (bodyDone = resolve));
      const take = (chunk: Buffer): void => {
        if (bodyBytes.length < bodyLength) {
          const need = bodyLength - bodyBytes.length;
          bodyBytes = Buffer.concat([bodyBytes, chunk.subarray(0, need)]);
          chunk = chunk.subarray(need);
          if (bodyBytes.length === bodyLength) bodyDone();
          if (chunk.length === 0) return;
        }
        if (early.onData) early.onData(chunk);
        else early.chunks.push(chunk);
      };
      if (bodyLength === 0) bodyDone();
      if (head.length) take(head);
      socket.on("data", take);
      socket.once("end", () => {
        bodyDone();
        early.ended = true;
        early.onEnd?.();
      });
      await bodyRead;
      let body: z.infer<typeof startSchema> = {};
      try {
        body = startSchema.parse(bodyBytes.length ? JSON.parse(bodyBytes.toString("utf8")) : {});
      } catch {
        // Docker ignores a start body it cannot read and starts attached.
      }
      const exec = execs.get(params.id);
      const tty = exec.request.Tty ?? false;
      const keys = detachKeyBytes(exec.request.DetachKeys || DEFAULT_DETACH_KEYS);
      const proc = await execs.start(params.id, body.ConsoleSize);
      const multiplexed = versionAtLeast(apiVersion, "1.42") && !tty;
      writeUpgradeHeaders(socket, multiplexed ? "application/vnd.docker.multiplexed-stream" : "application/vnd.docker.raw-stream");
      if (body.Detach) {
        proc.stdout.resume();
        proc.stderr.resume();
        socket.end();
        return;
      }
      socket.once("close", () => proc.stdin?.end());
      pumpExec(proc, socket, early, tty ? { keys } : null);
    },
  );
}
