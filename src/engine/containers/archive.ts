import * as fs from "node:fs";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { ConflictError, InvalidParameterError, NotFoundError } from "../../lib/errors";
import { MNT_DETACH, MS_BIND, MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT, native } from "../../lib/native";
import { applyLayer } from "../../lib/tar/apply";
import { packPath } from "../../lib/tar/pack-path";
import { resolveInRoot } from "../../lib/tar/resolve";
import type { ImageService } from "../images/image-service";
import type { SnapshotStore } from "../../store/snapshots";
import type { ContainerService } from "./container-service";
import type { MountPoint } from "./mounts";
import type { ContainerRecord } from "./types";
import { containerOwners, hostOwners } from "./mapped-ownership";

/** Docker's X-Docker-Container-Path-Stat: Go's os.FileMode bits for the type. */
const GO_MODE_DIR = 2 ** 31;
const GO_MODE_SYMLINK = 2 ** 27;

export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

function goMode(st: fs.Stats): number {
  let mode = st.mode & 0o777;
  if (st.isDirectory()) mode += GO_MODE_DIR;
  if (st.isSymbolicLink()) mode += GO_MODE_SYMLINK;
  return mode;
}

/**
 * docker cp's server side: stat, read (as a tar) and write (from a tar) paths of a container,
 * running or not. Every path is resolved inside the container's root, through the
 * container's own symlinks, never onto the host.
 */
export class ContainerArchive {
  constructor(private readonly deps: { containers: ContainerService; images: ImageService; snapshots: SnapshotStore }) {}

  /**
   * Mounts the root if the container is stopped, and the container's volumes and bind mounts
   * at their places under it (as Docker does for cp), so that a path inside a volume reaches
   * the volume and not the layer beneath it. Returns the root and how to let go of it all.
   */
  private async root(idOrName: string): Promise<{ root: string; release: () => void; readonly: boolean }> {
    const record = this.deps.containers.get(idOrName);
    const lower = this.deps.images.layerDirs(this.deps.images.resolve(record.Image));
    const root = fs.realpathSync(await this.deps.snapshots.mount(record.Id, lower));
    let unmountVolumes: () => void = () => undefined;
    let thaw: () => void = () => undefined;
    try {
      // From here until release, nothing inside may move paths under our walk, not even under
      // the volume mounts we place (CVE-2018-15664).
      thaw = await this.deps.containers.hostAccess.freeze(record.Id);
      unmountVolumes = mountVolumesUnder(root, [...etcFileMounts(record), ...(record.MountPoints ?? [])]);
    } catch (err) {
      thaw();
      unmountVolumes();
      if (!record.State.Running) await this.deps.snapshots.unmount(record.Id).catch(() => undefined);
      throw err;
    }
    const release = (): void => {
      thaw();
      unmountVolumes();
      if (!this.deps.containers.get(record.Id).State.Running) void this.deps.snapshots.unmount(record.Id).catch(() => undefined);
    };
    return { root, release, readonly: record.HostConfig.ReadonlyRootfs };
  }

  private resolve(root: string, name: string, containerPath: string, followFinal: boolean): string {
    if (!containerPath.startsWith("/")) containerPath = `/${containerPath}`;
    // A trailing slash names what a final symlink points to, as the kernel reads it.
    const follow = followFinal || containerPath.endsWith("/") || containerPath.endsWith("/.");
    let resolved: string;
    try {
      resolved = resolveInRoot(root, containerPath, follow);
    } catch (err) {
      throw new InvalidParameterError(`${containerPath}: ${(err as Error).message}`);
    }
    if (!fs.existsSync(resolved) && !isSymlink(resolved)) throw new NotFoundError(`Could not find the file ${containerPath} in container ${name}`);
    return resolved;
  }

  private statOf(resolved: string, containerPath: string): PathStat {
    const st = fs.lstatSync(resolved);
    return {
      name: path.basename(containerPath.replace(/\/+$/, "")) || "/",
      size: st.size,
      mode: goMode(st),
      mtime: st.mtime.toISOString(),
      linkTarget: st.isSymbolicLink() ? fs.readlinkSync(resolved) : "",
    };
  }

  async stat(idOrName: string, containerPath: string): Promise<PathStat> {
    const { root, release } = await this.root(idOrName);
    try {
      return this.statOf(this.resolve(root, idOrName, containerPath, false), containerPath);
    } finally {
      release();
    }
  }

  /** A tar of the path, its entries named from the path's base name (Docker's rebase). */
  async get(idOrName: string, containerPath: string): Promise<{ stat: PathStat; stream: Readable }> {
    const { root, release } = await this.root(idOrName);
    let stream: Readable;
    let stat: PathStat;
    try {
      const resolved = this.resolve(root, idOrName, containerPath, false);
      stat = this.statOf(resolved, containerPath);
      const rebase = containerPath.endsWith("/.") || stat.name === "/" ? "." : stat.name;
      stream = packPath(resolved, rebase, { mapOwner: containerOwners(this.deps.containers.get(idOrName).IdMapping) });
    } catch (err) {
      release();
      throw err;
    }
    stream.once("close", release);
    return { stat, stream };
  }

  /** Extracts a tar into an existing directory of the container. */
  async put(idOrName: string, containerPath: string, input: Readable, opts: { copyUIDGID: boolean }): Promise<void> {
    const record = this.deps.containers.get(idOrName);
    const points = record.MountPoints ?? [];
    // A user-namespaced container's root is its mapped root on the host (as dockerd's remapped root).
    const rootOwner = record.IdMapping ? { uid: record.IdMapping.uidBase, gid: record.IdMapping.gidBase } : { uid: 0, gid: 0 };
    const { root, release, readonly } = await this.root(idOrName);
    try {
      // Docker's checks: a read-only mount refuses, a writable one is fine even on a --read-only root.
      const mount = mountAt(points, containerPath);
      if (mount && !mount.RW) throw new ConflictError("mounted volume is marked read-only");
      if (readonly && !mount) throw new ConflictError("container rootfs is marked read-only");
      const dest = this.resolve(root, idOrName, containerPath, true);
      if (!fs.statSync(dest).isDirectory()) throw new InvalidParameterError(`extraction point is not a directory`);
      await applyLayer(dest, input, opts.copyUIDGID ? { mapOwner: hostOwners(record.IdMapping) } : { owner: rootOwner });
    } finally {
      release();
    }
  }
}

/**
 * The container's /etc/hostname, /etc/hosts and /etc/resolv.conf are the daemon's files bound
 * over the image's (once the container has run): cp must see those, as the container does.
 * An explicit mount of the same path comes later in the list and wins.
 */
function etcFileMounts(record: ContainerRecord): MountPoint[] {
  const files: Array<[string, string]> = [
    ["/etc/hostname", record.HostnamePath],
    ["/etc/hosts", record.HostsPath],
    ["/etc/resolv.conf", record.ResolvConfPath],
  ];
  return files
    .filter(([, source]) => source && fs.existsSync(source))
    .map(([destination, source]) => ({ Type: "bind", Source: source, Destination: destination, Mode: "", RW: true, Propagation: "rprivate" }));
}

/** The innermost mount whose destination holds `containerPath` (by path, as Docker decides it). */
function mountAt(points: MountPoint[], containerPath: string): MountPoint | undefined {
  const p = path.posix.normalize(`/${containerPath}`).replace(/\/+$/, "") || "/";
  let best: MountPoint | undefined;
  for (const m of points) {
    const d = path.posix.normalize(m.Destination).replace(/\/+$/, "") || "/";
    if ((p === d || p.startsWith(`${d}/`)) && (!best || d.length > best.Destination.length)) best = m;
  }
  return best;
}

/**
 * Bind-mounts each volume and bind mount (tmpfs has nothing on the host) at its destination
 * inside `root`, read-only where the mount is. The root is made private first so these mounts
 * never propagate into a running container's own view. Parents come before children.
 */
function mountVolumesUnder(root: string, points: MountPoint[]): () => void {
  const done: string[] = [];
  const undo = (): void => {
    for (const target of done.splice(0).reverse()) {
      try {
        native().umount2(target, MNT_DETACH);
      } catch {
        // already gone
      }
    }
  };
  const wanted = points.filter((m) => m.Type !== "tmpfs" && m.Source).sort((a, b) => a.Destination.split("/").length - b.Destination.split("/").length);
  if (wanted.length === 0) return undo;
  try {
    native().mount(null, root, null, MS_PRIVATE, null);
    for (const m of wanted) {
      const target = resolveInRoot(root, m.Destination, true);
      if (!fs.existsSync(target)) {
        // The mount point may not exist yet (a container that never ran): make it as runc would.
        if (fs.statSync(m.Source).isDirectory()) fs.mkdirSync(target, { recursive: true, mode: 0o755 });
        else {
          fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
          fs.closeSync(fs.openSync(target, fs.constants.O_CREAT | fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW, 0o644));
        }
      }
      native().mount(m.Source, target, null, MS_BIND | MS_REC, null);
      done.push(target);
      if (!m.RW) native().mount(null, target, null, MS_BIND | MS_REMOUNT | MS_RDONLY, null);
    }
  } catch (err) {
    undo();
    throw err;
  }
  return undo;
}

function isSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
