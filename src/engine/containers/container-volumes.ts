import * as fs from "node:fs";
import { InvalidParameterError, SystemError, errorMessage } from "../../lib/errors";
import { resolveInRoot } from "../../lib/tar/resolve";
import type { SpecInput } from "../../runtime/types";
import type { ContainerRootfs, ImageProvider } from "../images/types";
import type { VolumeService } from "../volumes/volume-service";
import { type MountContext, type MountPoint, type MountRequest, ociMounts, planMounts } from "./mounts";
import type { ContainerRecord } from "./types";

export interface ContainerVolumesDeps {
  volumes?: VolumeService;
  images: ImageProvider;
  rootfs: ContainerRootfs;
  mountContext: MountContext;
  log: { warn(obj: object, msg?: string): void };
}

/**
 * The container side of volumes: at create the request's mounts become the record's mount
 * points (volumes created on first use, anonymous ones made, copy-up from the image); at start
 * they become OCI mounts; at exit they are released; `rm -v` and `--rm` remove anonymous ones.
 */
export class ContainerVolumes {
  constructor(private readonly deps: ContainerVolumesDeps) {}

  /** Validation only (nothing is created): Docker's errors before the container exists. */
  plan(req: MountRequest): { mounts: MountPoint[]; warnings: string[] } {
    const plan = planMounts(req, this.deps.mountContext);
    if (!this.deps.volumes && plan.mounts.some((m) => m.Type === "volume")) throw new InvalidParameterError("volumes are not available");
    return plan;
  }

  /**
   * Creates the volumes the mount points name (or new anonymous ones), holds them for the
   * container, and fills empty ones from the image. On failure the anonymous volumes made here go.
   */
  async realize(record: ContainerRecord, mounts: MountPoint[]): Promise<void> {
    const volumes = this.deps.volumes;
    if (!volumes) return;
    const made: string[] = [];
    try {
      for (const m of mounts) {
        if (m.Type !== "volume") continue;
        const existed = m.Name ? volumes.has(m.Name) : false;
        const v = volumes.create({ name: m.Name || undefined, driver: m.Driver, driverOpts: m.createOptions?.driverOpts, labels: m.createOptions?.labels });
        if (!existed && m.anonymous) made.push(v.Name);
        // A volume made for a user-namespaced container belongs to its root (binds keep the host's owners).
        if (!existed && record.IdMapping) fs.chownSync(v.Mountpoint, record.IdMapping.uidBase, record.IdMapping.gidBase);
        delete m.createOptions;
        m.Name = v.Name;
        m.Source = v.Mountpoint;
        m.Driver = v.Driver;
        volumes.hold(v.Name, record.Id);
      }
      const copies = mounts.filter((m) => m.Type === "volume" && m.copyData);
      if (copies.length) await this.copyUp(record, copies);
    } catch (err) {
      volumes.settle(record.Id);
      for (const name of made) await volumes.remove(name).catch(() => undefined);
      throw err;
    }
  }

  /** Docker copies at create, with the container's root mounted just for it. */
  private async copyUp(record: ContainerRecord, copies: MountPoint[]): Promise<void> {
    const volumes = this.deps.volumes as VolumeService;
    const { images, rootfs } = this.deps;
    const root = await rootfs.mount(record.Id, images.layerDirs(images.resolve(record.Image)));
    try {
      for (const m of copies) {
        if (m.anonymous) {
          const target = resolveInRoot(root, m.Destination, true);
          const st = fs.statSync(target, { throwIfNoEntry: false });
          if (st && !st.isDirectory()) throw new InvalidParameterError(`cannot mount volume over existing file, file exists ${target}`);
        }
        await volumes.populate(m.Name as string, root, m.Destination);
      }
    } finally {
      await rootfs.unmount(record.Id).catch((err: unknown) => this.deps.log.warn({ id: record.Id, err: errorMessage(err) }, "rootfs unmount after copy-up failed"));
    }
  }

  /** The record is saved: its mount points are the volumes' references from now on. */
  settle(containerId: string): void {
    this.deps.volumes?.settle(containerId);
  }

  /** OCI mounts for a starting container; volumes with mount options are mounted now. */
  attach(record: ContainerRecord): SpecInput["extraMounts"] {
    const volumes = this.deps.volumes;
    return ociMounts(record.MountPoints ?? [], (m) => {
      if (!volumes || !m.Name) throw new SystemError(`volume for ${m.Destination} is missing`);
      return volumes.mount(m.Name, record.Id, { destination: m.Destination, rw: m.RW, propagation: m.Propagation });
    });
  }

  /** The container stopped (or failed to start): its volumes are released. */
  release(containerId: string): void {
    this.deps.volumes?.unmountFor(containerId);
  }

  /** `rm -v` / `--rm`: the container's anonymous volumes go, unless another container still uses one. */
  async removeAnonymous(record: ContainerRecord): Promise<void> {
    const volumes = this.deps.volumes;
    if (!volumes) return;
    for (const m of record.MountPoints ?? []) {
      if (m.Type !== "volume" || !m.anonymous || !m.Name) continue;
      await volumes.remove(m.Name).catch((err: unknown) => this.deps.log.warn({ volume: m.Name, err: errorMessage(err) }, "anonymous volume kept"));
    }
  }

  /** After a daemon restart: running containers' volumes count as mounted again. */
  restore(records: ContainerRecord[]): void {
    this.deps.volumes?.restore(
      records
        .filter((r) => r.State.Running)
        .map((r) => ({
          containerId: r.Id,
          volumes: (r.MountPoints ?? []).filter((m) => m.Type === "volume" && m.Name).map((m) => ({ name: m.Name as string, destination: m.Destination, rw: m.RW, propagation: m.Propagation })),
        })),
    );
  }
}
