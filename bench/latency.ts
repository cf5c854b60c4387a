import * as path from "node:path";
import { type Ctx, type Deadline, type Engine, type Row, type Scenario, DOCKER, NETWORK_MODE, ROOT, now, run, stats } from "./harness";

/**
 * `run --rm --network none busybox true`, end to end, RUNS times each (after one warm-up):
 * wharf CLI -> wharfd, docker CLI -> wharfd, docker CLI -> dockerd.
 */

async function timeRuns(deadline: Deadline, runs: number, cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<ReturnType<typeof stats> & { raw: number[] }> {
  const warm = await run(cmd, args, { env, timeoutMs: 60000 });
  if (warm.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${warm.stderr}`);
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    deadline.check();
    const t0 = now();
    const r = await run(cmd, args, { env, timeoutMs: 60000 });
    ms.push(now() - t0);
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: run ${i} failed: ${r.stderr}`);
  }
  return { ...stats(ms), raw: ms };
}

const RUN_ARGS = ["run", "--rm", "--network", NETWORK_MODE, "busybox", "true"];

function dockerCli(deadline: Deadline, runs: number, e: Engine): ReturnType<typeof timeRuns> {
  return timeRuns(deadline, runs, DOCKER, e.dockerArgs(RUN_ARGS), e.dockerEnv);
}

/** `exec CTR true` through the docker CLI against each engine, on an idle container of each. */
export const execLatency: Scenario = {
  name: "exec",
  budgetSeconds: (ctx) => (ctx.quick ? 120 : 300),
  async run(ctx: Ctx, deadline: Deadline) {
    const runs = Number(process.env.BENCH_RUNS ?? (ctx.quick ? 5 : 20));
    const name = `wharf-bench-exec-${process.pid}`;
    const engines = [ctx.wharf, ...(ctx.docker ? [ctx.docker] : [])];
    const medians: Array<number | null> = [];
    try {
      for (const e of engines) {
        const started = await run(DOCKER, e.dockerArgs(["run", "-d", "--name", name, "--network", NETWORK_MODE, "busybox", "sleep", "600"]), { env: e.dockerEnv, timeoutMs: 60000 });
        if (started.code !== 0) throw new Error(`exec bench: ${started.stderr}`);
        medians.push((await timeRuns(deadline, runs, DOCKER, e.dockerArgs(["exec", name, "true"]), e.dockerEnv)).median);
      }
    } finally {
      for (const e of engines) await run(DOCKER, e.dockerArgs(["rm", "-f", name]), { env: e.dockerEnv, timeoutMs: 60000 }).catch(() => undefined);
    }
    const rows: Row[] = [{ scenario: "exec CTR true: docker CLI", unit: "ms", better: "lower", wharf: medians[0] ?? 0, docker: medians[1] ?? null }];
    return { rows, detail: { runs } };
  },
};

export const latency: Scenario = {
  name: "latency",
  budgetSeconds: (ctx) => (ctx.quick ? 180 : 600),
  async run(ctx: Ctx, deadline: Deadline) {
    const runs = Number(process.env.BENCH_RUNS ?? (ctx.quick ? 5 : 20));
    ctx.log(`latency: ${runs} runs each`);
    // bin/wharf run as users run it (a program on PATH), not as `node bin/wharf`: see bin/wharf's first line.
    const wharfCli = await timeRuns(deadline, runs, path.join(ROOT, "bin", "wharf"), ["-H", ctx.wharf.host, ...RUN_ARGS]);
    const dockerToWharf = await dockerCli(deadline, runs, ctx.wharf);
    const dockerToDockerd = ctx.docker ? await dockerCli(deadline, runs, ctx.docker) : undefined;
    const d = dockerToDockerd?.median ?? null;
    const rows: Row[] = [
      { scenario: "run --rm true: docker CLI", unit: "ms", better: "lower", wharf: dockerToWharf.median, docker: d },
      { scenario: "run --rm true: wharf CLI (vs docker CLI)", unit: "ms", better: "lower", wharf: wharfCli.median, docker: d },
    ];
    return { rows, detail: { runs, "wharf CLI -> wharfd": wharfCli, "docker CLI -> wharfd": dockerToWharf, "docker CLI -> dockerd": dockerToDockerd ?? null } };
  },
};

if (require.main === module) {
  // Standalone: the suite with the latency scenario only (bench/run.sh runs everything).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require("./suite") as typeof import("./suite")).main(["--only", "latency", ...process.argv.slice(2)]);
}
