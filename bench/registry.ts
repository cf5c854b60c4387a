/**
 * Registry server benchmark (not a timed test): wharf's `registry serve` against Debian's
 * docker-registry (the CNCF distribution registry) in one run, both on loopback with private
 * roots. Push and pull throughput (blobs uploaded the way docker does: POST, streamed PATCH,
 * PUT ?digest), and manifest GET latency with 64 concurrent keep-alive clients.
 *
 *   node dist/bench/registry.js [--quick]
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

const quick = process.argv.includes("--quick");
const BLOB_MB = quick ? 8 : 32;
const BLOBS = quick ? 4 : 8;
const PARALLEL = 4;
const CLIENTS = 64;
const GET_SECONDS = quick ? 3 : 10;
const WHARF = path.resolve(__dirname, "../../bin/wharf");

interface Target {
  name: string;
  port: number;
  proc: ChildProcess;
  root: string;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });

function req(port: number, method: string, p: string, body?: Buffer, headers: Record<string, string | number> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; bytes: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: "127.0.0.1", port, method, path: p, agent, headers: { ...(body ? { "Content-Length": body.length } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on("data", (d: Buffer) => {
        bytes += d.length;
        if (bytes < 1 << 20) chunks.push(d);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, body: Buffer.concat(chunks) }));
    });
    r.on("error", reject);
    r.end(body);
  });
}

async function waitUp(port: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      if ((await req(port, "GET", "/v2/")).status === 200) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`registry on ${port} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startWharf(): Promise<Target> {
  const port = await freePort();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "bench-wharf-registry-"));
  const proc = spawn(process.execPath, [WHARF, "registry", "serve", "--addr", `127.0.0.1:${port}`, "--root", root, "--access-log", "none"], { stdio: "ignore" });
  await waitUp(port);
  return { name: "wharf", port, proc, root };
}

async function startDistribution(): Promise<Target | null> {
  if (spawnSync("sh", ["-c", "command -v docker-registry"]).status !== 0) return null;
  const port = await freePort();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "bench-distribution-"));
  const cfg = path.join(root, "config.yml");
  fs.mkdirSync(path.join(root, "data"));
  fs.writeFileSync(
    cfg,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(root, "data")}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const proc = spawn("docker-registry", ["serve", cfg], { stdio: "ignore" });
  await waitUp(port);
  return { name: "docker-registry", port, proc, root };
}

async function stop(t: Target): Promise<void> {
  if (t.proc.exitCode === null && t.proc.signalCode === null) {
    const exited = new Promise((r) => t.proc.once("exit", r));
    t.proc.kill("SIGTERM");
    const timer = setTimeout(() => t.proc.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
  fs.rmSync(t.root, { recursive: true, force: true });
}

async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

async function pushBlob(port: number, repo: string, data: Buffer, digest: string): Promise<void> {
  const start = await req(port, "POST", `/v2/${repo}/blobs/uploads/`, Buffer.alloc(0));
  if (start.status !== 202) throw new Error(`POST ${start.status}`);
  const loc = new URL(String(start.headers.location), `http://127.0.0.1:${port}`);
  const patch = await req(port, "PATCH", loc.pathname + loc.search, data, { "Content-Type": "application/octet-stream" });
  if (patch.status !== 202) throw new Error(`PATCH ${patch.status}`);
  const loc2 = new URL(String(patch.headers.location), `http://127.0.0.1:${port}`);
  loc2.searchParams.set("digest", digest);
  const put = await req(port, "PUT", loc2.pathname + loc2.search, Buffer.alloc(0));
  if (put.status !== 201) throw new Error(`PUT ${put.status} ${put.body.toString()}`);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface Result {
  pushMBs: number;
  pullMBs: number;
  p50: number;
  p99: number;
  rps: number;
}

async function measure(t: Target, blobs: { data: Buffer; digest: string }[]): Promise<Result> {
  const repo = "bench/app";
  const totalMB = (blobs.length * BLOB_MB);
  let t0 = performance.now();
  await pool(blobs, PARALLEL, (b) => pushBlob(t.port, repo, b.data, b.digest));
  const pushMBs = totalMB / ((performance.now() - t0) / 1000);
  t0 = performance.now();
  await pool(blobs, PARALLEL, async (b) => {
    const r = await req(t.port, "GET", `/v2/${repo}/blobs/${b.digest}`);
    if (r.status !== 200 || r.bytes !== b.data.length) throw new Error(`GET blob ${r.status}`);
  });
  const pullMBs = totalMB / ((performance.now() - t0) / 1000);
  // a small manifest over two of the blobs
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
  const configDigest = `sha256:${createHash("sha256").update(config).digest("hex")}`;
  await pushBlob(t.port, repo, config, configDigest);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
      layers: blobs.slice(0, 2).map((b) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: b.digest, size: b.data.length })),
    }),
  );
  const put = await req(t.port, "PUT", `/v2/${repo}/manifests/latest`, manifest, { "Content-Type": "application/vnd.oci.image.manifest.v1+json" });
  if (put.status !== 201) throw new Error(`PUT manifest ${put.status} ${put.body.toString()}`);
  const lat: number[] = [];
  const end = performance.now() + GET_SECONDS * 1000;
  // warm-up
  await Promise.all(Array.from({ length: CLIENTS }, () => req(t.port, "GET", `/v2/${repo}/manifests/latest`, undefined, { Accept: "application/vnd.oci.image.manifest.v1+json" })));
  const started = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (performance.now() < end) {
      const s = performance.now();
      const r = await req(t.port, "GET", `/v2/${repo}/manifests/latest`, undefined, { Accept: "application/vnd.oci.image.manifest.v1+json" });
      if (r.status !== 200) throw new Error(`GET manifest ${r.status}`);
      lat.push(performance.now() - s);
    }
  }));
  const rps = lat.length / ((performance.now() - started) / 1000);
  lat.sort((a, b) => a - b);
  return { pushMBs, pullMBs, p50: percentile(lat, 50), p99: percentile(lat, 99), rps };
}

async function main(): Promise<void> {
  const blobs = Array.from({ length: BLOBS }, () => {
    const data = randomBytes(BLOB_MB * 1024 * 1024);
    return { data, digest: `sha256:${createHash("sha256").update(data).digest("hex")}` };
  });
  const results: Record<string, Result> = {};
  for (const start of [startWharf, startDistribution]) {
    const t = await start();
    if (!t) {
      console.log("docker-registry is not installed: wharf only");
      continue;
    }
    try {
      results[t.name] = await measure(t, blobs);
    } finally {
      await stop(t);
    }
  }
  agent.destroy();
  const w = results.wharf;
  const d = results["docker-registry"];
  const line = (label: string, a: number, b: number | undefined, unit: string, higherBetter: boolean): string =>
    `${label.padEnd(28)} ${a.toFixed(2).padStart(9)} ${(b?.toFixed(2) ?? "-").padStart(9)} ${unit.padEnd(5)} ${b ? (higherBetter ? a / b : b / a).toFixed(2) : "-"}`;
  console.log(`registry bench: ${BLOBS} blobs x ${BLOB_MB} MiB, ${PARALLEL} at a time; manifest GET with ${CLIENTS} clients for ${GET_SECONDS}s`);
  console.log(`${"".padEnd(28)} ${"wharf".padStart(9)} ${"distrib.".padStart(9)} unit  wharf advantage (x)`);
  console.log(line("push throughput", w.pushMBs, d?.pushMBs, "MB/s", true));
  console.log(line("pull throughput", w.pullMBs, d?.pullMBs, "MB/s", true));
  console.log(line("manifest GET p50", w.p50, d?.p50, "ms", false));
  console.log(line("manifest GET p99", w.p99, d?.p99, "ms", false));
  console.log(line("manifest GET rate", w.rps, d?.rps, "req/s", true));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
