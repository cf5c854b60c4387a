/**
 * -v/--volume, --mount and --tmpfs, turned into the API's Binds, Volumes, Mounts and Tmpfs
 * fields the way docker/cli does.
 */
import * as path from "node:path";
import { ramInBytes } from "../../lib/units";

/** A relative host path written as "./x" or "../x" is made absolute; names stay names. */
function absolutizeSource(source: string, cwd: string): string {
  if (!path.isAbsolute(source) && source.startsWith(".")) return path.resolve(cwd, source);
  return source;
}

export interface VolumeConfig {
  /** "src:dst[:mode]" entries for HostConfig.Binds (host paths and named volumes). */
  binds: string[];
  /** Anonymous volumes for Config.Volumes. */
  volumes: Record<string, Record<string, never>>;
}

/** -v values: `dst` (anonymous), `src:dst`, `src:dst:mode`. */
export function parseVolumes(specs: string[], cwd: string): VolumeConfig {
  const binds: string[] = [];
  const volumes: Record<string, Record<string, never>> = {};
  for (const spec of specs) {
    if (spec.trim() === "") throw new Error("invalid empty volume spec");
    const parts = spec.split(":");
    if (parts.length === 1) {
      volumes[spec] = {};
      continue;
    }
    if (parts[0] === "" || parts[1] === "") throw new Error(`invalid spec: ${spec}: empty section between colons`);
    parts[0] = absolutizeSource(parts[0], cwd);
    binds.push(parts.join(":"));
  }
  return { binds, volumes };
}

/** Go's encoding/csv for one record: commas separate, double quotes group. */
export function splitCsv(value: string): string[] {
  const fields: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      if (c === '"' && value[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"' && cur === "") quoted = true;
    else if (c === ",") {
      fields.push(cur);
      cur = "";
    } else cur += c;
  }
  if (quoted) throw new Error(`parse error on line 1, column ${value.length + 1}: extraneous or missing " in quoted-field`);
  fields.push(cur);
  return fields;
}

/** The API's Mount object (only the fields --mount can set). */
export interface ApiMount {
  Type: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: {
    Propagation?: string;
    NonRecursive?: boolean;
    ReadOnlyNonRecursive?: boolean;
    ReadOnlyForceRecursive?: boolean;
    CreateMountpoint?: boolean;
  };
  VolumeOptions?: {
    NoCopy?: boolean;
    Labels?: Record<string, string>;
    Subpath?: string;
    DriverConfig?: { Name?: string; Options?: Record<string, string> };
  };
  ImageOptions?: { Subpath?: string };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

function mountBool(key: string, value: string, hasValue: boolean): boolean {
  if (!hasValue) return true;
  if (value === "1" || value === "true") return true;
  if (value === "0" || value === "false") return false;
  // docker 28's text (checked against /usr/local/bin/docker).
  throw new Error(`invalid value for ${key}: ${value}`);
}

function setOnMap(target: Record<string, string> | undefined, kv: string): Record<string, string> | undefined {
  const eq = kv.indexOf("=");
  const k = eq === -1 ? kv : kv.slice(0, eq);
  if (k === "") return target;
  const out = target ?? {};
  out[k] = eq === -1 ? "" : kv.slice(eq + 1);
  return out;
}

/** One --mount value; throws docker's texts for malformed ones. */
export function parseMount(raw: string, cwd: string): ApiMount {
  const value = raw.trim();
  if (value === "") throw new Error("value is empty");
  const m: ApiMount = { Type: "volume" };
  for (const field of splitCsv(value)) {
    const eq = field.indexOf("=");
    const hasValue = eq !== -1;
    const rawKey = hasValue ? field.slice(0, eq) : field;
    const val = hasValue ? field.slice(eq + 1) : "";
    if (rawKey.trim() !== rawKey) {
      throw new Error(`invalid option '${rawKey.trim()}' in '${field}': option should not have whitespace`);
    }
    if (hasValue) {
      if (val.trim() === "") throw new Error(`invalid value for '${rawKey}': value is empty`);
      if (val.trim() !== val) {
        throw new Error(`invalid value for '${rawKey}' in '${field}': value should not have whitespace`);
      }
    }
    const key = rawKey.toLowerCase();
    if (!hasValue && !["readonly", "ro", "volume-nocopy", "bind-nonrecursive", "bind-create-src"].includes(key)) {
      throw new Error(`invalid field '${field}' must be a key=value pair`);
    }
    switch (key) {
      case "type":
        m.Type = val.toLowerCase();
        break;
      case "source":
      case "src":
        m.Source = absolutizeSource(val, cwd);
        break;
      case "target":
      case "dst":
      case "destination":
        m.Target = val;
        break;
      case "readonly":
      case "ro":
        m.ReadOnly = mountBool(key, val, hasValue);
        break;
      case "consistency":
        m.Consistency = val.toLowerCase();
        break;
      case "bind-propagation":
        (m.BindOptions ??= {}).Propagation = val.toLowerCase();
        break;
      case "bind-nonrecursive":
        throw new Error("bind-nonrecursive is deprecated, use bind-recursive=disabled instead");
      case "bind-recursive":
        if (val === "disabled") (m.BindOptions ??= {}).NonRecursive = true;
        else if (val === "writable") (m.BindOptions ??= {}).ReadOnlyNonRecursive = true;
        else if (val === "readonly") (m.BindOptions ??= {}).ReadOnlyForceRecursive = true;
        else if (val !== "enabled") {
          throw new Error(
            `invalid value for ${key}: ${val} (must be "enabled", "disabled", "writable", or "readonly")`,
          );
        }
        break;
      case "bind-create-src":
        (m.BindOptions ??= {}).CreateMountpoint = mountBool(key, val, hasValue);
        break;
      case "volume-subpath":
        (m.VolumeOptions ??= {}).Subpath = val;
        break;
      case "volume-nocopy":
        (m.VolumeOptions ??= {}).NoCopy = mountBool(key, val, hasValue);
        break;
      case "volume-label": {
        const opts = (m.VolumeOptions ??= {});
        opts.Labels = setOnMap(opts.Labels, val);
        break;
      }
      case "volume-driver":
        ((m.VolumeOptions ??= {}).DriverConfig ??= {}).Name = val;
        break;
      case "volume-opt": {
        const driver = ((m.VolumeOptions ??= {}).DriverConfig ??= {});
        driver.Options = setOnMap(driver.Options, val);
        break;
      }
      case "image-subpath":
        (m.ImageOptions ??= {}).Subpath = val;
        break;
      case "tmpfs-size": {
        let size: number;
        try {
          size = ramInBytes(val);
        } catch {
          throw new Error(`invalid value for ${key}: ${val}`);
        }
        (m.TmpfsOptions ??= {}).SizeBytes = size;
        break;
      }
      case "tmpfs-mode": {
        if (!/^[0-7]+$/.test(val) || parseInt(val, 8) > 0xffffffff) throw new Error(`invalid value for ${key}: ${val}`);
        (m.TmpfsOptions ??= {}).Mode = parseInt(val, 8);
        break;
      }
      default:
        throw new Error(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (m.Type === "") throw new Error("type is required");
  for (const [opts, type, prefix] of [
    [m.BindOptions, "bind", "bind"],
    [m.VolumeOptions, "volume", "volume"],
    [m.ImageOptions, "image", "image"],
    [m.TmpfsOptions, "tmpfs", "tmpfs"],
  ] as const) {
    if (opts && m.Type !== type) throw new Error(`cannot mix '${prefix}-*' options with mount type '${m.Type}'`);
  }
  if (m.BindOptions?.ReadOnlyNonRecursive && !m.ReadOnly) {
    throw new Error("option 'bind-recursive=writable' requires 'readonly' to be specified in conjunction");
  }
  if (m.BindOptions?.ReadOnlyForceRecursive) {
    if (!m.ReadOnly) {
      throw new Error("option 'bind-recursive=readonly' requires 'readonly' to be specified in conjunction");
    }
    if (m.BindOptions.Propagation !== "rprivate") {
      throw new Error("option 'bind-recursive=readonly' requires 'bind-propagation=rprivate' to be specified in conjunction");
    }
  }
  return m;
}

/** --tmpfs "/run:rw,size=64m" -> {"/run": "rw,size=64m"}. */
export function parseTmpfs(specs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of specs) {
    const colon = spec.indexOf(":");
    if (colon === -1) out[spec] = "";
    else out[spec.slice(0, colon)] = spec.slice(colon + 1);
  }
  return out;
}
