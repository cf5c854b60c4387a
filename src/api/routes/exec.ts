import type { Duplex } from "node:stream";
import { execCreateSchema, type ExecService } from "../../engine/containers/exec-service";
import { STDERR, STDOUT, frame } from "../../lib/stdcopy";
import type { ExecProcess } from "../../runtime/types";
import { type Router, readJson, sendJson } from "../router";
import { writeUpgradeHeaders } from "../server";
import { versionAtLeast } from "../version";
import { z } from "zod";

const startSchema = z.object({ Detach: z.boolean().nullable().optional(), Tty: z.boolean().nullable().optional() }).passthrough();

/** Pipes an exec's output to the client (framed) and the client's input to it; ends the socket at exit. */
function pumpExec(proc: ExecProcess, socket: Duplex, early: { chunks: Buffer[]; ended: boolean; onData?: (c: Buffer) => void; onEnd?: () => void }): void {
  const stdin = proc.stdin;
  if (stdin) {
    stdin.on("error", () => undefined);
    for (const chunk of early.chunks.splice(0)) stdin.write(chunk);
    early.onData = (chunk) => stdin.write(chunk);
    early.onEnd = () => stdin.end();
    if (early.ended) stdin.end();
  } else {
    early.chunks.length = 0;
    early.onData = () => undefined;
  }
  let open = 2;
  const finish = (): void => {
    if (--open > 0) return;
    void proc.exit.then(({ error }) => {
      // Docker writes a start failure into the stream as text on stdout.
      if (error && socket.writable) socket.write(frame(STDOUT, Buffer.from(`OCI runtime exec failed: ${error}: unknown\r\n`)));
      socket.end();
    });
  };
  for (const [source, type] of [[proc.stdout, STDOUT], [proc.stderr, STDERR]] as const) {
    source.on("data", (chunk: Buffer) => {
      if (!socket.write(frame(type, chunk))) {
        source.pause();
        socket.once("drain", () => source.resume());
      }
    });
    source.once("end", finish);
  }
}

export function registerExecRoutes(router: Router, execs: ExecService): void {
  router.post("/containers/:id/exec", async ({ req, res, params }) => {
    const body = await readJson(req, execCreateSchema);
    sendJson(res, 201, execs.create(params.id, body));
  });

  router.get("/exec/:id/json", async ({ res, params }) => {
    sendJson(res, 200, execs.inspect(params.id));
  });

  router.post("/exec/:id/resize", async ({ res, params }) => {
    execs.get(params.id);
    res.writeHead(200, { "Content-Length": 0 });
    res.end();
  });

  router.post(
    "/exec/:id/start",
    async ({ req, res, params }) => {
      // Without an upgrade: detached starts, or clients that read output from the response.
      const body = await readJson(req, startSchema);
      const proc = await execs.start(params.id);
      if (body.Detach) {
        proc.stdin?.end();
        proc.stdout.resume();
        proc.stderr.resume();
        res.writeHead(200, { "Content-Length": 0 });
        res.end();
        return;
      }
      res.writeHead(200, { "Content-Type": "application/vnd.docker.multiplexed-stream" });
      proc.stdin?.end();
      let open = 2;
      for (const [source, type] of [[proc.stdout, STDOUT], [proc.stderr, STDERR]] as const) {
        source.on("data", (chunk: Buffer) => res.write(frame(type, chunk)));
        source.once("end", () => {
          if (--open === 0) res.end();
        });
      }
    },
    async ({ req, params, apiVersion }, socket, head) => {
      // After an upgrade the request body (Content-Length bytes) and then stdin arrive on the
      // socket itself; one listener splits them so no byte is lost in between.
      const bodyLength = Number(req.headers["content-length"] ?? 0) || 0;
      const early = { chunks: [] as Buffer[], ended: false } as { chunks: Buffer[]; ended: boolean; onData?: (c: Buffer) => void; onEnd?: () => void };
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
      const proc = await execs.start(params.id);
      writeUpgradeHeaders(socket, versionAtLeast(apiVersion, "1.42") ? "application/vnd.docker.multiplexed-stream" : "application/vnd.docker.raw-stream");
      if (body.Detach) {
        proc.stdout.resume();
        proc.stderr.resume();
        socket.end();
        return;
      }
      socket.once("close", () => proc.stdin?.end());
      pumpExec(proc, socket, early);
    },
  );
}
