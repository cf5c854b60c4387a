/**
 * Rows of `images` and `history`: docker/cli's image and history formatter fields as
 * getters, and the expansion of one image into one row per repository/tag.
 */
import { humanDuration, humanSize } from "../../lib/units";
import { familiarName, parseNormalizedNamed } from "../../lib/reference";
import { ellipsis, goTimeString, rfc3339, truncateId } from "./text";

/** The fields of GET /images/json items that `images` shows. */
export interface ImageSummary {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Created?: number;
  Size?: number;
  SharedSize?: number;
  Containers?: number;
  Labels?: Record<string, string> | null;
}

export const DEFAULT_IMAGES_FORMAT =
  "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}";
export const DEFAULT_IMAGES_FORMAT_WITH_DIGEST =
  "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}";

export const IMAGE_HEADERS: Record<string, string> = {
  ID: "IMAGE ID",
  Repository: "REPOSITORY",
  Tag: "TAG",
  Digest: "DIGEST",
  CreatedSince: "CREATED",
  CreatedAt: "CREATED AT",
  Size: "SIZE",
  Containers: "CONTAINERS",
  SharedSize: "SHARED SIZE",
  UniqueSize: "UNIQUE SIZE",
};

/** docker's NewImageFormat. */
export function imagesFormat(format: string, quiet: boolean, digests: boolean): string {
  if (format === "" || format === "table") {
    if (quiet) return "{{.ID}}";
    return digests ? DEFAULT_IMAGES_FORMAT_WITH_DIGEST : DEFAULT_IMAGES_FORMAT;
  }
  if (format.startsWith("table") && digests && !format.includes("{{.Digest}}")) return `${format}\t{{.Digest}}`;
  return format;
}

export class ImageRow {
  constructor(
    private readonly i: ImageSummary,
    readonly Repository: string,
    readonly Tag: string,
    readonly Digest: string,
    private readonly trunc: boolean,
    private readonly nowMs: number,
  ) {}

  get ID(): string {
    return this.trunc ? truncateId(this.i.Id) : this.i.Id;
  }

  get CreatedSince(): string {
    return `${humanDuration(this.nowMs - (this.i.Created ?? 0) * 1000)} ago`;
  }

  get CreatedAt(): string {
    return goTimeString(this.i.Created ?? 0);
  }

  get Size(): string {
    return humanSize(this.i.Size ?? 0, 3);
  }

  /** Deprecated in docker, still printed by `--format json`. */
  get VirtualSize(): string {
    return humanSize(this.i.Size ?? 0, 4);
  }

  get Containers(): string {
    const n = this.i.Containers ?? -1;
    return n === -1 ? "N/A" : String(n);
  }

  get SharedSize(): string {
    const n = this.i.SharedSize ?? -1;
    return n === -1 ? "N/A" : humanSize(n, 4);
  }

  get UniqueSize(): string {
    const size = this.i.Size ?? -1;
    const shared = this.i.SharedSize ?? -1;
    return size === -1 || shared === -1 ? "N/A" : humanSize(size - shared, 4);
  }

}

function isDangling(img: ImageSummary): boolean {
  const tags = img.RepoTags ?? [];
  const digests = img.RepoDigests ?? [];
  if (tags.length === 0 && digests.length === 0) return true;
  return tags.length === 1 && tags[0] === "<none>:<none>" && digests.length === 1 && digests[0] === "<none>@<none>";
}

export interface ImageRowOptions {
  trunc: boolean;
  /** --digests, or the format uses {{.Digest}}. */
  showDigests: boolean;
  nowMs: number;
}

/** One row per repository:tag (and per digest when digests are shown), as docker lists them. */
export function imageRows(images: ImageSummary[], opts: ImageRowOptions): ImageRow[] {
  const rows: ImageRow[] = [];
  for (const img of images) {
    const add = (repo: string, tag: string, digest: string): void => {
      rows.push(new ImageRow(img, repo, tag, digest, opts.trunc, opts.nowMs));
    };
    if (isDangling(img)) {
      add("<none>", "<none>", "<none>");
      continue;
    }
    const repoTags = new Map<string, string[]>();
    const repoDigests = new Map<string, string[]>();
    for (const refString of img.RepoTags ?? []) {
      try {
        const ref = parseNormalizedNamed(refString);
        if (ref.tag) {
          const name = familiarName(ref);
          repoTags.set(name, [...(repoTags.get(name) ?? []), ref.tag]);
        }
      } catch {
        // docker skips references it cannot parse
      }
    }
    for (const refString of img.RepoDigests ?? []) {
      try {
        const ref = parseNormalizedNamed(refString);
        if (ref.digest) {
          const name = familiarName(ref);
          repoDigests.set(name, [...(repoDigests.get(name) ?? []), ref.digest]);
        }
      } catch {
        // docker skips references it cannot parse
      }
    }
    for (const [repo, tags] of repoTags) {
      let digests = repoDigests.get(repo) ?? [];
      repoDigests.delete(repo);
      if (!opts.showDigests) digests = [];
      for (const tag of tags) {
        if (digests.length === 0) add(repo, tag, "<none>");
        else for (const d of digests) add(repo, tag, d);
      }
    }
    for (const [repo, digests] of repoDigests) {
      if (opts.showDigests) for (const d of digests) add(repo, "<none>", d);
      else add(repo, "<none>", "");
    }
  }
  return rows;
}

/** An item of GET /images/{name}/history. */
export interface HistoryItem {
  Id: string;
  Created: number;
  CreatedBy?: string;
  Tags?: string[] | null;
  Size?: number;
  Comment?: string;
}

export const DEFAULT_HISTORY_FORMAT = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
export const NON_HUMAN_HISTORY_FORMAT = "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";

export const HISTORY_HEADERS: Record<string, string> = {
  ID: "IMAGE",
  CreatedSince: "CREATED",
  CreatedAt: "CREATED AT",
  CreatedBy: "CREATED BY",
  Size: "SIZE",
  Comment: "COMMENT",
};

export function historyFormat(format: string, quiet: boolean, human: boolean): string {
  if (format === "" || format === "table") {
    if (quiet) return "{{.ID}}";
    return human ? DEFAULT_HISTORY_FORMAT : NON_HUMAN_HISTORY_FORMAT;
  }
  return format;
}

/** Dates before 2000 are shown as N/A (images built with SOURCE_DATE_EPOCH=0 and the like). */
const HISTORY_EPOCH = Date.UTC(2000, 0, 1) / 1000;

export class HistoryRow {
  constructor(
    private readonly h: HistoryItem,
    private readonly trunc: boolean,
    private readonly human: boolean,
    private readonly nowMs: number,
  ) {}

  get ID(): string {
    return this.trunc ? truncateId(this.h.Id) : this.h.Id;
  }

  get CreatedAt(): string {
    return rfc3339(this.h.Created);
  }

  get CreatedSince(): string {
    if (!this.human) return this.CreatedAt;
    if (this.h.Created <= HISTORY_EPOCH) return "N/A";
    return `${humanDuration(this.nowMs - this.h.Created * 1000)} ago`;
  }

  get CreatedBy(): string {
    const createdBy = (this.h.CreatedBy ?? "").replace(/\t/g, " ");
    return this.trunc ? ellipsis(createdBy, 45) : createdBy;
  }

  get Size(): string {
    return this.human ? humanSize(this.h.Size ?? 0, 3) : String(this.h.Size ?? 0);
  }

  get Comment(): string {
    return this.h.Comment ?? "";
  }
}
