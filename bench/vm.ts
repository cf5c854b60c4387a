import * as path from "node:path";
import { type Ctx, type Deadline, type Row, type Scenario, NETWORK_MODE, ROOT, listProcs, now, procMem, run, stats } from "./harness";

/**
 * `--runtime vm` beside runc on the same wharfd: cold `run --rm busybox true` (each run boots a
 * guest kernel; under TCG here) and the memory one running container costs outside its own
 * processes: conmon for runc; conmon + the shim + qemu + virtiofsd for vm.
 */

const KiB_PER_MiB = 1024;

async function medianRun(ctx: Ctx, deadline: Deadline, runs: number, runtime: string): Promise<ReturnType<typeof stats>> {
  const args = [path.join(ROOT, "bin", "wharf"), "-H", ctx.wharf.host, "run", "--rm", "--network", NETWORK_MODE, "--runtime", runtime, "busybox", "true"];
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    deadline.check();
    const t0 = now();
    const r = await run(process.execPath, args, { timeoutMs: 120_000 });
    ms.push(now() - t0);
    if (r.code !== 0) throw new Error(`vm bench: run --runtime ${runtime} failed: ${r.stderr}`);
  }
  return stats(ms);
}

/** RSS and PSS (KiB) of the processes outside the container that serve container `id`. */
function helperMemory(id: string, runtime: string): { rssKiB: number; pssKiB: number; processes: string[] } {
  const mine = listProcs().filter((p) => p.cmdline.includes(id) && (p.comm === "conmon" || (runtime === "vm" && /qemu-system|virtiofsd|wharf-vm-shim|node|unshare/.test(p.comm + p.cmdline))));
  let rssKiB = 0;
  let pssKiB = 0;
  const processes: string[] = [];
  for (const p of mine) {
    const m = procMem(p.pid);
    if (!m) continue;
    rssKiB += m.rssKiB;
    pssKiB += m.pssKiB;
    processes.push(`${m.comm} ${Math.round(m.rssKiB / KiB_PER_MiB)} MiB`);
  }
  return { rssKiB, pssKiB, processes };
}

async function runningMemory(ctx: Ctx, deadline: Deadline, runtime: string): Promise<ReturnType<typeof helperMemory>> {
  const wharf = (args: string[]) => run(process.execPath, [path.join(ROOT, "bin", "wharf"), "-H", ctx.wharf.host, ...args], { timeoutMs: 120_000 });
  const name = `wharf-bench-vm-${runtime}-${process.pid}`;
  try {
    const started = await wharf(["run", "-d", "--name", name, "--network", NETWORK_MODE, "--runtime", runtime, "busybox", "sh", "-c", "echo up; exec sleep 600"]);
    if (started.code !== 0) throw new Error(`vm bench: ${started.stderr}`);
    const id = started.stdout.trim();
    // Measured once the process runs (the guest has booted), not while qemu is still starting.
    for (let i = 0; i < 600; i++) {
      deadline.check();
      if ((await wharf(["logs", name])).stdout.includes("up")) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return helperMemory(id, runtime);
  } finally {
    await wharf(["rm", "-f", name]).catch(() => undefined);
  }
}

export const vm: Scenario = {
  name: "vm",
  budgetSeconds: (ctx) => (ctx.quick ? 180 : 600),
  async run(ctx: Ctx, deadline: Deadline) {
    const runs = Number(process.env.BENCH_RUNS ?? (ctx.quick ? 3 : 10));
    ctx.log(`vm: ${runs} cold runs with each runtime`);
    const info = await ctx.wharf.api("GET", "/info");
    const status = (JSON.parse(info.body) as { Runtimes?: Record<string, { status?: Record<string, string> }> }).Runtimes?.vm?.status ?? {};
    const accel = status.accelerator ?? "unknown";
    const vmRun = await medianRun(ctx, deadline, runs, "vm");
    const runcRun = await medianRun(ctx, deadline, runs, "runc");
    const vmMem = await runningMemory(ctx, deadline, "vm");
    const runcMem = await runningMemory(ctx, deadline, "runc");
    const rows: Row[] = [
      { scenario: `vm (${accel}): run --rm true`, unit: "ms", better: "lower", wharf: vmRun.median, docker: null, note: `runc: ${Math.round(runcRun.median)} ms` },
      { scenario: `vm (${accel}): RSS outside ctr`, unit: "MiB", better: "lower", wharf: vmMem.rssKiB / KiB_PER_MiB, docker: null, note: `runc (conmon): ${(runcMem.rssKiB / KiB_PER_MiB).toFixed(1)} MiB` },
      { scenario: "vm bench, runc beside it: run --rm true", unit: "ms", better: "lower", wharf: runcRun.median, docker: null },
      { scenario: "vm bench, runc beside it: RSS outside ctr", unit: "MiB", better: "lower", wharf: runcMem.rssKiB / KiB_PER_MiB, docker: null },
    ];
    return { rows, detail: { runs, accelerator: accel, reason: status["accelerator reason"], vmRun, runcRun, vmMemory: vmMem, runcMemory: runcMem } };
  },
};

if (require.main === module) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require("./suite") as typeof import("./suite")).main(["--only", "vm", ...process.argv.slice(2)]);
}
