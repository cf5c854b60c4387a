import * as fs from "node:fs/promises";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { NotFoundError } from "../../lib/errors";
import { nativeErrno, native } from "../../lib/native";
import { nodeStream } from "../../lib/tar/pack-path";
import { packDirectory } from "../../lib/tar/write";
import { containerOwners } from "./mapped-ownership";
import { repoTagReference } from "../../lib/reference";
import { applyChanges } from "../images/changes";
import { hostArchitecture } from "../images/config";
import type { ImageService } from "../images/image-service";
import type { ImageRuntimeConfig } from "../images/types";
import type { SnapshotStore } from "../../store/snapshots";
import type { ContainerService } from "./container-service";
import type { ContainerRecord } from "./types";

/** A change of `docker diff`: Kind 0 = modified (C), 1 = added (A), 2 = deleted (D). */
export interface Change {
  Path: string;
  Kind: 0 | 1 | 2;
}

const S_IFMT = 0o170000;
const S_IFCHR = 0o020000;

async function existsInLower(lowerDirs: string[], rel: string): Promise<boolean> {
  for (const dir of lowerDirs) {
    try {
      await fs.lstat(path.join(dir, rel));
      return true;
    } catch {
      // not in this layer
    }
  }
  return false;
}

function isOpaque(dir: string): boolean {
  try {
    return native().lgetxattr(dir, "trusted.overlay.opaque")?.toString() === "y";
  } catch (err) {
    if (nativeErrno(err) !== undefined) return false;
    throw err;
  }
}

/**
 * The container's own changes (its filesystem, its image, and the writes between them), for
 * diff, export and commit. Reads the overlay upper directory; never writes into the container.
 */
export class ContainerFilesystem {
  constructor(
    private readonly deps: { containers: ContainerService; images: ImageService; snapshots: SnapshotStore },
  ) {}

  private lowerDirs(record: ContainerRecord): string[] {
    try {
      return this.deps.images.layerDirs(this.deps.images.resolve(record.Image));
    } catch {
      throw new NotFoundError(`No such image: ${record.Image}`);
    }
  }

  /** docker diff: paths added, changed or deleted in the container's writable layer. */
  async changes(idOrName: string): Promise<Change[]> {
    const record = this.deps.containers.get(idOrName);
    const upper = this.deps.snapshots.upperPath(record.Id);
    const lower = this.lowerDirs(record);
    const out: Change[] = [];
    const walk = async (rel: string, underNewDir: boolean): Promise<void> => {
      let entries: import("node:fs").Dirent[];
      try {
        entries = await fs.readdir(path.join(upper, rel), { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        const childRel = path.posix.join(rel, entry.name);
        const full = path.join(upper, childRel);
        const st = await fs.lstat(full);
        if ((st.mode & S_IFMT) === S_IFCHR && st.rdev === 0) {
          out.push({ Path: `/${childRel}`, Kind: 2 });
          continue;
        }
        const inLower = !underNewDir && (await existsInLower(lower, childRel));
        out.push({ Path: `/${childRel}`, Kind: inLower ? 0 : 1 });
        if (entry.isDirectory()) await walk(childRel, !inLower || isOpaque(full));
      }
    };
    await walk("", false);
    return out.sort((a, b) => (a.Path < b.Path ? -1 : a.Path > b.Path ? 1 : 0));
  }

  /** docker export: the container's whole root filesystem as a tar stream. */
  async export(idOrName: string): Promise<Readable> {
    const record = this.deps.containers.get(idOrName);
    const merged = await this.deps.snapshots.mount(record.Id, this.lowerDirs(record));
    // Frozen while the tar is read, so nothing inside can swap a directory for a symlink to the host's files.
    const thaw = await this.deps.containers.hostAccess.freeze(record.Id);
    const stream = nodeStream(packDirectory(merged, { whiteouts: false, mapOwner: containerOwners(record.IdMapping) }));
    const release = (): void => {
      thaw();
      // A stopped container's root was mounted only for this export.
      if (!this.deps.containers.get(record.Id).State.Running) void this.deps.snapshots.unmount(record.Id).catch(() => undefined);
    };
    stream.once("end", release);
    stream.once("error", release);
    stream.once("close", release);
    return stream;
  }

  /** docker commit: the container's layer on top of its image's, with the container's config. */
  async commit(opts: {
    container: string;
    repo: string;
    tag: string;
    comment: string;
    author: string;
    pause: boolean;
    changes: string[];
    config: ImageRuntimeConfig;
  }): Promise<string> {
    const record = this.deps.containers.get(opts.container);
    const ref = repoTagReference(opts.repo, opts.tag);
    const image = this.deps.images.resolve(record.Image);
    const pause = opts.pause && record.State.Running && !record.State.Paused;
    if (pause) await this.deps.containers.pause(record.Id);
    const lease = this.deps.images.lease();
    try {
      const layer = await this.deps.snapshots.applyLayer(nodeStream(packDirectory(this.deps.snapshots.upperPath(record.Id), { whiteouts: true, mapOwner: containerOwners(record.IdMapping) })), {
        parent: image.chainIds[image.chainIds.length - 1],
        lease,
      });
      const c = record.Config;
      const base: ImageRuntimeConfig = {
        ...(image.config.config ?? {}),
        User: c.User,
        Env: c.Env,
        Cmd: c.Cmd,
        Entrypoint: c.Entrypoint,
        WorkingDir: c.WorkingDir,
        Labels: c.Labels,
        ...(c.ExposedPorts ? { ExposedPorts: c.ExposedPorts } : {}),
        ...(c.Volumes ? { Volumes: c.Volumes } : {}),
        ...(c.StopSignal ? { StopSignal: c.StopSignal } : {}),
        ...opts.config,
      };
      const runtimeConfig = applyChanges(base, opts.changes);
      const created = new Date().toISOString().replace(/\.\d+Z$/, "Z");
      const createdBy = [record.Path, ...record.Args].join(" ");
      const config = {
        architecture: hostArchitecture(),
        ...(opts.author ? { author: opts.author } : {}),
        ...(opts.comment ? { comment: opts.comment } : {}),
        config: runtimeConfig,
        container: record.Id,
        created,
        history: [
          ...(image.config.history ?? []),
          { created, created_by: createdBy, ...(opts.author ? { author: opts.author } : {}), ...(opts.comment ? { comment: opts.comment } : {}) },
        ],
        os: "linux",
        rootfs: { type: "layers", diff_ids: [...image.config.rootfs.diff_ids, layer.diffId] },
      };
      const [result] = await this.deps.images.commitImages([
        { config: Buffer.from(JSON.stringify(config)), chainIds: [...image.chainIds, layer.chainId], tags: ref ? [ref] : [], parent: image.id },
      ]);
      return result.record.id;
    } finally {
      lease.release();
      if (pause) await this.deps.containers.unpause(record.Id).catch(() => undefined);
    }
  }
}
