import { type Ctx, type Engine, type Row, type Scenario, Deadline, dockerdInstalled, machineLine, printTable, ratio, startDockerd, startWharf, writeResults } from "./harness";
import { api } from "./api";
import { writeChart } from "./chart";
import { density } from "./density";
import { execLatency, latency } from "./latency";
import { logs } from "./logs";
import { pull } from "./pull";
import { build } from "./build";
import { throughput } from "./throughput";
import { userns } from "./userns";
import { vm } from "./vm";
import { vmDistro } from "./vm-distro";

/**
 * The benchmark suite: starts a private wharfd and a private dockerd 20.10, runs each scenario
 * against both within its time budget, stops both, prints one table and writes JSON.
 *
 *   node dist/bench/suite.js [--quick] [--only latency,exec,throughput,density,api,logs,pull,build,userns,vm,vm-distro] [--n1000]
 */

const ALL: Scenario[] = [latency, execLatency, throughput, density, api, logs, pull, build, userns, vm, vmDistro];

export async function main(argv: string[]): Promise<void> {
  const flags = new Set<string>();
  let only: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--quick") flags.add("quick");
    else if (a === "--n1000") flags.add("n1000");
    else if (a === "--only") only = (argv[++i] ?? "").split(",");
    else if (a.startsWith("--only=")) only = a.slice(7).split(",");
    else if (/^\d+$/.test(a)) process.env.BENCH_RUNS = a; // bench/run.sh RUNS, as before
    else throw new Error(`unknown argument ${a} (use --quick, --only a,b, --n1000, or a number of latency runs)`);
  }
  const scenarios = only ? ALL.filter((s) => only!.includes(s.name)) : ALL;
  if (only && scenarios.length !== only.length) throw new Error(`unknown scenario in ${only.join(",")}; known: ${ALL.map((s) => s.name).join(",")}`);
  const quick = flags.has("quick");
  const t0 = Date.now();
  const log = (m: string): void => console.error(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${m}`);

  let wharf: Engine | undefined;
  let docker: Engine | undefined;
  let stopping = false;
  const stopAll = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await docker?.stop().catch((e: unknown) => log(`stopping dockerd: ${String(e)}`));
    await wharf?.stop().catch((e: unknown) => log(`stopping wharfd: ${String(e)}`));
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      log(`${sig}: cleaning up`);
      void stopAll().then(() => process.exit(130));
    });
  }

  const rows: Row[] = [];
  const details: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  const machine = machineLine();
  try {
    log("starting a private wharfd");
    wharf = await startWharf();
    if (dockerdInstalled()) {
      log("starting a private dockerd (own socket, data root, exec root, containerd namespace; --bridge none --iptables=false)");
      docker = await startDockerd(wharf);
    } else {
      log("dockerd is not installed (bash bench/install-docker.sh): wharf only, no ratios");
    }
    const ctx: Ctx = { wharf, docker, quick, flags, log };
    for (const s of scenarios) {
      const deadline = new Deadline(s.name, s.budgetSeconds(ctx) * 1000);
      const started = Date.now();
      try {
        const out = await s.run(ctx, deadline);
        rows.push(...out.rows);
        details[s.name] = { seconds: (Date.now() - started) / 1000, ...(out.detail as object) };
        if (out.errors?.length) {
          errors[s.name] = out.errors.join("; ");
          rows.push({ scenario: `${s.name}: PARTLY FAILED (see JSON)`, unit: "", wharf: null, docker: null, better: "lower" });
        }
      } catch (err) {
        errors[s.name] = err instanceof Error ? err.message : String(err);
        log(`${s.name} FAILED: ${errors[s.name]}`);
        rows.push({ scenario: `${s.name}: FAILED (see JSON)`, unit: "", wharf: null, docker: null, better: "lower" });
      }
    }
  } finally {
    log("stopping the engines");
    await stopAll();
  }

  const header = [
    `wharf vs Docker — ${quick ? "quick (small N)" : "full"} — ${new Date().toISOString()}`,
    `machine: ${machine}`,
    "both engines: --network none (like for like: the benchmark compares the engines, not their bridges), busybox from wharf saved and loaded into dockerd",
    "",
  ].join("\n");
  console.log("");
  printTable(rows, header);
  const out = writeResults(quick ? "suite-quick" : "suite", {
    machine,
    quick,
    flags: [...flags],
    network: "none",
    rows: rows.map((r) => ({ ...r, ratio: ratio(r) })),
    errors,
    details,
  });
  console.log(`\nresults: ${out}`);
  const chart = writeChart(rows, `wharf vs Docker 20.10 (${quick ? "quick" : "full"}), --network none — ${machine.split(", ").slice(0, 3).join(", ")}`, out.replace(/\.json$/, ""));
  if (chart.length) console.log(`chart: ${chart.join(", ")}${chart.some((f) => f.endsWith(".png")) ? "" : " (PNG: apt-get install librsvg2-bin)"}`);
  if (Object.keys(errors).length) process.exitCode = 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
