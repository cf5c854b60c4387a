/** Starts `wharf registry serve` privately and speaks plain HTTP(S) to it, for the registry tests. */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { freePort } from "./net";

const WHARF = path.resolve(__dirname, "../../../bin/wharf");

export interface RegistryProc {
  port: number;
  root: string;
  url: string;
  proc: ChildProcess;
  stderr: () => string;
  stop(): Promise<void>;
}

export async function startRegistry(args: string[] = [], opts: { tls?: boolean; root?: string } = {}): Promise<RegistryProc> {
  const port = await freePort();
  const root = opts.root ?? fs.mkdtempSync(path.join(os.tmpdir(), "wharf-registry-"));
  const proc = spawn(process.execPath, [WHARF, "registry", "serve", "--addr", `127.0.0.1:${port}`, "--root", root, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  proc.stdout!.resume();
  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`registry did not start: ${err}`)), 10_000);
    const check = (): void => {
      if (err.includes("listening on")) {
        clearTimeout(timer);
        proc.stderr!.off("data", check);
        resolve();
      }
    };
    proc.stderr!.on("data", check);
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`registry exited with ${code}: ${err}`));
    });
  });
  try {
    await started;
  } catch (e) {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGKILL");
      await exited;
    }
    if (opts.root === undefined) fs.rmSync(root, { recursive: true, force: true });
    throw e;
  }
  proc.removeAllListeners("exit");
  const ownRoot = opts.root === undefined;
  return {
    port,
    root,
    url: `${opts.tls ? "https" : "http"}://127.0.0.1:${port}`,
    proc,
    stderr: () => err,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
        proc.kill("SIGTERM");
        const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
      if (ownRoot) fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json<T = any>(): T;
}

export interface RequestOptions {
  headers?: Record<string, string | number>;
  body?: Buffer | string | (Buffer | string)[];
  tls?: boolean;
}

/** One request on its own connection; a body given as a list is sent chunk by chunk (chunked). */
export function request(port: number, method: string, urlPath: string, opts: RequestOptions = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const mod = opts.tls ? https : http;
    const headers: Record<string, string | number> = { ...(opts.headers ?? {}) };
    if (opts.body !== undefined && !Array.isArray(opts.body) && headers["Content-Length"] === undefined) {
      headers["Content-Length"] = Buffer.byteLength(opts.body);
    }
    const req = mod.request(
      { host: "127.0.0.1", port, method, path: urlPath, headers, agent: false, rejectUnauthorized: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        // "close" too: when the server answered before the whole body was sent, the socket
        // may break under the response; what arrived is the answer.
        const done = (): void => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            text: body.toString("utf8"),
            json: () => JSON.parse(body.toString("utf8")),
          });
        };
        res.on("end", done);
        res.on("close", done);
        res.on("error", () => undefined);
      },
    );
    // The server may answer (and close) before the whole body is written: keep the answer.
    req.on("error", (err) => setTimeout(() => reject(err), 500));
    if (Array.isArray(opts.body)) for (const c of opts.body) req.write(c);
    else if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** The first error code of a registry error body. */
export function errorCode(res: Response): string | undefined {
  try {
    return res.json<{ errors: { code: string }[] }>().errors[0]?.code;
  } catch {
    return undefined;
  }
}
