/** `system ping` (wharf only) and `system df`. */
import type { CommandDef } from "../command";
import { formatFlag, writeRows } from "../list-output";
import { humanSize } from "../../lib/units";

export const pingCommand: CommandDef = {
  usage: "",
  short: "Check that the daemon answers (GET /_ping); prints OK (wharf only, not in docker)",
  flags: [],
  args: { max: 0 },
  run: async (ctx) => {
    const { body } = await ctx.client().ping();
    ctx.io.stdout.write(`${body}\n`);
    return 0;
  },
};

interface DiskUsage {
  LayersSize?: number;
  Images?: { Size?: number; SharedSize?: number; Containers?: number }[] | null;
  Containers?: { SizeRw?: number; State?: string }[] | null;
  Volumes?: { UsageData?: { Size?: number; RefCount?: number } | null }[] | null;
  BuildCache?: { Size?: number; Shared?: boolean; InUse?: boolean }[] | null;
}

function withPercent(reclaimable: number, total: number): string {
  return total > 0 ? `${humanSize(reclaimable, 4)} (${Math.trunc((reclaimable * 100) / total)}%)` : humanSize(reclaimable, 4);
}

/** The four summary rows of `system df`, as docker's disk-usage formatter computes them. */
export function diskUsageRows(du: DiskUsage): Record<string, string>[] {
  const images = du.Images ?? [];
  const layers = du.LayersSize ?? 0;
  let usedImages = 0;
  for (const i of images) {
    if ((i.Containers ?? 0) !== 0 && (i.Size ?? -1) !== -1 && (i.SharedSize ?? -1) !== -1) {
      usedImages += (i.Size ?? 0) - (i.SharedSize ?? 0);
    }
  }
  const containers = du.Containers ?? [];
  const active = (state: string | undefined): boolean => ["running", "paused", "restarting"].includes((state ?? "").toLowerCase());
  const ctrSize = containers.reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const ctrReclaim = containers.filter((c) => !active(c.State)).reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const volumes = (du.Volumes ?? []).map((v) => v.UsageData ?? {});
  const sized = volumes.filter((v) => (v.Size ?? -1) !== -1);
  const volSize = sized.reduce((n, v) => n + (v.Size ?? 0), 0);
  const volReclaim = sized.filter((v) => (v.RefCount ?? 0) === 0).reduce((n, v) => n + (v.Size ?? 0), 0);
  const cache = du.BuildCache ?? [];
  const cacheSize = cache.filter((c) => !c.Shared).reduce((n, c) => n + (c.Size ?? 0), 0);
  const cacheInUse = cache.filter((c) => c.InUse && !c.Shared).reduce((n, c) => n + (c.Size ?? 0), 0);
  return [
    {
      Type: "Images",
      TotalCount: String(images.length),
      Active: String(images.filter((i) => (i.Containers ?? 0) > 0).length),
      Size: humanSize(layers, 4),
      Reclaimable: withPercent(layers - usedImages, layers),
    },
    {
      Type: "Containers",
      TotalCount: String(containers.length),
      Active: String(containers.filter((c) => active(c.State)).length),
      Size: humanSize(ctrSize, 4),
      Reclaimable: withPercent(ctrReclaim, ctrSize),
    },
    {
      Type: "Local Volumes",
      TotalCount: String(volumes.length),
      Active: String(volumes.filter((v) => (v.RefCount ?? 0) > 0).length),
      Size: humanSize(volSize, 4),
      Reclaimable: withPercent(volReclaim, volSize),
    },
    {
      Type: "Build Cache",
      TotalCount: String(cache.length),
      Active: String(cache.filter((c) => c.InUse).length),
      Size: humanSize(cacheSize, 4),
      Reclaimable: humanSize(cacheSize - cacheInUse, 4),
    },
  ];
}

export const dfCommand: CommandDef = {
  usage: "[OPTIONS]",
  short: "Show wharf disk usage",
  flags: [formatFlag(true), { name: "verbose", short: "v", bool: true, description: "Show detailed information on space usage" }],
  args: { max: 0 },
  run: async (ctx, flags) => {
    const du = await ctx.client().json<DiskUsage>("GET", "/system/df");
    const format = flags.string("format");
    if (flags.bool("verbose") && (format === "" || format === "table")) {
      const { verboseDiskUsage } = await import("../display/disk-usage");
      ctx.io.stdout.write(verboseDiskUsage((du ?? {}) as Parameters<typeof verboseDiskUsage>[0]));
      return 0;
    }
    await writeRows(
      ctx.io,
      format === "" || format === "table" ? "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}" : format,
      diskUsageRows(du ?? {}),
      { Type: "TYPE", TotalCount: "TOTAL", Active: "ACTIVE", Size: "SIZE", Reclaimable: "RECLAIMABLE" },
    );
    return 0;
  },
};
