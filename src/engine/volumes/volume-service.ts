import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { ConflictError, InvalidParameterError, NotFoundError, SystemError, errorMessage } from "../../lib/errors";
import { dirSize } from "../../lib/dir-size";
import { newId } from "../../lib/ids";
import { native } from "../../lib/native";
import { isMountPoint, mountsUnder, unmountAll } from "../../store/mounts";
import type { EventLog } from "../events";
import { copyUp, type CopyUpResult } from "./copy-up";
import { ANONYMOUS_LABEL, isAnonymous, type VolumeRecord } from "./types";
import type { VolumeStore } from "./volume-store";

export interface VolumeServiceDeps {
  dataRoot: string;
  store: VolumeStore;
  eventLog?: EventLog;
  /** Ids of the containers whose records use the volume (Docker's references). */
  usersOf(name: string): string[];
  log: { warn(obj: object, msg?: string): void };
}

export interface CreateVolumeOptions {
  name?: string;
  driver?: string;
  driverOpts?: Record<string, string> | null;
  labels?: Record<string, string> | null;
}

const MAX_NAME_LENGTH = 255;
const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
/** The local driver's options (Docker's validOpts) and which need which (its mandatoryOpts). */
const VALID_OPTS = new Set(["type", "device", "o", "size"]);
const MANDATORY_OPTS: Record<string, string[]> = { device: ["type"], type: ["device"], o: ["device", "type"] };

/** mount(8) flag words; every other word of `o=` is filesystem data (moby/sys/mount's split). */
const MOUNT_FLAGS: Record<string, [set: boolean, flag: number]> = {
  ro: [true, 0x1],
  rw: [false, 0x1],
  nosuid: [true, 0x2],
  suid: [false, 0x2],
  nodev: [true, 0x4],
  dev: [false, 0x4],
  noexec: [true, 0x8],
  exec: [false, 0x8],
  sync: [true, 0x10],
  async: [false, 0x10],
  dirsync: [true, 0x80],
  noatime: [true, 0x400],
  atime: [false, 0x400],
  nodiratime: [true, 0x800],
  diratime: [false, 0x800],
  bind: [true, 0x1000],
  rbind: [true, 0x1000 | 0x4000],
  relatime: [true, 0x200000],
  norelatime: [false, 0x200000],
  strictatime: [true, 0x1000000],
  defaults: [false, 0],
};

export function parseMountOptions(o: string): { flags: number; data: string } {
  let flags = 0;
  const data: string[] = [];
  for (const word of o.split(",").filter((w) => w !== "")) {
    const known = MOUNT_FLAGS[word];
    if (!known) data.push(word);
    else if (known[0]) flags |= known[1];
    else flags &= ~known[1];
  }
  return { flags, data: data.join(",") };
}

/** Docker's OpErr text: "remove NAME: volume is in use - [ID, ...]". */
function opError(op: string, name: string, err: string, refs: string[] = []): string {
  return `${op} ${name}: ${err}${refs.length ? ` - [${refs.join(", ")}]` : ""}`;
}

/**
 * Volumes with Docker's local driver: data under `<data-root>/volumes/<name>/_data`, optional
 * `type/device/o` options mounted while a container uses the volume (tmpfs, a bind, nfs...),
 * references counted from the containers that use the volume, copy-up from the image.
 */
export class VolumeService {
  private readonly root: string;
  /** Containers being created that already hold a volume (their records are not saved yet). */
  private readonly pending = new Map<string, Set<string>>();
  /** Volume name -> running containers that have it mounted. */
  private readonly active = new Map<string, Map<string, { destination: string; rw: boolean; propagation: string }>>();

  constructor(private readonly deps: VolumeServiceDeps) {
    this.root = path.join(deps.dataRoot, "volumes");
    fs.mkdirSync(this.root, { recursive: true, mode: 0o701 });
    // Removals a crash interrupted.
    for (const name of fs.readdirSync(this.root)) {
      if (name.startsWith("tmp-del-")) this.removeTree(path.join(this.root, name));
    }
  }

  dataPath(name: string): string {
    return path.join(this.root, name, "_data");
  }

  // ---- create, get, list --------------------------------------------------------------------

  /** Creates a volume, or returns the existing one with that name (as Docker does). */
  create(opts: CreateVolumeOptions = {}): VolumeRecord {
    const driver = opts.driver || "local";
    let name = opts.name ?? "";
    const labels = opts.labels ?? null;
    let anonymousLabels: Record<string, string> | null = labels;
    if (name === "") {
      name = newId();
      anonymousLabels = { ...(labels ?? {}), [ANONYMOUS_LABEL]: "" };
    }
    if (driver !== "local") throw new NotFoundError(opError("create", name, `error looking up volume plugin ${driver}: plugin "${driver}" not found`));
    const existing = this.deps.store.get(name);
    if (existing) return existing;
    if (name.length === 1) throw new InvalidParameterError(opError("create", name, "volume name is too short, names should be at least two alphanumeric characters"));
    // The name is a directory name: Docker fails later with a 500 from mkdir (ENAMETOOLONG).
    if (name.length > MAX_NAME_LENGTH) throw new InvalidParameterError(opError("create", name, `volume name is too long, names should be at most ${MAX_NAME_LENGTH} characters`));
    if (!NAME_PATTERN.test(name)) {
      throw new InvalidParameterError(
        opError("create", name, `"${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`),
      );
    }
    const options = opts.driverOpts ?? null;
    this.validateOptions(name, options ?? {});
    const dir = path.join(this.root, name);
    fs.mkdirSync(path.join(dir, "_data"), { recursive: true, mode: 0o755 });
    const record: VolumeRecord = {
      Name: name,
      Driver: "local",
      Mountpoint: this.dataPath(name),
      CreatedAt: rfc3339(new Date()),
      Labels: anonymousLabels,
      Options: options,
      Scope: "local",
    };
    this.deps.store.save(record);
    this.deps.eventLog?.publish("volume", "create", name, { driver: "local" });
    return record;
  }

  private validateOptions(name: string, options: Record<string, string>): void {
    for (const key of Object.keys(options)) {
      if (!VALID_OPTS.has(key)) throw new InvalidParameterError(opError("create", name, `invalid option: "${key}"`));
    }
    if ("size" in options) throw new InvalidParameterError(opError("create", name, "quota size requested but no quota support"));
    for (const [key, needs] of Object.entries(MANDATORY_OPTS)) {
      if (!(key in options)) continue;
      for (const need of needs) if (!(need in options)) throw new InvalidParameterError(opError("create", name, `missing required option: "${need}"`));
    }
  }

  get(name: string): VolumeRecord {
    const record = this.deps.store.get(name);
    if (!record) throw new NotFoundError(opError("get", name, "no such volume"));
    return record;
  }

  has(name: string): boolean {
    return this.deps.store.get(name) !== undefined;
  }

  list(): VolumeRecord[] {
    return this.deps.store.all();
  }

  /** Containers that use the volume, including ones still being created. */
  refs(name: string): string[] {
    const ids = new Set(this.deps.usersOf(name));
    for (const [id, names] of this.pending) if (names.has(name)) ids.add(id);
    return [...ids];
  }

  async size(name: string): Promise<number> {
    return dirSize(this.dataPath(name));
  }

  // ---- references while a container is created -----------------------------------------------

  /** Marks the volume as used by a container whose record is not saved yet (prune must not take it). */
  hold(name: string, containerId: string): void {
    let names = this.pending.get(containerId);
    if (!names) this.pending.set(containerId, (names = new Set()));
    names.add(name);
  }

  /** The record is saved (or the create failed): its references are the record's from now on. */
  settle(containerId: string): void {
    this.pending.delete(containerId);
  }

  // ---- remove, prune --------------------------------------------------------------------------

  /** Removes a volume no container uses; `force` only ignores a missing volume (Docker's PurgeOnError). */
  async remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    const record = this.deps.store.get(name);
    if (!record) {
      if (opts.force) return;
      throw new NotFoundError(opError("get", name, "no such volume"));
    }
    const refs = this.refs(name);
    if (refs.length) throw new ConflictError(opError("remove", name, "volume is in use", refs));
    this.deleteData(record);
    this.deps.store.delete(name);
    this.active.delete(name);
    this.deps.eventLog?.publish("volume", "destroy", name, { driver: record.Driver });
  }

  /**
   * Unused volumes go: only anonymous ones unless `all` (API 1.42+; older clients prune all).
   * `labels` are Docker's label / label! filters.
   */
  async prune(opts: { all: boolean; labelFilter: (labels: Record<string, string>) => boolean }): Promise<{ deleted: string[]; reclaimed: number }> {
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const record of this.list()) {
      if (!opts.all && !isAnonymous(record)) continue;
      if (!opts.labelFilter(record.Labels ?? {}) || this.refs(record.Name).length) continue;
      const size = await this.size(record.Name);
      try {
        await this.remove(record.Name);
      } catch (err) {
        this.deps.log.warn({ volume: record.Name, err: errorMessage(err) }, "volume prune: could not remove");
        continue;
      }
      deleted.push(record.Name);
      reclaimed += size;
    }
    this.deps.eventLog?.publish("volume", "prune", "", { reclaimed: String(reclaimed) });
    return { deleted, reclaimed };
  }

  /** Removes the volume directory without following links and never below a mount. */
  private deleteData(record: VolumeRecord): void {
    const dir = path.join(this.root, record.Name);
    const data = this.dataPath(record.Name);
    if (isMountPoint(data)) unmountAll(data);
    const left = mountsUnder(dir);
    if (left.length) throw new SystemError(opError("remove", record.Name, `volume still has mounts: ${left.join(", ")}`));
    if (!fs.existsSync(dir)) return;
    // Renamed first so a crash mid-delete leaves a trash dir (removed at start), not half a volume.
    const trash = path.join(this.root, `tmp-del-${randomBytes(8).toString("hex")}`);
    fs.renameSync(dir, trash);
    this.removeTree(trash);
  }

  private removeTree(dir: string): void {
    // fs.rmSync removes symlinks as links; it never follows them out of the tree.
    fs.rmSync(dir, { recursive: true, force: true });
  }

  // ---- mount, unmount, copy-up ------------------------------------------------------------------

  /**
   * The host path a container binds for this volume; a volume with `type/device` options is
   * mounted by the first container that uses it.
   */
  mount(name: string, containerId: string, how: { destination: string; rw: boolean; propagation: string }): string {
    const record = this.get(name);
    const data = this.dataPath(name);
    let users = this.active.get(name);
    if (!users) this.active.set(name, (users = new Map()));
    // A data directory removed behind the daemon's back is made again rather than failing the start.
    fs.mkdirSync(data, { recursive: true, mode: 0o755 });
    if (record.Options?.type && !isMountPoint(data)) {
      const { flags, data: mountData } = parseMountOptions(record.Options.o ?? "");
      try {
        native().mount(record.Options.device ?? record.Options.type, data, record.Options.type === "none" ? null : record.Options.type, flags, mountData || null);
      } catch (err) {
        throw new SystemError(`error while mounting volume '${data}': failed to mount local volume: mount ${record.Options.device}:${data}, flags: 0x${flags.toString(16)}, data: ${mountData}: ${errorMessage(err)}`);
      }
    }
    const first = !users.has(containerId);
    users.set(containerId, how);
    if (first) {
      this.deps.eventLog?.publish("volume", "mount", name, {
        container: containerId,
        destination: how.destination,
        driver: record.Driver,
        propagation: how.propagation,
        "read/write": String(how.rw),
      });
    }
    return data;
  }

  /** The container stopped: its volumes are released, and an options volume nobody uses is unmounted. */
  unmountFor(containerId: string): void {
    for (const [name, users] of this.active) {
      if (!users.delete(containerId)) continue;
      const record = this.deps.store.get(name);
      this.deps.eventLog?.publish("volume", "unmount", name, { container: containerId, driver: record?.Driver ?? "local" });
      if (users.size === 0) {
        this.active.delete(name);
        this.unmountIdle(name);
      }
    }
  }

  private unmountIdle(name: string): void {
    const record = this.deps.store.get(name);
    const data = this.dataPath(name);
    if (!record?.Options?.type || !isMountPoint(data)) return;
    try {
      unmountAll(data);
    } catch (err) {
      this.deps.log.warn({ volume: name, err: errorMessage(err) }, "volume unmount failed");
    }
  }

  /**
   * After a daemon restart: the running containers' volumes count as mounted again, and an
   * options volume left mounted with no running user (a crash) is unmounted.
   */
  restore(running: Array<{ containerId: string; volumes: Array<{ name: string; destination: string; rw: boolean; propagation: string }> }>): void {
    this.active.clear();
    for (const c of running) {
      for (const v of c.volumes) {
        if (!this.deps.store.get(v.name)) continue;
        let users = this.active.get(v.name);
        if (!users) this.active.set(v.name, (users = new Map()));
        users.set(c.containerId, { destination: v.destination, rw: v.rw, propagation: v.propagation });
      }
    }
    for (const record of this.list()) if (!this.active.has(record.Name)) this.unmountIdle(record.Name);
  }

  /** Docker's copy-up for a volume mounted at `dest` of the container root `rootfs` (only into an empty volume). */
  async populate(name: string, rootfs: string, dest: string): Promise<CopyUpResult> {
    const record = this.get(name);
    // An options volume (tmpfs, a device) only exists while mounted: a copy would be thrown away.
    if (record.Options?.type) return "no-source";
    return copyUp(rootfs, dest, this.dataPath(name));
  }
}

/** Docker's CreatedAt: RFC 3339 in local time with the zone offset ("Z" for UTC). */
function rfc3339(d: Date): string {
  const offset = -d.getTimezoneOffset();
  const local = new Date(d.getTime() + offset * 60000).toISOString().slice(0, 19);
  if (offset === 0) return `${local}Z`;
  const sign = offset > 0 ? "+" : "-";
  const abs = Math.abs(offset);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}
