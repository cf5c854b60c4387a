import * as fs from "node:fs";
import * as path from "node:path";
import { InvalidParameterError, NotFoundError } from "../../lib/errors";
import { realPath } from "../../lib/real-path";
import { isWithin } from "../../lib/tar/resolve";
import type { SpecInput } from "../../runtime/types";
import { mountOf } from "../../store/mounts";

/**
 * A container's mounts with Docker's rules: -v (Binds), --mount (Mounts), --tmpfs (Tmpfs),
 * --volumes-from and the image's / Config's VOLUMEs become mount points, validated with
 * Docker's messages, stored in the record (inspect's `Mounts`) and turned into OCI mounts at start.
 */

/** One mount point as stored in the record; the exported fields are Docker's inspect `Mounts`. */
export interface MountPoint {
  Type: "bind" | "volume" | "tmpfs";
  /** The volume's name (volumes only). */
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
  /** Fill an empty volume from the image at create (off with nocopy / volume-nocopy). */
  copyData?: boolean;
  /** A volume made for this container (image VOLUME, `-v /path`, unnamed --mount): `rm -v` removes it. */
  anonymous?: boolean;
  /** bind-recursive=disabled. */
  nonRecursive?: boolean;
  /** tmpfs: size=, mode= and flags, as the tmpfs mount's options. */
  tmpfsOptions?: string[];
  /** From --tmpfs (HostConfig.Tmpfs): Docker leaves these out of inspect's Mounts. */
  hidden?: boolean;
  /** --mount's volume-label / volume-opt, for a volume created on first use. */
  createOptions?: { labels: Record<string, string> | null; driverOpts: Record<string, string> | null };
}

/** What the planner needs from the rest of the engine. */
export interface MountContext {
  dataRoot: string;
  execRoot: string;
  /** The API's unix sockets: binding one is allowed but warned about. */
  apiSockets: string[];
  /** Mount points of another container (--volumes-from); throws 404 when unknown. */
  mountPointsOf(idOrName: string): { id: string; mounts: MountPoint[] };
}

/** The parts of the create request that carry mounts. */
export interface MountRequest {
  Binds?: string[] | null;
  Mounts?: Array<Record<string, unknown>> | null;
  Tmpfs?: Record<string, string> | null;
  VolumesFrom?: string[] | null;
  /** --volume-driver: the driver of volumes -v and VOLUME create. */
  VolumeDriver?: string | null;
  /** Config.Volumes merged with the image's VOLUMEs. */
  Volumes?: Record<string, unknown> | null;
}

export interface MountPlan {
  mounts: MountPoint[];
  warnings: string[];
}

const PROPAGATIONS = ["private", "rprivate", "shared", "rshared", "slave", "rslave"];
const DEFAULT_PROPAGATION = "rprivate";
const TMPFS_FLAGS = new Set(["ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "sync", "async", "dirsync", "noatime", "atime", "nodiratime", "diratime", "relatime", "norelatime", "strictatime", "nostrictatime", "remount", "mand", "nomand", "bind", "rbind", "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable"]);
const TMPFS_DATA = new Set(["size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol", "huge", "tmpcopyup", "notmpcopyup"]);

const invalidSpec = (spec: string, why?: string): InvalidParameterError =>
  new InvalidParameterError(`invalid volume specification: '${spec}'${why ? `: ${why}` : ""}`);
const mountConfig = (type: string, why: string): string => `invalid mount config for type "${type}": ${why}`;

/** Validates a destination: absolute, not "/"; returns it cleaned. */
function destination(type: string, dest: string): string {
  if (dest === "") throw new InvalidParameterError(mountConfig(type, "field Target must not be empty"));
  if (!dest.startsWith("/")) throw new InvalidParameterError(mountConfig(type, `invalid mount path: '${dest}' mount path must be absolute`));
  const clean = path.posix.normalize(dest).replace(/(.)\/$/, "$1");
  if (clean === "/") throw new InvalidParameterError(mountConfig(type, "invalid specification: destination can't be '/'"));
  return clean;
}

/** The words of a -v mode ("ro,z,rshared"): one of rw/ro, one label, one propagation, nocopy. */
function parseMode(mode: string, type: "bind" | "volume"): { rw: boolean; propagation?: string; nocopy: boolean } {
  let rw: boolean | undefined;
  let label = false;
  let propagation: string | undefined;
  let nocopy = false;
  for (const word of mode.split(",")) {
    if ((word === "rw" || word === "ro") && rw === undefined) rw = word === "rw";
    else if ((word === "z" || word === "Z") && !label) label = true;
    else if (PROPAGATIONS.includes(word) && propagation === undefined) propagation = word;
    else if (word === "nocopy" && !nocopy) nocopy = true;
    else throw new InvalidParameterError(`invalid mode: ${mode}`);
  }
  // Propagation applies to binds only; nocopy to volumes only (Docker's linux parser).
  if ((propagation && type === "volume") || (nocopy && type === "bind")) throw new InvalidParameterError(`invalid mode: ${mode}`);
  return { rw: rw ?? true, propagation, nocopy };
}

/** Turns a create request's mount fields into mount points, or Docker's error for the first bad one. */
export function planMounts(req: MountRequest, ctx: MountContext): MountPlan {
  const byDest = new Map<string, MountPoint>();
  const warnings: string[] = [];
  const explicit = new Set<string>();
  const claim = (m: MountPoint): void => {
    if (explicit.has(m.Destination)) throw new InvalidParameterError(`Duplicate mount point: ${m.Destination}`);
    explicit.add(m.Destination);
    byDest.set(m.Destination, m);
  };

  // --volumes-from first: -v and --mount at the same place replace what it brings.
  for (const entry of req.VolumesFrom ?? []) {
    // CTR[:MODE], split at the first colon as Docker does; no propagation from a data container.
    const colon = entry.indexOf(":");
    const ref = colon < 0 ? entry : entry.slice(0, colon);
    const mode = colon < 0 ? "" : entry.slice(colon + 1);
    const rw = mode ? parseMode(mode, "volume").rw : undefined;
    const other = ctx.mountPointsOf(ref);
    for (const m of other.mounts) {
      if (m.hidden) continue; // --tmpfs mounts are the donor's own (not mount points in Docker)
      const copy: MountPoint = { ...m, anonymous: false, copyData: false };
      if (rw !== undefined) {
        copy.RW = rw;
        copy.Mode = mode;
      }
      byDest.set(copy.Destination, copy);
    }
  }

  const driver = req.VolumeDriver || "local";
  for (const spec of req.Binds ?? []) claim(parseBind(spec, ctx, warnings, driver));
  for (const raw of req.Mounts ?? []) claim(parseApiMount(raw, ctx, warnings));
  for (const [dest, options] of Object.entries(req.Tmpfs ?? {})) {
    const clean = destination("tmpfs", dest);
    claim({ Type: "tmpfs", Source: "", Destination: clean, Mode: "", RW: !options.split(",").includes("ro"), Propagation: "", tmpfsOptions: tmpfsOptions(options), hidden: true });
  }

  // VOLUMEs of the image and of Config.Volumes (-v /path) nothing else covers get anonymous volumes.
  for (const dest of Object.keys(req.Volumes ?? {})) {
    const clean = destination("volume", dest);
    if (byDest.has(clean)) continue;
    byDest.set(clean, { Type: "volume", Name: "", Source: "", Destination: clean, Driver: driver, Mode: "", RW: true, Propagation: "", copyData: true, anonymous: true });
  }
  return { mounts: [...byDest.values()], warnings };
}

/** -v SRC:DST[:MODE] (or DST for an anonymous volume), with Docker's linux parser rules. */
function parseBind(spec: string, ctx: MountContext, warnings: string[], driver: string): MountPoint {
  const parts = spec.split(":");
  if (parts.some((p) => p === "") || parts.length > 3) throw invalidSpec(spec);
  let source = "";
  let dest: string;
  let mode = "";
  if (parts.length === 1) dest = parts[0];
  else if (parts.length === 2) {
    // "/dst:ro" is a destination with a mode, which Docker refuses for volumes.
    if (/^(rw|ro|z|Z|nocopy)(,|$)/.test(parts[1])) throw invalidSpec(spec);
    [source, dest] = parts;
  } else [source, dest, mode] = parts;
  const type = source.startsWith("/") ? "bind" : "volume";
  let clean: string;
  try {
    clean = destination(type, dest);
  } catch (err) {
    throw invalidSpec(spec, (err as Error).message);
  }
  const parsed = mode ? parseMode(mode, type) : { rw: true, propagation: undefined, nocopy: false };
  if (type === "bind") {
    const src = path.normalize(source);
    guardBindSource(src, ctx, warnings);
    // -v creates a missing host directory (--mount does not).
    if (!fs.existsSync(src)) fs.mkdirSync(src, { recursive: true, mode: 0o755 });
    checkPropagation(src, parsed.propagation ?? DEFAULT_PROPAGATION);
    return { Type: "bind", Source: src, Destination: clean, Mode: mode, RW: parsed.rw, Propagation: parsed.propagation ?? DEFAULT_PROPAGATION };
  }
  return {
    Type: "volume",
    Name: source,
    Source: "",
    Destination: clean,
    Driver: driver,
    Mode: mode || "z",
    RW: parsed.rw,
    Propagation: "",
    copyData: !parsed.nocopy,
    anonymous: source === "",
  };
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** One API Mount object (--mount). */
function parseApiMount(raw: Record<string, unknown>, ctx: MountContext, warnings: string[]): MountPoint {
  const type = str(raw.Type);
  const source = str(raw.Source);
  const readOnly = raw.ReadOnly === true;
  const bindOpts = obj(raw.BindOptions);
  const volumeOpts = obj(raw.VolumeOptions);
  const tmpfsOpts = obj(raw.TmpfsOptions);
  if (!["bind", "volume", "tmpfs"].includes(type)) throw new InvalidParameterError(mountConfig(type, "mount type unknown"));
  const dest = destination(type, str(raw.Target));
  if (type !== "bind" && Object.keys(bindOpts).length) throw new InvalidParameterError(mountConfig(type, "BindOptions must not be specified"));
  if (type !== "volume" && Object.keys(volumeOpts).length) throw new InvalidParameterError(mountConfig(type, "VolumeOptions must not be specified"));
  if (type !== "tmpfs" && Object.keys(tmpfsOpts).length) throw new InvalidParameterError(mountConfig(type, "TmpfsOptions must not be specified"));
  if (type === "bind") {
    if (source === "") throw new InvalidParameterError(mountConfig(type, "field Source must not be empty"));
    if (!source.startsWith("/")) throw new InvalidParameterError(mountConfig(type, `invalid mount path: '${source}' mount path must be absolute`));
    const src = path.normalize(source);
    const propagation = str(bindOpts.Propagation) || DEFAULT_PROPAGATION;
    if (!PROPAGATIONS.includes(propagation)) throw new InvalidParameterError(mountConfig(type, `invalid propagation mode: ${propagation}`));
    guardBindSource(src, ctx, warnings);
    if (!fs.existsSync(src)) {
      if (bindOpts.CreateMountpoint !== true) throw new InvalidParameterError(mountConfig(type, `bind source path does not exist: ${src}`));
      fs.mkdirSync(src, { recursive: true, mode: 0o755 });
    }
    checkPropagation(src, propagation);
    return { Type: "bind", Source: src, Destination: dest, Mode: "", RW: !readOnly, Propagation: propagation, nonRecursive: bindOpts.NonRecursive === true };
  }
  if (type === "volume") {
    const driverConfig = obj(volumeOpts.DriverConfig);
    if (str(volumeOpts.Subpath)) throw new InvalidParameterError(mountConfig(type, "volume subpaths are not supported"));
    return {
      Type: "volume",
      Name: source,
      Source: "",
      Destination: dest,
      Driver: str(driverConfig.Name) || "local",
      Mode: "",
      RW: !readOnly,
      Propagation: "",
      copyData: volumeOpts.NoCopy !== true,
      anonymous: source === "",
      createOptions: { labels: stringMap(volumeOpts.Labels), driverOpts: stringMap(driverConfig.Options) },
    };
  }
  if (source !== "") throw new InvalidParameterError(mountConfig(type, "field Source must not be specified"));
  const options: string[] = [];
  const size = tmpfsOpts.SizeBytes;
  if (typeof size === "number" && size < 0) throw new InvalidParameterError(mountConfig(type, `invalid tmpfs size: ${size}`));
  if (typeof size === "number" && size > 0) options.push(`size=${size}`);
  if (typeof tmpfsOpts.Mode === "number" && tmpfsOpts.Mode !== 0) options.push(`mode=${(tmpfsOpts.Mode & 0o7777).toString(8)}`);
  return { Type: "tmpfs", Source: "", Destination: dest, Mode: "", RW: !readOnly, Propagation: "", tmpfsOptions: [...(readOnly ? ["ro"] : []), ...options] };
}

/**
 * Shared propagation needs a shared source mount, slave propagation a shared or slave one
 * (Docker's ensureShared / ensureSharedOrSlave, same messages).
 */
function checkPropagation(src: string, propagation: string): void {
  if (!["shared", "rshared", "slave", "rslave"].includes(propagation)) return;
  const m = mountOf(realPath(src));
  if (propagation.endsWith("shared") && !m.shared) throw new InvalidParameterError(`path ${src} is mounted on ${m.mountPoint} but it is not a shared mount`);
  if (propagation.endsWith("slave") && !m.shared && !m.slave) throw new InvalidParameterError(`path ${src} is mounted on ${m.mountPoint} but it is not a shared or slave mount`);
}

/** --tmpfs's options ("rw,size=64m,mode=1777"), validated as Docker's ParseTmpfsOptions does. */
function tmpfsOptions(options: string): string[] {
  const out: string[] = [];
  for (const word of options.split(",").filter((w) => w !== "")) {
    const key = word.split("=")[0];
    if (!(word.includes("=") ? TMPFS_DATA.has(key) : TMPFS_FLAGS.has(word))) throw new InvalidParameterError(`invalid tmpfs option ["${word}"]`);
    out.push(word);
  }
  return out;
}

/** The daemon's own state must not be bound into a container; its socket may, with a warning. */
function guardBindSource(src: string, ctx: MountContext, warnings: string[]): void {
  const real = realPath(src);
  const volumesDir = path.join(ctx.dataRoot, "volumes");
  for (const own of [ctx.dataRoot, ctx.execRoot]) {
    const ownReal = realPath(own);
    if ((isWithin(ownReal, real) || isWithin(own, src)) && !isWithin(volumesDir, src)) {
      throw new InvalidParameterError(mountConfig("bind", `refusing to bind the daemon's own state directory into a container: ${src}`));
    }
    if (real !== "/" && isWithin(real, ownReal)) warnings.push(`bind mount ${src} exposes the daemon's state directory ${own} to the container`);
  }
  for (const sock of ctx.apiSockets) {
    if (real === realPath(sock) || isWithin(real, sock)) warnings.push(`bind mount ${src} gives the container the daemon's API socket ${sock}: it can control the daemon`);
  }
}

function stringMap(v: unknown): Record<string, string> | null {
  if (!v || typeof v !== "object") return null;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)]));
}

/** Inspect's `Mounts`: Docker's fields only, tmpfs from --tmpfs left out as Docker does. */
export function mountsView(mounts: MountPoint[] | undefined): Array<Record<string, unknown>> {
  return (mounts ?? [])
    .filter((m) => !m.hidden)
    .map((m) => ({
      Type: m.Type,
      ...(m.Type === "volume" ? { Name: m.Name } : {}),
      Source: m.Source,
      Destination: m.Destination,
      ...(m.Type === "volume" ? { Driver: m.Driver } : {}),
      Mode: m.Mode,
      RW: m.RW,
      Propagation: m.Propagation,
    }));
}

/** OCI mounts for a starting container; `volumePath` mounts a volume and returns its host path. */
export function ociMounts(mounts: MountPoint[], volumePath: (m: MountPoint) => string): SpecInput["extraMounts"] {
  return mounts.map((m) => {
    if (m.Type === "tmpfs") {
      const opts = m.tmpfsOptions ?? [];
      const flags = ["nosuid", "nodev", "noexec"].filter((f) => !opts.includes(f.replace(/^no/, "")));
      return { destination: m.Destination, type: "tmpfs", source: "tmpfs", options: [...flags, ...opts.filter((o) => o !== "rw" && o !== "ro"), m.RW ? "rw" : "ro"] };
    }
    const source = m.Type === "volume" ? volumePath(m) : m.Source;
    const propagation = m.Propagation || DEFAULT_PROPAGATION;
    return { destination: m.Destination, type: "bind", source, options: [m.nonRecursive ? "bind" : "rbind", propagation, m.RW ? "rw" : "ro"] };
  });
}

/** Whether the `volume` ps filter value (a name or a destination) matches. */
export function mountMatches(mounts: MountPoint[] | undefined, value: string): boolean {
  return (mounts ?? []).some((m) => m.Name === value || m.Destination === value);
}

export const notFound = (ref: string): NotFoundError => new NotFoundError(`No such container: ${ref}`);
