/** `volume create|ls|inspect|rm|prune`: clients of the /volumes API, with docker's flags and output. */
import { runInspect } from "./inspect";
import type { CommandDef } from "../command";
import { isNotFound, messageOf, StatusError } from "../errors";
import { pathSegment } from "../api-client";
import { filterFlag, filtersFrom, filtersQuery, formatFlag, validateFilter, writeRows } from "../list-output";
import { humanSize } from "../../lib/units";
import { kvToMap } from "../opts/values";
import { confirm } from "./image-ops";

interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string> | null;
  Options: Record<string, string> | null;
  Scope: string;
}

const volumePath = (name: string): string => `/volumes/${pathSegment(name)}`;


export const volumeCreateCommand: CommandDef = {
  usage: "[OPTIONS] [VOLUME]",
  short: "Create a volume",
  flags: [
    { name: "driver", short: "d", type: "string", description: "Specify volume driver name", defaultText: '"local"' },
    { name: "label", type: "list", repeat: true, description: "Set metadata for a volume" },
    { name: "opt", short: "o", type: "map", repeat: true, description: "Set driver specific options", defaultText: "map[]" },
    { name: "name", type: "string", description: "Specify volume name", hidden: true },
  ],
  args: { max: 1 },
  run: async (ctx, flags, args) => {
    const flagName = flags.string("name");
    if (args.length && flagName && args[0] !== flagName) {
      throw new StatusError(`conflicting options: cannot specify a volume-name through both --name and as a positional arg`, 1);
    }
    const v = await ctx.client().json<Volume>("POST", "/volumes/create", {
      body: { Name: args[0] ?? flagName, Driver: flags.string("driver", "local"), DriverOpts: kvToMap(flags.list("opt")), Labels: kvToMap(flags.list("label")) },
    });
    ctx.io.stdout.write(`${v.Name}\n`);
    return 0;
  },
};

const DEFAULT_FORMAT = "table {{.Driver}}\t{{.Name}}";
const HEADERS: Record<string, string> = { Name: "VOLUME NAME", Driver: "DRIVER", Scope: "SCOPE", Mountpoint: "MOUNTPOINT", Labels: "LABELS", Links: "LINKS", Size: "SIZE", CreatedAt: "CREATED AT" };

export const volumeLsCommand: CommandDef = {
  usage: "[OPTIONS]",
  short: "List volumes",
  flags: [
    filterFlag("Provide filter values (e.g. \"dangling=true\")"),
    formatFlag(true),
    { name: "quiet", short: "q", bool: true, description: "Only display volume names" },
  ],
  args: { max: 0 },
  run: async (ctx, flags) => {
    const res = await ctx.client().json<{ Volumes: Volume[] | null }>("GET", "/volumes", { query: { filters: filtersQuery(filtersFrom(flags.list("filter"))) } });
    const list = res?.Volumes ?? [];
    list.sort((a, b) => a.Name.localeCompare(b.Name));
    const rows = list.map((v) => ({
      Name: v.Name,
      Driver: v.Driver,
      Scope: v.Scope,
      Mountpoint: v.Mountpoint,
      Labels: Object.entries(v.Labels ?? {}).map(([k, val]) => `${k}=${val}`).join(","),
      Links: "N/A",
      Size: "N/A",
      CreatedAt: v.CreatedAt,
    }));
    let format = flags.string("format");
    if (flags.bool("quiet") && (format === "" || format.startsWith("table"))) format = "{{.Name}}";
    else if (format === "" || format === "table") format = DEFAULT_FORMAT;
    await writeRows(ctx.io, format, rows, HEADERS);
    return 0;
  },
};

export const volumeInspectCommand: CommandDef = {
  usage: "[OPTIONS] VOLUME [VOLUME...]",
  short: "Display detailed information on one or more volumes",
  flags: [{ name: "format", short: "f", type: "string", description: "Format output using a custom template" }],
  args: { min: 1 },
  run: (ctx, flags, names) => runInspect(ctx, flags, names, "volume"),
};

export const volumeRmCommand: CommandDef = {
  usage: "[OPTIONS] VOLUME [VOLUME...]",
  short: "Remove one or more volumes",
  flags: [{ name: "force", short: "f", bool: true, description: "Force the removal of one or more volumes" }],
  args: { min: 1 },
  run: async (ctx, flags, names) => {
    const errors: string[] = [];
    for (const name of names) {
      try {
        await ctx.client().call("DELETE", volumePath(name), { query: { force: flags.bool("force") || undefined } });
        ctx.io.stdout.write(`${name}\n`);
      } catch (err) {
        if (!(flags.bool("force") && isNotFound(err))) errors.push(messageOf(err));
      }
    }
    if (errors.length) throw new StatusError(errors.join("\n"), 1);
    return 0;
  },
};

export const volumePruneCommand: CommandDef = {
  usage: "[OPTIONS]",
  short: "Remove unused local volumes",
  flags: [
    { name: "all", short: "a", bool: true, description: "Remove all unused volumes, not just anonymous ones" },
    { name: "filter", type: "filter", repeat: true, description: 'Provide filter values (e.g. "label=<label>")', validate: validateFilter },
    { name: "force", short: "f", bool: true, description: "Do not prompt for confirmation" },
  ],
  args: { max: 0 },
  run: async (ctx, flags) => {
    const all = flags.bool("all");
    if (!flags.bool("force")) {
      const warning = all
        ? "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue?"
        : "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue?";
      if (!(await confirm(ctx.io.stdin, ctx.io.stdout, warning))) return 0;
    }
    const filters = filtersFrom(flags.list("filter"));
    if (all) filters.all = { true: true };
    const res = await ctx.client().json<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }>("POST", "/volumes/prune", { query: { filters: filtersQuery(filters) } });
    const deleted = res?.VolumesDeleted ?? [];
    if (deleted.length) ctx.io.stdout.write(`Deleted Volumes:\n${deleted.map((n) => `${n}\n`).join("")}\n`);
    ctx.io.stdout.write(`Total reclaimed space: ${humanSize(res?.SpaceReclaimed ?? 0, 4)}\n`);
    return 0;
  },
};
