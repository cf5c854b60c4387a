import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Readable } from "node:stream";
import type { ContainerRootfs } from "../engine/images/types";
import { chainId as computeChainId, digestHex, isDigest } from "../lib/digest";
import { InvalidParameterError, NotFoundError, SystemError } from "../lib/errors";
import type { IdMapping } from "../lib/id-mapping";
import { native, nativeErrno } from "../lib/native";
import { applyLayer } from "../lib/tar/apply";
import type { BlobWriter, ContentStore } from "./content";
import { IdmappedLayers, type LayerSharing } from "./idmapped-layers";
import type { Metadata } from "./metadata";
import { isMountPoint, mountsUnder, unmountAll } from "./mounts";

/**
 * Unpacked layers and container root filesystems.
 *
 * A layer lives in DATAROOT/snapshots/<hex of its chain id>/fs, read-only once committed and
 * shared by every image and container above it. It is unpacked into a temp dir and renamed into
 * place only when complete, so an interrupted unpack leaves nothing half-made (temp dirs are
 * removed at startup). The layer's uncompressed tar is kept as a content blob (by diff id) so
 * `save` can reproduce it byte for byte.
 *
 * A container's writable layer lives in DATAROOT/snapshots/containers/<id>/{upper,work,merged}
 * and is mounted as overlay(lower = image layers, top first).
 */

export const LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar";

export interface LayerInfo {
  chainId: string;
  diffId: string;
  /** Chain id of the layer below, undefined for a base layer. */
  parent?: string;
  /** Bytes of file content in the unpacked layer. */
  size: number;
  /** Length of the uncompressed layer tar. */
  tarSize: number;
  /** Content-store digest of the kept layer tar, undefined if none is kept. */
  blob?: string;
  created: string;
}

export interface ApplyLayerOptions {
  /** Chain id of the layer this one goes on top of. */
  parent?: string;
  /** Refuse the layer unless its uncompressed tar has this digest. */
  expectedDiffId?: string;
  /** Refuse the layer unless the input as given (maybe compressed) has this digest. */
  expectedRawDigest?: string;
  /** Holds the new layer against garbage collection until the caller has referenced it. */
  lease?: Lease;
}

/** Keeps layers alive while an import/load that uses them is not yet committed. */
export class Lease {
  readonly chainIds = new Set<string>();
  constructor(private readonly onRelease: (lease: Lease) => void) {}
  add(chainId: string): void {
    this.chainIds.add(chainId);
  }
  release(): void {
    this.onRelease(this);
  }
}

interface LayerRow {
  chain_id: string;
  diff_id: string;
  parent: string | null;
  size: number;
  tar_size: number;
  blob: string | null;
  created: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS snapshots (
  chain_id   TEXT PRIMARY KEY,
  diff_id    TEXT NOT NULL,
  parent     TEXT,
  size       INTEGER NOT NULL,
  tar_size   INTEGER NOT NULL,
  blob       TEXT,
  media_type TEXT NOT NULL DEFAULT '${LAYER_MEDIA_TYPE}',
  created    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_blob ON snapshots(blob);
CREATE TABLE IF NOT EXISTS container_snapshots (
  container_id TEXT PRIMARY KEY,
  lowers       TEXT NOT NULL DEFAULT '[]',
  created      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS container_idmaps (
  container_id TEXT PRIMARY KEY,
  uid_base     INTEGER NOT NULL,
  gid_base     INTEGER NOT NULL,
  size         INTEGER NOT NULL
);
`;

/** Overlay's mount data is one page; past this the lower dirs are passed as short links. */
const MAX_MOUNT_DATA = 4000;
const EINVAL = 22;

export class SnapshotStore implements ContainerRootfs {
  readonly root: string;
  private readonly containersDir: string;
  private readonly metadata: Metadata;
  private readonly content: ContentStore;
  private readonly leases = new Set<Lease>();
  /** How user-namespaced containers see the shared layers (idmapped mounts or shifted copies). */
  private readonly idmappedLayers: IdmappedLayers;
  /** Whether overlay takes `volatile` here (kernel 5.10+); learnt from the first refusal. */
  private volatileMounts = true;

  constructor(opts: { dataRoot: string; metadata: Metadata; content: ContentStore; layerSharing?: LayerSharing }) {
    this.root = path.join(opts.dataRoot, "snapshots");
    this.containersDir = path.join(this.root, "containers");
    this.metadata = opts.metadata;
    this.content = opts.content;
    this.idmappedLayers = new IdmappedLayers(this.root, opts.layerSharing);
    fs.mkdirSync(this.containersDir, { recursive: true, mode: 0o710 });
    this.metadata.ensureSchema(SCHEMA);
    this.repair();
  }

  // ---- layers -----------------------------------------------------------------------------

  get(chainId: string): LayerInfo | undefined {
    const row = this.metadata.statement("SELECT * FROM snapshots WHERE chain_id = ?").get(chainId) as LayerRow | undefined;
    return row ? toInfo(row) : undefined;
  }

  has(chainId: string): boolean {
    return this.get(chainId) !== undefined;
  }

  list(): LayerInfo[] {
    return (this.metadata.statement("SELECT * FROM snapshots ORDER BY chain_id").all() as LayerRow[]).map(toInfo);
  }

  /** The unpacked directory of a layer (an overlay lower dir). */
  layerDir(chainId: string): string {
    return path.join(this.root, digestHex(chainId), "fs");
  }

  lease(): Lease {
    const lease = new Lease((l) => this.leases.delete(l));
    this.leases.add(lease);
    return lease;
  }

  /**
   * Unpacks a layer tar (plain or gzip) on top of `parent`. If that chain is already stored the
   * new copy is dropped and the stored one returned (`unpacked: false`).
   */
  async applyLayer(input: Readable, opts: ApplyLayerOptions = {}): Promise<LayerInfo & { unpacked: boolean }> {
    if (opts.parent !== undefined && !this.has(opts.parent)) {
      throw new NotFoundError(`parent layer ${opts.parent} does not exist`);
    }
    const temp = path.join(this.root, `tmp-${randomBytes(8).toString("hex")}`);
    const fsDir = path.join(temp, "fs");
    fs.mkdirSync(fsDir, { recursive: true, mode: 0o755 });
    fs.chmodSync(fsDir, 0o755);
    const blob: BlobWriter = this.content.writer();
    try {
      const result = await applyLayer(fsDir, input, { sink: (chunk) => blob.write(chunk) });
      if (opts.expectedRawDigest && result.rawDigest !== opts.expectedRawDigest) {
        throw new InvalidParameterError(`layer digest mismatch: expected ${opts.expectedRawDigest}, got ${result.rawDigest}`);
      }
      if (opts.expectedDiffId && result.diffId !== opts.expectedDiffId) {
        throw new InvalidParameterError(`invalid diffID for layer: expected ${opts.expectedDiffId}, got ${result.diffId}`);
      }
      const chainId = computeChainId(opts.parent, result.diffId);
      opts.lease?.add(chainId);
      const existing = this.get(chainId);
      if (existing) {
        await blob.abort();
        await removeTree(temp);
        return { ...existing, unpacked: false };
      }
      const { digest: blobDigest } = await blob.commit(result.diffId);
      return { ...this.commitLayer(temp, chainId, result, opts.parent, blobDigest), unpacked: true };
    } catch (err) {
      await blob.abort();
      await removeTree(temp);
      throw err;
    }
  }

  /** Synchronous so that the existence check, rename and insert cannot interleave with another commit. */
  private commitLayer(
    temp: string,
    chainId: string,
    result: { diffId: string; size: number; tarSize: number },
    parent: string | undefined,
    blob: string,
  ): LayerInfo {
    const existing = this.get(chainId);
    if (existing) {
      fs.rmSync(temp, { recursive: true, force: true });
      return existing;
    }
    const info: LayerInfo = {
      chainId,
      diffId: result.diffId,
      parent,
      size: result.size,
      tarSize: result.tarSize,
      blob,
      created: new Date().toISOString(),
    };
    const final = path.join(this.root, digestHex(chainId));
    fs.rmSync(final, { recursive: true, force: true }); // an orphan from a crash, never a committed layer
    // Directory first, row second: a crash in between leaves an orphan dir that repair() removes.
    fs.renameSync(temp, final);
    this.metadata.db
      .prepare("INSERT INTO snapshots (chain_id, diff_id, parent, size, tar_size, blob, created) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .run(info.chainId, info.diffId, info.parent ?? null, info.size, info.tarSize, info.blob ?? null, info.created);
    return info;
  }

  /** The layer as an uncompressed tar, byte-identical to what was unpacked. */
  openLayerTar(chainId: string): Readable {
    const info = this.get(chainId);
    if (!info) throw new NotFoundError(`layer ${chainId} does not exist`);
    if (!info.blob || !this.content.has(info.blob)) {
      throw new SystemError(`the tar of layer ${chainId} (diff ${info.diffId}) is not stored`);
    }
    return this.content.createReadStream(info.blob);
  }

  /** Chain ids that containers' root filesystems sit on. */
  private containerLowers(): Set<string> {
    const used = new Set<string>();
    for (const row of this.metadata.statement("SELECT lowers FROM container_snapshots").all() as Array<{ lowers: string }>) {
      for (const id of JSON.parse(row.lowers) as string[]) used.add(id);
    }
    return used;
  }

  /**
   * Removes every layer not in `keep`, not leased and not under a container, with its blob
   * when no other layer shares it. Returns what was removed (for rmi's "Deleted:" lines).
   */
  async prune(keep: Set<string>): Promise<LayerInfo[]> {
    const protectedIds = new Set([...keep, ...this.containerLowers()]);
    for (const lease of this.leases) for (const id of lease.chainIds) protectedIds.add(id);
    // A kept layer keeps everything below it.
    for (const id of [...protectedIds]) {
      let parent = this.get(id)?.parent;
      while (parent && !protectedIds.has(parent)) {
        protectedIds.add(parent);
        parent = this.get(parent)?.parent;
      }
    }
    const removed: LayerInfo[] = [];
    // Top layers first, so a parent row never disappears before its child's.
    const victims = this.list().filter((l) => !protectedIds.has(l.chainId));
    const depth = (l: LayerInfo): number => {
      let d = 0;
      for (let p = l.parent; p; p = this.get(p)?.parent) d++;
      return d;
    };
    victims.sort((a, b) => depth(b) - depth(a));
    for (const layer of victims) {
      await this.removeLayer(layer);
      removed.push(layer);
    }
    return removed;
  }

  private async removeLayer(layer: LayerInfo): Promise<void> {
    const dir = path.join(this.root, digestHex(layer.chainId));
    const trash = path.join(this.root, `tmp-del-${randomBytes(8).toString("hex")}`);
    this.metadata.statement("DELETE FROM snapshots WHERE chain_id = ?").run(layer.chainId);
    try {
      fs.renameSync(dir, trash);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    await removeTree(trash);
    if (layer.blob) {
      const shared = this.metadata.statement("SELECT 1 FROM snapshots WHERE blob = ? LIMIT 1").get(layer.blob);
      if (!shared) await this.content.delete(layer.blob);
    }
  }

  /** Startup: drop temp dirs and dirs without a row; rows without a dir are unusable and go too. */
  private repair(): void {
    const rows = new Set(this.list().map((l) => digestHex(l.chainId)));
    for (const name of fs.readdirSync(this.root)) {
      if (name === "containers" || name === "l" || name === "empty") continue;
      if (name.startsWith("tmp-") || (/^[a-f0-9]{64}$/.test(name) && !rows.has(name))) {
        fs.rmSync(path.join(this.root, name), { recursive: true, force: true });
      }
    }
    for (const name of fs.readdirSync(this.containersDir)) {
      if (name.startsWith("tmp-del-")) fs.rmSync(path.join(this.containersDir, name), { recursive: true, force: true });
    }
    for (const layer of this.list()) {
      if (!fs.existsSync(this.layerDir(layer.chainId))) {
        this.metadata.statement("DELETE FROM snapshots WHERE chain_id = ?").run(layer.chainId);
      }
    }
  }

  // ---- container root filesystems (ContainerRootfs) ----------------------------------------

  private containerDir(containerId: string): string {
    if (!/^[a-f0-9]{1,64}$/.test(containerId)) throw new InvalidParameterError(`invalid container id: ${containerId}`);
    return path.join(this.containersDir, containerId);
  }

  mergedPath(containerId: string): string {
    return path.join(this.containerDir(containerId), "merged");
  }

  /** The writable layer: what the container changed. */
  upperPath(containerId: string): string {
    return path.join(this.containerDir(containerId), "upper");
  }

  /**
   * With an id mapping the container's root is its mapped root: the upper and work dirs are
   * owned by it, its dir is searchable by its group, and every mount of its root sees the
   * layers through the mapping.
   */
  async create(containerId: string, idMapping?: IdMapping): Promise<void> {
    const dir = this.containerDir(containerId);
    for (const sub of ["upper", "work", "merged"]) {
      fs.mkdirSync(path.join(dir, sub), { recursive: true, mode: 0o755 });
    }
    fs.chmodSync(dir, 0o710);
    if (idMapping) {
      for (const sub of ["upper", "work", "merged"]) fs.chownSync(path.join(dir, sub), idMapping.uidBase, idMapping.gidBase);
      fs.chownSync(dir, 0, idMapping.gidBase);
      // The runtime walks to the root as the mapped root: the shared parents must be searchable.
      for (const parent of [this.root, this.containersDir]) fs.chmodSync(parent, fs.statSync(parent).mode | 0o001);
      this.metadata.statement("INSERT OR REPLACE INTO container_idmaps (container_id, uid_base, gid_base, size) VALUES (?, ?, ?, ?)")
        .run(containerId, idMapping.uidBase, idMapping.gidBase, idMapping.size);
    }
    this.metadata.db
      .prepare("INSERT OR IGNORE INTO container_snapshots (container_id, created) VALUES (?, ?)")
      .run(containerId, new Date().toISOString());
  }

  /** The id mapping the container's root was made for, if any. */
  idMapping(containerId: string): IdMapping | undefined {
    const row = this.metadata.statement("SELECT uid_base, gid_base, size FROM container_idmaps WHERE container_id = ?").get(containerId) as
      | { uid_base: number; gid_base: number; size: number }
      | undefined;
    return row ? { uidBase: row.uid_base, gidBase: row.gid_base, size: row.size } : undefined;
  }

  async mount(containerId: string, lowerDirs: string[], opts: { volatile?: boolean } = {}): Promise<string> {
    const dir = this.containerDir(containerId);
    const merged = path.join(dir, "merged");
    if (!fs.existsSync(path.join(dir, "upper"))) throw new NotFoundError(`no root filesystem for container ${containerId}`);
    if (isMountPoint(merged)) return merged;
    // Record which layers this container sits on, so they outlive a forced rmi of its image.
    const lowers = lowerDirs.map((d) => this.chainIdOfDir(d)).filter((id): id is string => id !== undefined);
    this.metadata.statement("UPDATE container_snapshots SET lowers = ? WHERE container_id = ?").run(JSON.stringify(lowers), containerId);
    // overlay wants at least one lower dir; an image without layers gets an empty one.
    const shared = lowerDirs.length ? lowerDirs : [this.emptyDir()];
    const idMapping = this.idMapping(containerId);
    try {
      // A mapped container's lowers: idmapped mounts of the shared layers (or shifted copies).
      const bottomFirst = idMapping ? await this.idmappedLayers.prepare(dir, shared, idMapping) : shared;
      const topFirst = [...bottomFirst].reverse();
      const upper = path.join(dir, "upper");
      const work = path.join(dir, "work");
      const volatile = opts.volatile === true && this.volatileMounts;
      const tail = `upperdir=${upper},workdir=${work}${volatile ? ",volatile" : ""}`;
      let data = `index=off,lowerdir=${topFirst.join(":")},${tail}`;
      if (data.length > MAX_MOUNT_DATA) {
        data = `index=off,lowerdir=${topFirst.map((d) => this.shortLink(d)).join(":")},${tail}`;
        if (data.length > MAX_MOUNT_DATA) throw new SystemError(`too many layers to mount (${lowerDirs.length})`);
      }
      // A volatile mount leaves this marker, and overlay refuses to mount the layer again while it
      // is there. Only a --rm container's layer has one, and that layer is never kept: going on is safe.
      fs.rmSync(path.join(work, "work", "incompat", "volatile"), { recursive: true, force: true });
      try {
        native().mount("overlay", merged, "overlay", 0, data);
      } catch (err) {
        // Kernels before 5.10 know no `volatile`: mount as usual, and stop asking.
        if (!volatile || nativeErrno(err) !== EINVAL) throw err;
        native().mount("overlay", merged, "overlay", 0, data.replace(/,volatile$/, ""));
        this.volatileMounts = false;
      }
    } catch (err) {
      this.idmappedLayers.release(dir);
      throw err;
    }
    return merged;
  }

  async unmount(containerId: string): Promise<void> {
    unmountAll(this.mergedPath(containerId));
    this.idmappedLayers.release(this.containerDir(containerId));
  }

  async remove(containerId: string): Promise<void> {
    const dir = this.containerDir(containerId);
    // Mounts the container may have left below its root (volumes, /etc files) go first.
    for (const m of mountsUnder(dir).reverse()) unmountAll(m);
    if (fs.existsSync(dir)) {
      const trash = path.join(this.containersDir, `tmp-del-${randomBytes(8).toString("hex")}`);
      fs.renameSync(dir, trash);
      await removeTree(trash);
    }
    this.metadata.statement("DELETE FROM container_snapshots WHERE container_id = ?").run(containerId);
    this.metadata.statement("DELETE FROM container_idmaps WHERE container_id = ?").run(containerId);
  }

  private chainIdOfDir(dir: string): string | undefined {
    const rel = path.relative(this.root, dir);
    const m = /^([a-f0-9]{64})\/fs$/.exec(rel);
    if (!m) return undefined;
    const id = `sha256:${m[1]}`;
    return isDigest(id) ? id : undefined;
  }

  private emptyDir(): string {
    const dir = path.join(this.root, "empty");
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    return dir;
  }

  /** A short symlink to a lower dir (like Docker's overlay2 "l/" dir) to keep mount data small. */
  private shortLink(dir: string): string {
    const links = path.join(this.root, "l");
    fs.mkdirSync(links, { recursive: true, mode: 0o700 });
    const link = path.join(links, createHash("sha256").update(dir).digest("hex").slice(0, 12));
    try {
      if (fs.readlinkSync(link) === dir) return link;
      fs.rmSync(link, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    fs.symlinkSync(dir, link);
    return link;
  }
}

function toInfo(row: LayerRow): LayerInfo {
  const info: LayerInfo = {
    chainId: row.chain_id,
    diffId: row.diff_id,
    size: row.size,
    tarSize: row.tar_size,
    created: row.created,
  };
  if (row.parent) info.parent = row.parent;
  if (row.blob) info.blob = row.blob;
  return info;
}

async function removeTree(p: string): Promise<void> {
  await fs.promises.rm(p, { recursive: true, force: true });
}
