import { type Ctx, type Deadline, type Engine, type MemSample, type Row, type Scenario, BENCH_LABEL, createContainer, engineMemory, engines, expectStatus, now, pool, removeBenchContainers } from "./harness";

/**
 * Density: N idle `sleep` containers per engine. Time to create and start them all (8 requests in
 * flight), memory outside the containers once they run (daemon RSS + every per-container monitor:
 * conmon for wharf; containerd + containerd-shim-runc-v2 for Docker; VmRSS and RssAnon from
 * /proc/PID/status; PSS from smaps_rollup as well, since RSS counts shared libraries once per
 * process), the overhead per container (growth over the idle engine, divided by N), and
 * the time to remove them all (force, 8 in flight). The per-container figures include the daemons'
 * growth, which at small N is within the noise of node's GC (it can come out negative); the
 * monitor average (conmon vs containerd-shim-runc-v2 RSS) has no such noise.
 */

const PARALLEL = 8;
const KiB_PER_MiB = 1024;

interface Point {
  n: number;
  startMs: number;
  removeMs: number;
  idle: MemSample;
  loaded: MemSample;
  perCtrKiB: number;
  perCtrAnonKiB: number;
  perCtrPssKiB: number;
  monitorAvgKiB: number;
  monitorAvgAnonKiB: number;
}

async function settle(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

function strip(m: MemSample): Omit<MemSample, "processes"> & { daemons: MemSample["processes"] } {
  const { processes, ...rest } = m;
  return { ...rest, daemons: processes.filter((p) => p.comm !== "conmon" && !p.comm.startsWith("containerd-shim")) };
}

async function point(e: Engine, n: number, deadline: Deadline, log: (m: string) => void): Promise<Point> {
  await settle(1000);
  const idle = engineMemory(e);
  const ids: string[] = [];
  try {
    log(`density: ${e.name}, starting ${n}`);
    const t0 = now();
    await pool(Array.from({ length: n }, (_, i) => i), PARALLEL, async () => {
      deadline.check();
      const id = await createContainer(e, ["sleep", "86400"]);
      ids.push(id);
      expectStatus(await e.api("POST", `/containers/${id}/start`), `${e.name} start`, 204);
    });
    const startMs = now() - t0;
    const filters = encodeURIComponent(JSON.stringify({ label: [BENCH_LABEL], status: ["running"] }));
    const running = (await e.api("GET", `/containers/json?filters=${filters}`)).json<unknown[]>().length;
    if (running !== n) throw new Error(`${e.name}: ${running} of ${n} containers running`);
    await settle(2000);
    const loaded = engineMemory(e);
    if (loaded.monitors !== n) log(`density: ${e.name}: found ${loaded.monitors} monitor processes for ${n} containers`);
    log(`density: ${e.name}, removing ${n}`);
    const t1 = now();
    await pool([...ids], PARALLEL, async (id) => {
      expectStatus(await e.api("DELETE", `/containers/${id}?force=1`), `${e.name} rm -f`, 204);
    });
    const removeMs = now() - t1;
    ids.length = 0;
    return {
      n,
      startMs,
      removeMs,
      idle,
      loaded,
      perCtrKiB: (loaded.totalKiB - idle.totalKiB) / n,
      perCtrAnonKiB: (loaded.totalAnonKiB - idle.totalAnonKiB) / n,
      perCtrPssKiB: (loaded.totalPssKiB - idle.totalPssKiB) / n,
      monitorAvgKiB: loaded.monitors ? loaded.monitorKiB / loaded.monitors : 0,
      monitorAvgAnonKiB: loaded.monitors ? loaded.monitorAnonKiB / loaded.monitors : 0,
    };
  } finally {
    if (ids.length) await removeBenchContainers(e);
  }
}

export const density: Scenario = {
  name: "density",
  budgetSeconds: (ctx) => (ctx.quick ? 300 : ctx.flags.has("n1000") ? 3600 : 1800),
  async run(ctx: Ctx, deadline: Deadline) {
    const sizes = ctx.quick ? [20, 50] : ctx.flags.has("n1000") ? [100, 500, 1000] : [100, 500];
    const points: Record<string, Point[]> = {};
    const errors: string[] = [];
    for (const n of sizes) {
      for (const e of engines(ctx)) {
        try {
          (points[e.name] ??= []).push(await point(e, n, deadline, ctx.log));
        } catch (err) {
          errors.push(`${e.name} N=${n}: ${err instanceof Error ? err.message : String(err)}`);
          ctx.log(`density: ${errors[errors.length - 1]}`);
          if (deadline.remaining() === 0) break;
        }
      }
    }
    const rows: Row[] = [];
    const get = (name: string, n: number, f: (p: Point) => number): number | null => {
      const p = points[name]?.find((x) => x.n === n);
      return p ? f(p) : null;
    };
    for (const n of sizes) {
      rows.push(
        { scenario: `density ${n}: start all`, unit: "ms", better: "lower", wharf: get("wharf", n, (p) => p.startMs), docker: get("docker", n, (p) => p.startMs) },
        { scenario: `density ${n}: RSS outside ctrs`, unit: "MiB", better: "lower", wharf: get("wharf", n, (p) => p.loaded.totalKiB / KiB_PER_MiB), docker: get("docker", n, (p) => p.loaded.totalKiB / KiB_PER_MiB) },
        { scenario: `density ${n}: RSS per ctr`, unit: "MiB", better: "lower", wharf: get("wharf", n, (p) => p.perCtrKiB / KiB_PER_MiB), docker: get("docker", n, (p) => p.perCtrKiB / KiB_PER_MiB) },
        { scenario: `density ${n}: anon per ctr`, unit: "MiB", better: "lower", wharf: get("wharf", n, (p) => p.perCtrAnonKiB / KiB_PER_MiB), docker: get("docker", n, (p) => p.perCtrAnonKiB / KiB_PER_MiB) },
        { scenario: `density ${n}: PSS per ctr`, unit: "MiB", better: "lower", wharf: get("wharf", n, (p) => p.perCtrPssKiB / KiB_PER_MiB), docker: get("docker", n, (p) => p.perCtrPssKiB / KiB_PER_MiB) },
        { scenario: `density ${n}: monitor RSS avg`, unit: "MiB", better: "lower", wharf: get("wharf", n, (p) => p.monitorAvgKiB / KiB_PER_MiB), docker: get("docker", n, (p) => p.monitorAvgKiB / KiB_PER_MiB) },
        { scenario: `density ${n}: remove all`, unit: "ms", better: "lower", wharf: get("wharf", n, (p) => p.removeMs), docker: get("docker", n, (p) => p.removeMs) },
      );
    }
    const detail = Object.fromEntries(
      Object.entries(points).map(([k, ps]) => [k, ps.map((p) => ({ ...p, idle: strip(p.idle), loaded: strip(p.loaded) }))]),
    );
    return { rows, errors, detail: { sizes, parallel: PARALLEL, network: "none", points: detail } };
  },
};
