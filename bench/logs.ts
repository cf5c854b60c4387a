import { spawn } from "node:child_process";
import { type Ctx, type Deadline, type Engine, type Row, type Scenario, DOCKER, createContainer, engines, expectStatus, now, removeBenchContainers } from "./harness";

/**
 * Logs: a container writes BYTES to stdout (100-byte lines: `yes <99 chars> | head -c BYTES`).
 * Measured with the docker CLI against each engine:
 *  - follow: from the start request until `docker logs -f` (started right after) has delivered
 *    every byte and ended (the container's writing is included);
 *  - after exit: `docker logs` of the exited container, until every byte is delivered.
 * Each delivered byte count is checked.
 */

const LINE = "x".repeat(99);

/** Runs the docker CLI, counts stdout bytes, resolves when it exits. */
function dockerCount(e: Engine, args: string[], timeoutMs: number): Promise<{ bytes: number; code: number; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = now();
    const child = spawn(DOCKER, e.dockerArgs(args), { env: { ...process.env, ...e.dockerEnv }, stdio: ["ignore", "pipe", "pipe"] });
    let bytes = 0;
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (bytes += d.length));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`docker ${args.join(" ")} against ${e.name}: no end within ${timeoutMs} ms (${bytes} bytes)`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ bytes, code: code ?? 1, stderr, ms: now() - t0 });
    });
  });
}

async function measure(e: Engine, bytes: number, deadline: Deadline): Promise<{ followMs: number; afterExitMs: number; followBytes: number; afterExitBytes: number }> {
  const id = await createContainer(e, ["sh", "-c", `yes ${LINE} | head -c ${bytes}`]);
  try {
    const t0 = now();
    expectStatus(await e.api("POST", `/containers/${id}/start`), `${e.name} start`, 204);
    const follow = await dockerCount(e, ["logs", "-f", id], Math.min(300000, deadline.remaining()));
    const followMs = now() - t0;
    if (follow.code !== 0 || follow.bytes !== bytes) throw new Error(`${e.name} logs -f: exit ${follow.code}, ${follow.bytes} of ${bytes} bytes: ${follow.stderr}`);
    expectStatus(await e.api("POST", `/containers/${id}/wait`), `${e.name} wait`, 200);
    deadline.check();
    const after = await dockerCount(e, ["logs", id], Math.min(300000, deadline.remaining()));
    if (after.code !== 0 || after.bytes !== bytes) throw new Error(`${e.name} logs: exit ${after.code}, ${after.bytes} of ${bytes} bytes: ${after.stderr}`);
    return { followMs, afterExitMs: after.ms, followBytes: follow.bytes, afterExitBytes: after.bytes };
  } finally {
    await e.api("DELETE", `/containers/${id}?force=1`).catch(() => undefined);
  }
}

export const logs: Scenario = {
  name: "logs",
  budgetSeconds: (ctx) => (ctx.quick ? 300 : 900),
  async run(ctx: Ctx, deadline: Deadline) {
    const bytes = ctx.quick ? 20_000_000 : 100_000_000;
    const res: Record<string, Awaited<ReturnType<typeof measure>>> = {};
    for (const e of engines(ctx)) {
      try {
        ctx.log(`logs: ${e.name}, ${bytes / 1e6} MB`);
        res[e.name] = await measure(e, bytes, deadline);
      } finally {
        await removeBenchContainers(e);
      }
    }
    const v = (name: string, f: (r: (typeof res)[string]) => number): number | null => (res[name] ? f(res[name]) : null);
    const mb = bytes / 1e6;
    const rows: Row[] = [
      { scenario: `logs ${mb} MB: start -> logs -f done`, unit: "ms", better: "lower", wharf: v("wharf", (r) => r.followMs), docker: v("docker", (r) => r.followMs) },
      { scenario: `logs ${mb} MB: logs after exit`, unit: "ms", better: "lower", wharf: v("wharf", (r) => r.afterExitMs), docker: v("docker", (r) => r.afterExitMs) },
    ];
    return { rows, detail: { bytes, lineBytes: LINE.length + 1, results: res } };
  },
};
