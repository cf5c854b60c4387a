import { InvalidParameterError } from "../../lib/errors";
import type { ImageRuntimeConfig } from "./types";

/** Docker Engine API shapes for images (current API version; the API layer adapts older ones). */

export interface ImageSummary {
  Containers: number;
  Created: number;
  Id: string;
  Labels: Record<string, string>;
  ParentId: string;
  RepoDigests: string[];
  RepoTags: string[];
  SharedSize: number;
  Size: number;
}

export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created?: string;
  DockerVersion: string;
  Author: string;
  Config: Record<string, unknown>;
  Architecture: string;
  Variant?: string;
  Os: string;
  Size: number;
  GraphDriver: { Data: Record<string, string>; Name: string };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
  /** Only for API < 1.45 (the route removes them for newer clients). */
  Container?: string;
  ContainerConfig?: Record<string, unknown>;
}

export interface HistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

export type DeleteItem = { Untagged: string } | { Deleted: string };

export interface PruneReport {
  ImagesDeleted: DeleteItem[] | null;
  SpaceReclaimed: number;
}

export const ZERO_TIME = "0001-01-01T00:00:00Z";

/**
 * Fields Docker's image Config always carries even when unset (API >= 1.50); older APIs also
 * get the container-only fields (see moby's legacyConfigFields).
 */
export const CONFIG_DEFAULTS: Record<string, unknown> = {
  Cmd: null,
  Entrypoint: null,
  Env: null,
  Labels: null,
  OnBuild: null,
  User: "",
  Volumes: null,
  WorkingDir: "",
};

export const LEGACY_CONFIG_DEFAULTS: Record<string, unknown> = {
  AttachStderr: false,
  AttachStdin: false,
  AttachStdout: false,
  Domainname: "",
  Hostname: "",
  Image: "",
  OpenStdin: false,
  StdinOnce: false,
  Tty: false,
};

export function inspectConfig(config: ImageRuntimeConfig | null | undefined): Record<string, unknown> {
  return { ...CONFIG_DEFAULTS, ...(config ?? {}) };
}

export function unixSeconds(iso: string | undefined): number {
  if (!iso) return 0;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

/** Checks that only `accepted` filter names are used, as Docker does. */
export function validateFilters(filters: Map<string, string[]>, accepted: readonly string[]): void {
  for (const key of filters.keys()) {
    if (!accepted.includes(key)) throw new InvalidParameterError(`invalid filter '${key}'`);
  }
}

/** The dangling filter: undefined when absent; only "true"/"false" (and 1/0) are valid. */
export function danglingFilter(filters: Map<string, string[]>): boolean | undefined {
  const values = filters.get("dangling");
  if (!values || values.length === 0) return undefined;
  const norm = values.map((v) => v.toLowerCase());
  if (norm.some((v) => v === "true" || v === "1")) return true;
  if (norm.every((v) => v === "false" || v === "0")) return false;
  throw new InvalidParameterError(`invalid filter 'dangling=${values.join(",")}'`);
}

/** label=key or label=key=value: all given labels must match (Docker's MatchKVList). */
export function labelsMatch(wanted: string[], labels: Record<string, string> | null | undefined): boolean {
  return wanted.every((w) => {
    const i = w.indexOf("=");
    const key = i === -1 ? w : w.slice(0, i);
    if (!labels || !(key in labels)) return false;
    return i === -1 || labels[key] === w.slice(i + 1);
  });
}

/**
 * Docker's timestamp filter values: Go durations relative to now ("10m", "1h30m"), unix seconds
 * ("1700000000", "1700000000.5") or RFC 3339 / ISO dates. Returns milliseconds since the epoch.
 */
export function parseTimestamp(value: string, now = Date.now()): number {
  const v = value.trim();
  if (/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(v)) {
    const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
    let total = 0;
    for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * units[m[2]];
    return now - total;
  }
  if (/^\d+(\.\d+)?$/.test(v)) return Math.floor(Number(v) * 1000);
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new InvalidParameterError(`failed to parse value as time or duration: "${value}"`);
  return ms;
}
