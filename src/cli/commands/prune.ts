/** `container prune` and `system prune`: clients of the /…/prune endpoints, with docker's prompts and output. */
import type { CommandContext, CommandDef } from "../command";
import { StatusError } from "../errors";
import { type Filters, filtersFrom, filtersQuery, validateFilter } from "../list-output";
import { humanSize } from "../../lib/units";
import { confirm } from "./image-ops";

const filterFlag = { name: "filter", type: "filter" as const, repeat: true, description: 'Provide filter values (e.g. "until=<timestamp>")', validate: validateFilter };
const forceFlag = { name: "force", short: "f", bool: true, description: "Do not prompt for confirmation" };

/** One pruner's result: docker prints its section, then a blank line, and adds up the space. */
interface Pruned {
  output: string;
  reclaimed: number;
}

function copyFilters(filters: Filters): Filters {
  return Object.fromEntries(Object.entries(filters).map(([k, v]) => [k, { ...v }]));
}

async function pruneContainers(ctx: CommandContext, filters: Filters): Promise<Pruned> {
  const res = await ctx.client().json<{ ContainersDeleted?: string[] | null; SpaceReclaimed?: number }>("POST", "/containers/prune", { query: { filters: filtersQuery(filters) } });
  const deleted = res?.ContainersDeleted ?? [];
  if (deleted.length === 0) return { output: "", reclaimed: 0 };
  return { output: `Deleted Containers:\n${deleted.map((id) => `${id}\n`).join("")}`, reclaimed: res?.SpaceReclaimed ?? 0 };
}

async function pruneNetworks(ctx: CommandContext, filters: Filters): Promise<Pruned> {
  const res = await ctx.client().json<{ NetworksDeleted?: string[] | null }>("POST", "/networks/prune", { query: { filters: filtersQuery(filters) } });
  const deleted = res?.NetworksDeleted ?? [];
  return { output: deleted.length ? `Deleted Networks:\n${deleted.map((n) => `${n}\n`).join("")}` : "", reclaimed: 0 };
}

async function pruneVolumes(ctx: CommandContext, filters: Filters): Promise<Pruned> {
  const res = await ctx.client().json<{ VolumesDeleted?: string[] | null; SpaceReclaimed?: number }>("POST", "/volumes/prune", { query: { filters: filtersQuery(filters) } });
  const deleted = res?.VolumesDeleted ?? [];
  if (deleted.length === 0) return { output: "", reclaimed: 0 };
  return { output: `Deleted Volumes:\n${deleted.map((n) => `${n}\n`).join("")}`, reclaimed: res?.SpaceReclaimed ?? 0 };
}

async function pruneImages(ctx: CommandContext, filters: Filters, all: boolean): Promise<Pruned> {
  const f = copyFilters(filters);
  f.dangling = { [String(!all)]: true };
  const res = await ctx.client().json<{ ImagesDeleted?: Array<{ Untagged?: string; Deleted?: string }> | null; SpaceReclaimed?: number }>("POST", "/images/prune", {
    query: { filters: filtersQuery(f) },
  });
  const deleted = res?.ImagesDeleted ?? [];
  if (deleted.length === 0) return { output: "", reclaimed: 0 };
  const lines = deleted.map((item) => (item.Untagged ? `untagged: ${item.Untagged}\n` : `deleted: ${item.Deleted ?? ""}\n`));
  return { output: `Deleted Images:\n${lines.join("")}`, reclaimed: res?.SpaceReclaimed ?? 0 };
}

function report(ctx: CommandContext, results: Pruned[]): void {
  let total = 0;
  for (const r of results) {
    if (r.output) ctx.io.stdout.write(`${r.output}\n`);
    total += r.reclaimed;
  }
  ctx.io.stdout.write(`Total reclaimed space: ${humanSize(total, 4)}\n`);
}

export const containerPruneCommand: CommandDef = {
  usage: "[OPTIONS]",
  short: "Remove all stopped containers",
  flags: [filterFlag, forceFlag],
  args: { max: 0 },
  run: async (ctx, flags) => {
    if (!flags.bool("force")) {
      const ok = await confirm(ctx.io.stdin, ctx.io.stdout, "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?");
      if (!ok) return 0;
    }
    report(ctx, [await pruneContainers(ctx, filtersFrom(flags.list("filter")))]);
    return 0;
  },
};

/** docker's confirmation text for system prune, filters listed as it lists them. */
export function systemPruneWarning(opts: { all: boolean; volumes: boolean; filters: string[] }): string {
  const warnings = ["all stopped containers", "all networks not used by at least one container"];
  if (opts.volumes) warnings.push("all anonymous volumes not used by at least one container");
  warnings.push(opts.all ? "all images without at least one container associated to them" : "all dangling images");
  warnings.push(opts.all ? "all build cache" : "unused build cache");
  let text = `WARNING! This will remove:\n${warnings.map((w) => `  - ${w}\n`).join("")}`;
  const shown = opts.filters.filter((f) => /^(label|label!|until)=/.test(f)).sort();
  if (shown.length) text += `\n  Items to be pruned will be filtered with:\n${shown.map((f) => `  - ${f}\n`).join("")}`;
  return `${text}\nAre you sure you want to continue?`;
}

export const systemPruneCommand: CommandDef = {
  usage: "[OPTIONS]",
  short: "Remove unused data",
  flags: [
    { name: "all", short: "a", bool: true, description: "Remove all unused images not just dangling ones" },
    { ...filterFlag, description: 'Provide filter values (e.g. "label=<key>=<value>")' },
    forceFlag,
    { name: "volumes", bool: true, description: "Prune anonymous volumes" },
  ],
  args: { max: 0 },
  run: async (ctx, flags) => {
    const all = flags.bool("all");
    const volumes = flags.bool("volumes");
    const filterValues = flags.list("filter");
    const filters = filtersFrom(filterValues);
    if (volumes && filters.until) throw new StatusError('ERROR: The "until" filter is not supported with "--volumes"', 1);
    if (!flags.bool("force")) {
      if (!(await confirm(ctx.io.stdin, ctx.io.stdout, systemPruneWarning({ all, volumes, filters: filterValues })))) return 0;
    }
    // docker's order: containers, networks, volumes, images (wharf keeps no build cache yet).
    const results = [await pruneContainers(ctx, filters), await pruneNetworks(ctx, filters)];
    if (volumes) results.push(await pruneVolumes(ctx, filters));
    results.push(await pruneImages(ctx, filters, all));
    report(ctx, results);
    return 0;
  },
};
