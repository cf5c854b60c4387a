/**
 * `system df -v`: docker's four verbose tables (images with shared/unique sizes, containers
 * with their writable layers, local volumes, build cache), each under its own heading.
 */
import { humanDuration, humanSize } from "../../lib/units";
import { familiarName, parseNormalizedNamed } from "../../lib/reference";
import { formatRows } from "../format/table";
import { CONTAINER_HEADERS, type ContainerSummary, ContainerRow } from "./containers";
import { IMAGE_HEADERS, type ImageSummary, ImageRow } from "./images";

export interface VerboseDiskUsage {
  Images?: ImageSummary[] | null;
  Containers?: ContainerSummary[] | null;
  Volumes?: Array<{ Name: string; UsageData?: { Size?: number; RefCount?: number } | null }> | null;
  BuildCache?: Array<{ ID?: string; Type?: string; Size?: number; Shared?: boolean; CreatedAt?: string; LastUsedAt?: string | null; UsageCount?: number }> | null;
}

/** One build cache record as docker's df formatter prints it (times relative to now). */
function cacheRow(c: NonNullable<VerboseDiskUsage["BuildCache"]>[number], nowMs: number): Record<string, string> {
  const since = (iso: string | null | undefined): string => {
    const t = iso ? Date.parse(iso) : NaN;
    return Number.isNaN(t) ? "" : `${humanDuration(nowMs - t)} ago`;
  };
  return {
    ID: (c.ID ?? "").slice(0, 12),
    CacheType: c.Type ?? "",
    Size: humanSize(c.Size ?? 0, 4),
    CreatedSince: since(c.CreatedAt),
    LastUsedSince: since(c.LastUsedAt),
    UsageCount: String(c.UsageCount ?? 0),
    Shared: String(c.Shared === true),
  };
}

const IMAGE_FORMAT = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}";
const CONTAINER_FORMAT = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}";
const VOLUME_FORMAT = "table {{.Name}}\t{{.Links}}\t{{.Size}}";
const CACHE_FORMAT = "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}";

/** Only the first tag of an image is shown, as docker's disk-usage formatter does. */
function imageRow(i: ImageSummary, nowMs: number): ImageRow | null {
  let repo = "<none>";
  let tag = "<none>";
  const first = (i.RepoTags ?? [])[0];
  if (first && first !== "<none>:<none>") {
    try {
      const ref = parseNormalizedNamed(first);
      if (ref.tag) {
        repo = familiarName(ref);
        tag = ref.tag;
      }
    } catch {
      return null; // docker skips a reference it cannot parse
    }
  }
  return new ImageRow(i, repo, tag, "", true, nowMs);
}

export function verboseDiskUsage(du: VerboseDiskUsage, nowMs = Date.now()): string {
  const images = (du.Images ?? []).map((i) => imageRow(i, nowMs)).filter((r): r is ImageRow => r !== null);
  const containers = (du.Containers ?? []).map((c) => new ContainerRow(c, true, nowMs));
  const volumes = (du.Volumes ?? []).map((v) => {
    const size = v.UsageData?.Size ?? -1;
    return { Name: v.Name, Links: String(v.UsageData?.RefCount ?? -1), Size: size === -1 ? "N/A" : humanSize(size, 4) };
  });
  const cacheSize = (du.BuildCache ?? []).filter((c) => !c.Shared).reduce((n, c) => n + (c.Size ?? 0), 0);
  let out = "Images space usage:\n\n";
  out += formatRows(IMAGE_FORMAT, images, IMAGE_HEADERS);
  out += "\nContainers space usage:\n\n";
  out += formatRows(CONTAINER_FORMAT, containers, CONTAINER_HEADERS);
  out += "\nLocal Volumes space usage:\n\n";
  out += formatRows(VOLUME_FORMAT, volumes, { Name: "VOLUME NAME", Links: "LINKS", Size: "SIZE" });
  out += `\nBuild cache usage: ${humanSize(cacheSize, 4)}\n\n`;
  out += formatRows(CACHE_FORMAT, (du.BuildCache ?? []).map((c) => cacheRow(c, nowMs)), {
    ID: "CACHE ID",
    CacheType: "CACHE TYPE",
    Size: "SIZE",
    CreatedSince: "CREATED",
    LastUsedSince: "LAST USED",
    UsageCount: "USAGE",
    Shared: "SHARED",
  });
  return out;
}
