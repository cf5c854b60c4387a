import * as fs from "node:fs";
import * as path from "node:path";
import { type Ctx, type Deadline, type Row, type Scenario, DOCKER, NETWORK_MODE, ROOT, now, run, stats } from "./harness";

/**
 * What a user namespace costs a run: `run --rm --network none busybox true` through the wharf
 * CLI with the host's ids and with `--userns=auto` (a pool range, idmapped image layers),
 * alternating so both see the same machine load; dockerd's default run as the reference.
 * Goal: auto within 1.2x of the default.
 */
async function once(args: string[]): Promise<number> {
  const t0 = now();
  const r = await run(process.execPath, [path.join(ROOT, "bin", "wharf"), ...args], { timeoutMs: 60000 });
  if (r.code !== 0) throw new Error(`wharf ${args.join(" ")}: ${r.stderr}`);
  return now() - t0;
}

export const userns: Scenario = {
  name: "userns",
  budgetSeconds: (ctx) => (ctx.quick ? 120 : 400),
  async run(ctx: Ctx, deadline: Deadline) {
    const runs = Number(process.env.BENCH_RUNS ?? (ctx.quick ? 5 : 20));
    // The mapped root walks to its root filesystem: the private daemon's base dir must be searchable (docs/userns.md).
    const base = path.dirname(ctx.wharf.socketPath);
    fs.chmodSync(base, fs.statSync(base).mode | 0o001);
    const common = ["-H", ctx.wharf.host, "run", "--rm", "--network", NETWORK_MODE];
    const plain = [...common, "busybox", "true"];
    const mapped = [...common, "--userns=auto", "busybox", "true"];
    await once(plain);
    await once(mapped);
    const plainMs: number[] = [];
    const mappedMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      deadline.check();
      plainMs.push(await once(plain));
      mappedMs.push(await once(mapped));
    }
    let dockerd: number | null = null;
    if (ctx.docker) {
      const dockerMs: number[] = [];
      const args = ctx.docker.dockerArgs(["run", "--rm", "--network", NETWORK_MODE, "busybox", "true"]);
      for (let i = 0; i < runs; i++) {
        deadline.check();
        const t0 = now();
        const r = await run(DOCKER, args, { env: ctx.docker.dockerEnv, timeoutMs: 60000 });
        if (r.code !== 0) throw new Error(`docker ${args.join(" ")}: ${r.stderr}`);
        dockerMs.push(now() - t0);
      }
      dockerd = stats(dockerMs).median;
    }
    const p = stats(plainMs);
    const m = stats(mappedMs);
    ctx.log(`userns: default ${p.median.toFixed(0)} ms, --userns=auto ${m.median.toFixed(0)} ms (${(m.median / p.median).toFixed(2)}x)`);
    const rows: Row[] = [
      { scenario: "run --rm true, host ids: wharf CLI", unit: "ms", better: "lower", wharf: p.median, docker: dockerd },
      { scenario: "run --rm true, --userns=auto: wharf CLI", unit: "ms", better: "lower", wharf: m.median, docker: dockerd },
    ];
    return { rows, detail: { runs, default: p, auto: m, autoOverDefault: m.median / p.median } };
  },
};

if (require.main === module) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require("./suite") as typeof import("./suite")).main(["--only", "userns", ...process.argv.slice(2)]);
}
