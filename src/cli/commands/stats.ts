/** `stats`: GET /containers/{id}/stats for each container, in docker's columns and arithmetic. */
import type { CommandDef, CliIO } from "../command";
import { StatusError, messageOf } from "../errors";
import { jsonValues } from "../api-client";
import { formatFlag } from "../list-output";
import { formatRows } from "../format/table";
import { bytesSize, humanSize } from "../../lib/units";
import { containerPath } from "./lifecycle";

const DEFAULT_FORMAT = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
const HEADERS = {
  ID: "CONTAINER ID", Container: "CONTAINER", Name: "NAME", CPUPerc: "CPU %", MemUsage: "MEM USAGE / LIMIT",
  MemPerc: "MEM %", NetIO: "NET I/O", BlockIO: "BLOCK I/O", PIDs: "PIDS",
};

interface StatsJson {
  id: string;
  name: string;
  read: string;
  cpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  pids_stats?: { current?: number };
  blkio_stats?: { io_service_bytes_recursive?: Array<{ op: string; value: number }> | null };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
}

/** One row of docker's stats table; a stopped container shows "--" where docker does. */
export class StatsRow {
  constructor(
    readonly Container: string,
    private readonly s: StatsJson | undefined,
    private readonly noTrunc: boolean,
  ) {}
  get ID(): string {
    const id = this.s?.id ?? this.Container;
    return this.noTrunc ? id : id.slice(0, 12);
  }
  get Name(): string {
    return (this.s?.name ?? "--").replace(/^\//, "");
  }
  private get running(): boolean {
    return !!this.s && this.s.read !== "0001-01-01T00:00:00Z";
  }
  get CPUPerc(): string {
    if (!this.running || !this.s) return "--";
    const cpu = (this.s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (this.s.precpu_stats?.cpu_usage?.total_usage ?? 0);
    const system = (this.s.cpu_stats?.system_cpu_usage ?? 0) - (this.s.precpu_stats?.system_cpu_usage ?? 0);
    const cpus = this.s.cpu_stats?.online_cpus ?? 1;
    const percent = system > 0 && cpu > 0 ? (cpu / system) * cpus * 100 : 0;
    return `${percent.toFixed(2)}%`;
  }
  /** docker's rule: usage minus inactive file cache (v1 total_inactive_file, v2 inactive_file). */
  private get memory(): number {
    const m = this.s?.memory_stats;
    const usage = m?.usage ?? 0;
    const inactive = m?.stats?.total_inactive_file ?? m?.stats?.inactive_file;
    return inactive !== undefined && inactive < usage ? usage - inactive : usage;
  }
  get MemUsage(): string {
    if (!this.running) return "-- / --";
    return `${bytesSize(this.memory)} / ${bytesSize(this.s?.memory_stats?.limit ?? 0)}`;
  }
  get MemPerc(): string {
    if (!this.running) return "--";
    const limit = this.s?.memory_stats?.limit ?? 0;
    return `${(limit ? (this.memory / limit) * 100 : 0).toFixed(2)}%`;
  }
  get NetIO(): string {
    if (!this.running) return "--";
    let rx = 0;
    let tx = 0;
    for (const n of Object.values(this.s?.networks ?? {})) {
      rx += n.rx_bytes;
      tx += n.tx_bytes;
    }
    return `${humanSize(rx)} / ${humanSize(tx)}`;
  }
  get BlockIO(): string {
    if (!this.running) return "--";
    let read = 0;
    let write = 0;
    for (const row of this.s?.blkio_stats?.io_service_bytes_recursive ?? []) {
      if (row.op.toLowerCase() === "read") read += row.value;
      if (row.op.toLowerCase() === "write") write += row.value;
    }
    return `${humanSize(read)} / ${humanSize(write)}`;
  }
  get PIDs(): string {
    return this.running ? String(this.s?.pids_stats?.current ?? 0) : "--";
  }
}

function render(io: CliIO, format: string, rows: StatsRow[], clear: boolean): void {
  let text: string;
  try {
    text = formatRows(format, rows, HEADERS);
  } catch (err) {
    throw new StatusError(`template parsing error: ${messageOf(err)}`, 1);
  }
  io.stdout.write((clear ? "\u001b[2J\u001b[H" : "") + text);
}

export const statsCommand: CommandDef = {
  usage: "[OPTIONS] [CONTAINER...]",
  short: "Display a live stream of container(s) resource usage statistics",
  aliases: ["container stats", "stats"],
  flags: [
    { name: "all", short: "a", bool: true, description: "Show all containers (default shows just running)" },
    formatFlag(true),
    { name: "no-stream", bool: true, description: "Disable streaming stats and only pull the first result" },
    { name: "no-trunc", bool: true, description: "Do not truncate output" },
  ],
  args: {},
  run: async (ctx, flags, names) => {
    const client = ctx.client();
    const format = flags.string("format") || DEFAULT_FORMAT;
    const noTrunc = flags.bool("no-trunc");
    let targets = names;
    if (targets.length === 0) {
      const list = await client.json<Array<{ Id: string }>>("GET", "/containers/json", { query: { all: flags.bool("all") || undefined } });
      targets = list.map((c) => c.Id);
    }
    const latest = new Map<string, StatsJson | undefined>(targets.map((t) => [t, undefined]));
    const rows = (): StatsRow[] => targets.map((t) => new StatsRow(t, latest.get(t), noTrunc));
    if (flags.bool("no-stream")) {
      const errors: string[] = [];
      await Promise.all(
        targets.map(async (target) => {
          try {
            latest.set(target, await client.json<StatsJson>("GET", containerPath(target, "/stats"), { query: { stream: false } }));
          } catch (err) {
            errors.push(messageOf(err));
          }
        }),
      );
      if (errors.length) throw new StatusError(errors.join("\n"), 1);
      render(ctx.io, format, rows(), false);
      return 0;
    }
    const streams = targets.map(async (target) => {
      const res = await client.request("GET", containerPath(target, "/stats"), { query: { stream: true } });
      for await (const value of jsonValues(res)) latest.set(target, value as StatsJson);
    });
    const clear = process.stdout.isTTY === true;
    const timer = setInterval(() => render(ctx.io, format, rows(), clear), 1000);
    try {
      await Promise.all(streams);
    } finally {
      clearInterval(timer);
    }
    render(ctx.io, format, rows(), clear);
    return 0;
  },
};
