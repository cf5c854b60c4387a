import { type Ctx, type Deadline, type Engine, type Row, type Scenario, createContainer, engines, expectStatus, now, pool, removeBenchContainers, stats } from "./harness";

/**
 * Throughput: N containers (`true`) created, started, waited for and removed through the Engine
 * API over the unix socket — the same four requests against both engines — sequentially and 8 at
 * a time. Reports containers per second and the per-container cycle latency.
 */

const PARALLEL = 8;

async function cycle(e: Engine): Promise<number> {
  const t0 = now();
  const id = await createContainer(e, ["true"]);
  try {
    expectStatus(await e.api("POST", `/containers/${id}/start`), `${e.name} start`, 204, 304);
    const w = expectStatus(await e.api("POST", `/containers/${id}/wait`), `${e.name} wait`, 200);
    const code = w.json<{ StatusCode: number }>().StatusCode;
    if (code !== 0) throw new Error(`${e.name}: container exited ${code}`);
  } finally {
    expectStatus(await e.api("DELETE", `/containers/${id}`), `${e.name} rm`, 204);
  }
  return now() - t0;
}

async function measure(e: Engine, n: number, parallel: number, deadline: Deadline): Promise<{ totalMs: number; perSec: number; cycle: ReturnType<typeof stats> }> {
  await cycle(e); // warm-up
  const t0 = now();
  const cycles = await pool(Array.from({ length: n }, (_, i) => i), parallel, async () => {
    deadline.check();
    return cycle(e);
  });
  const totalMs = now() - t0;
  return { totalMs, perSec: (n * 1000) / totalMs, cycle: stats(cycles) };
}

export const throughput: Scenario = {
  name: "throughput",
  budgetSeconds: (ctx) => (ctx.quick ? 300 : 900),
  async run(ctx: Ctx, deadline: Deadline) {
    const n = ctx.quick ? 20 : 100;
    const detail: Record<string, unknown> = { n, parallel: PARALLEL, network: "none" };
    const res: Record<string, { seq?: Awaited<ReturnType<typeof measure>>; par?: Awaited<ReturnType<typeof measure>> }> = {};
    for (const e of engines(ctx)) {
      try {
        ctx.log(`throughput: ${e.name}, ${n} sequential`);
        const seq = await measure(e, n, 1, deadline);
        ctx.log(`throughput: ${e.name}, ${n} at ${PARALLEL} at a time`);
        const par = await measure(e, n, PARALLEL, deadline);
        res[e.name] = { seq, par };
      } finally {
        await removeBenchContainers(e);
      }
    }
    detail.results = res;
    const v = (name: string, f: (m: NonNullable<(typeof res)[string]>) => number): number | null => (res[name] ? f(res[name]) : null);
    const rows: Row[] = [
      { scenario: `throughput ${n} sequential`, unit: "ctr/s", better: "higher", wharf: v("wharf", (m) => m.seq!.perSec), docker: v("docker", (m) => m.seq!.perSec) },
      { scenario: `  create/start/wait/rm median`, unit: "ms", better: "lower", wharf: v("wharf", (m) => m.seq!.cycle.median), docker: v("docker", (m) => m.seq!.cycle.median) },
      { scenario: `throughput ${n}, ${PARALLEL} at a time`, unit: "ctr/s", better: "higher", wharf: v("wharf", (m) => m.par!.perSec), docker: v("docker", (m) => m.par!.perSec) },
    ];
    return { rows, detail };
  },
};
