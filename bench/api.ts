import { type Ctx, type Deadline, type Engine, type Row, type Scenario, createContainer, engines, expectStatus, now, pool, removeBenchContainers, stats } from "./harness";

/**
 * API latency with many containers present (created, not started): GET /containers/json?all=1
 * (what `docker ps -a` asks; without all=1 the list of running containers would be empty) and
 * GET /containers/{id}/json for ids picked at random, one request at a time, median of REQUESTS.
 */

const REQUESTS = 50;

async function series(e: Engine, n: number, urls: () => string, deadline: Deadline, expectLen?: number): Promise<ReturnType<typeof stats>> {
  for (let i = 0; i < 5; i++) expectStatus(await e.api("GET", urls()), `${e.name} warm-up`, 200);
  const ms: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    deadline.check();
    const t0 = now();
    const res = await e.api("GET", urls());
    ms.push(now() - t0);
    expectStatus(res, `${e.name} GET`, 200);
    if (expectLen !== undefined && i === 0) {
      const len = res.json<unknown[]>().length;
      if (len !== expectLen) throw new Error(`${e.name}: listed ${len} containers, expected ${expectLen} (n=${n})`);
    }
  }
  return stats(ms);
}

export const api: Scenario = {
  name: "api",
  budgetSeconds: (ctx) => (ctx.quick ? 300 : 1200),
  async run(ctx: Ctx, deadline: Deadline) {
    const n = ctx.quick ? 50 : ctx.flags.has("n1000") ? 1000 : 500;
    const res: Record<string, { createMs: number; list: ReturnType<typeof stats>; inspect: ReturnType<typeof stats>; listBytes: number }> = {};
    for (const e of engines(ctx)) {
      try {
        ctx.log(`api: ${e.name}, creating ${n}`);
        const t0 = now();
        const ids = await pool(Array.from({ length: n }, (_, i) => i), 8, async () => {
          deadline.check();
          return createContainer(e, ["true"]);
        });
        const createMs = now() - t0;
        ctx.log(`api: ${e.name}, ${REQUESTS} lists and ${REQUESTS} inspects`);
        const list = await series(e, n, () => "/containers/json?all=1", deadline, n);
        const listBytes = (await e.api("GET", "/containers/json?all=1")).body.length;
        const inspect = await series(e, n, () => `/containers/${ids[Math.floor(Math.random() * ids.length)]}/json`, deadline);
        res[e.name] = { createMs, list, inspect, listBytes };
      } finally {
        await removeBenchContainers(e);
      }
    }
    const v = (name: string, f: (r: (typeof res)[string]) => number): number | null => (res[name] ? f(res[name]) : null);
    const rows: Row[] = [
      { scenario: `API: GET /containers/json?all=1, ${n} ctrs`, unit: "ms", better: "lower", wharf: v("wharf", (r) => r.list.median), docker: v("docker", (r) => r.list.median) },
      { scenario: `API: GET /containers/{id}/json, ${n} ctrs`, unit: "ms", better: "lower", wharf: v("wharf", (r) => r.inspect.median), docker: v("docker", (r) => r.inspect.median) },
      { scenario: `API: create ${n} (8 in flight)`, unit: "ms", better: "lower", wharf: v("wharf", (r) => r.createMs), docker: v("docker", (r) => r.createMs) },
    ];
    return { rows, detail: { n, requests: REQUESTS, results: res } };
  },
};
