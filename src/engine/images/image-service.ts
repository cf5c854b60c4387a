import * as fs from "node:fs";
import * as path from "node:path";
import { chainIds as computeChainIds, sha256 } from "../../lib/digest";
import { ConflictError, InvalidParameterError, NotFoundError, SystemError } from "../../lib/errors";
import { shortId } from "../../lib/ids";
import {
  familiarMatch,
  familiarName,
  familiarString,
  fullName,
  fullString,
  parseAnyReference,
  parseNormalizedNamed,
  tagNameOnly,
  type Reference,
} from "../../lib/reference";
import type { ContentStore } from "../../store/content";
import type { Metadata } from "../../store/metadata";
import type { LayerInfo, Lease, SnapshotStore } from "../../store/snapshots";
import { parseImageConfig, type StoredImageConfig } from "./config";
import { ImageDb, type RefRow } from "./image-store";
import type { ImageProvider, ImageRecord } from "./types";
import type { EventLog } from "../events";
import {
  danglingFilter,
  inspectConfig,
  LEGACY_CONFIG_DEFAULTS,
  labelsMatch,
  parseTimestamp,
  unixSeconds,
  validateFilters,
  ZERO_TIME,
  type DeleteItem,
  type HistoryItem,
  type ImageInspect,
  type ImageSummary,
  type PruneReport,
} from "./views";

export interface ImageServiceOptions {
  dataRoot: string;
  metadata: Metadata;
  content: ContentStore;
  snapshots: SnapshotStore;
  /** A container (in any state) created from the image, or undefined. */
  isImageInUse: (imageId: string) => string | undefined;
  /** A *running* container using the image; without it every user counts as stopped. */
  isImageInUseByRunning?: (imageId: string) => string | undefined;
  /** Where image events (tag, untag, delete, import, load, save) go. */
  eventLog?: EventLog;
}

/** An image to store: its config bytes verbatim, its layers (already unpacked), its tags. */
export interface NewImageSpec {
  config: Buffer;
  /** Chain ids bottom first; must match the config's diff_ids. */
  chainIds: string[];
  /** Tagged references to point at the image (moved from other images if needed). */
  tags?: Reference[];
  /** name@digest references (the manifest a pull came from): RepoDigests. */
  repoDigests?: Reference[];
  /** Local parent image (builds). */
  parent?: string;
}

export interface CommitResult {
  record: ImageRecord;
  /** Tags that pointed at another image before, in familiar form, with that image's id. */
  replaced: Array<{ ref: string; oldId: string }>;
}

// Docker's delete conflict kinds.
const DEPENDENT_CHILD = 1;
const RUNNING_CONTAINER = 2;
const ACTIVE_REFERENCE = 4;
const STOPPED_CONTAINER = 8;
const HARD = DEPENDENT_CHILD | RUNNING_CONTAINER;
const SOFT = ACTIVE_REFERENCE | STOPPED_CONTAINER;

interface Conflict {
  hard: boolean;
  used: boolean;
  message: string;
}

interface DeleteContext {
  records: DeleteItem[];
  reclaimed: number;
}

/**
 * Local images: names, configs, layers. Implements what the container engine needs
 * (ImageProvider) and the Docker image endpoints (list, inspect, history, tag, rmi, prune).
 */
export class ImageService implements ImageProvider {
  readonly content: ContentStore;
  readonly snapshots: SnapshotStore;
  readonly dataRoot: string;
  private readonly db: ImageDb;
  private readonly configs = new Map<string, StoredImageConfig>();

  constructor(private readonly opts: ImageServiceOptions) {
    this.content = opts.content;
    this.snapshots = opts.snapshots;
    this.dataRoot = opts.dataRoot;
    this.db = new ImageDb(opts.metadata);
    // Archives half-extracted by a load that died with the daemon.
    fs.rmSync(path.join(opts.dataRoot, "tmp", "images"), { recursive: true, force: true });
  }

  // ---- lookup -----------------------------------------------------------------------------

  /** By name[:tag], name@digest, "sha256:<id>", bare hex id or a unique id prefix. */
  resolve(refOrId: string): ImageRecord {
    return this.record(this.resolveId(refOrId));
  }

  resolveId(refOrId: string): string {
    if (refOrId.trim() === "") throw new InvalidParameterError("image name cannot be blank");
    const parsed = parseAnyReference(refOrId);
    if (parsed.kind === "digest") {
      if (this.db.get(parsed.digest)) return parsed.digest;
      throw new NotFoundError(`No such image: ${parsed.digest}`);
    }
    const id = this.db.lookupRef(refKey(parsed.ref));
    if (id && this.db.get(id)) return id;
    const hex = /^(?:sha256:)?([a-f0-9]+)$/.exec(refOrId);
    if (hex) {
      const ids = this.db.findByPrefix(`sha256:${hex[1]}`, 2);
      if (ids.length === 1) return ids[0];
    }
    throw new NotFoundError(`No such image: ${familiarString(tagNameOnly(parsed.ref))}`);
  }

  /** The image with exactly this id, if stored. */
  get(id: string): ImageRecord | undefined {
    return this.db.get(id) ? this.record(id) : undefined;
  }

  exists(id: string): boolean {
    return this.db.get(id) !== undefined;
  }

  /** Image ids a repository name ("docker.io/library/busybox") has tags for, with the tags. */
  tagsByName(ref: Reference): Array<{ imageId: string; ref: Reference }> {
    return this.db
      .refsByName(fullName(ref))
      .filter((r) => r.kind === "tag")
      .map((r) => ({ imageId: r.image_id, ref: parseNormalizedNamed(r.ref) }));
  }

  /** Looks up a fully qualified tag or digest reference. */
  lookupRef(ref: Reference): string | undefined {
    return this.db.lookupRef(refKey(ref));
  }

  layerDirs(image: ImageRecord): string[] {
    return image.chainIds.map((id) => this.snapshots.layerDir(id));
  }

  /** The stored config blob, verbatim. */
  configBytes(imageId: string): Buffer {
    return this.content.readSync(imageId);
  }

  private config(id: string): StoredImageConfig {
    let config = this.configs.get(id);
    if (!config) {
      try {
        config = JSON.parse(this.content.readSync(id).toString("utf8")) as StoredImageConfig;
      } catch (err) {
        throw new SystemError(`config of image ${id} is unreadable: ${(err as Error).message}`);
      }
      this.configs.set(id, config);
    }
    return config;
  }

  private record(id: string): ImageRecord {
    const row = this.db.get(id);
    if (!row) throw new NotFoundError(`No such image: ${id}`);
    const refs = this.db.refsOf(id);
    return {
      id,
      config: this.config(id),
      repoTags: refs.filter((r) => r.kind === "tag").map((r) => familiarString(parseNormalizedNamed(r.ref))).sort(),
      repoDigests: refs.filter((r) => r.kind === "digest").map((r) => familiarString(parseNormalizedNamed(r.ref))).sort(),
      size: row.size,
      created: row.created,
      chainIds: this.db.chainIds(id),
    };
  }

  // ---- views ------------------------------------------------------------------------------

  /** GET /images/json */
  list(opts: { all?: boolean; filters?: Map<string, string[]> } = {}): ImageSummary[] {
    const filters = opts.filters ?? new Map<string, string[]>();
    validateFilters(filters, ["before", "dangling", "label", "reference", "since", "until"]);
    const dangling = danglingFilter(filters);
    const before = (filters.get("before") ?? []).map((r) => Date.parse(this.resolve(r).created));
    const since = (filters.get("since") ?? []).map((r) => Date.parse(this.resolve(r).created));
    const until = (filters.get("until") ?? []).map((v) => parseTimestamp(v));
    const labels = filters.get("label") ?? [];
    const patterns = filters.get("reference");
    const refsByImage = groupRefs(this.db.allRefs());
    const out: Array<ImageSummary & { createdMs: number }> = [];
    for (const row of this.db.all()) {
      const created = Date.parse(row.created);
      if (before.some((b) => !(created < b)) || since.some((s) => !(created > s)) || until.some((u) => !(created < u))) continue;
      const config = this.config(row.id);
      if (labels.length && !labelsMatch(labels, config.config?.Labels)) continue;
      let refs = (refsByImage.get(row.id) ?? []).map((r) => ({ kind: r.kind, ref: parseNormalizedNamed(r.ref) }));
      if (patterns) refs = refs.filter((r) => patterns.some((p) => familiarMatch(p, r.ref)));
      const tags = refs.filter((r) => r.kind === "tag").map((r) => familiarString(r.ref)).sort();
      const digests = refs.filter((r) => r.kind === "digest").map((r) => familiarString(r.ref)).sort();
      if (tags.length === 0 && digests.length === 0) {
        if (patterns) continue;
        if (dangling === false) continue;
        // Untagged parents of other images are build intermediates, shown only with --all.
        if (!opts.all && this.db.children(row.id).length > 0) continue;
      } else if (dangling === true && tags.length > 0) continue;
      out.push({
        Containers: -1,
        Created: unixSeconds(row.created),
        Id: row.id,
        Labels: config.config?.Labels ?? {},
        ParentId: row.parent ?? "",
        RepoDigests: digests,
        RepoTags: tags,
        SharedSize: -1,
        Size: row.size,
        createdMs: created,
      });
    }
    out.sort((a, b) => b.createdMs - a.createdMs || a.Id.localeCompare(b.Id));
    return out.map(({ createdMs: _createdMs, ...summary }) => summary);
  }

  /** GET /images/{name}/json (current API shape; Container/ContainerConfig for old clients). */
  inspect(refOrId: string): ImageInspect {
    const image = this.resolve(refOrId);
    const row = this.db.get(image.id);
    const config = image.config as StoredImageConfig;
    const dirs = this.layerDirs(image);
    const data: Record<string, string> = {};
    if (dirs.length) {
      const top = dirs[dirs.length - 1];
      if (dirs.length > 1) data.LowerDir = dirs.slice(0, -1).reverse().join(":");
      data.MergedDir = path.join(path.dirname(top), "merged");
      data.UpperDir = top;
      data.WorkDir = path.join(path.dirname(top), "work");
    }
    const out: ImageInspect = {
      Id: image.id,
      RepoTags: image.repoTags,
      RepoDigests: image.repoDigests,
      Parent: row?.parent ?? "",
      Comment: config.comment ?? "",
      Created: config.created,
      DockerVersion: config.docker_version ?? "",
      Author: config.author ?? "",
      Config: inspectConfig(config.config),
      Architecture: config.architecture,
      Os: config.os,
      Size: image.size,
      GraphDriver: { Data: data, Name: "overlay2" },
      RootFS: { Type: "layers", Layers: config.rootfs.diff_ids },
      Metadata: { LastTagTime: row?.last_tag_time ?? ZERO_TIME },
      Container: config.container ?? "",
      ContainerConfig: { ...LEGACY_CONFIG_DEFAULTS, ...inspectConfig(config.container_config) },
    };
    if (config.variant) out.Variant = config.variant;
    return out;
  }

  /** GET /images/{name}/history: newest first; only the top (and local parents) have ids. */
  history(refOrId: string): HistoryItem[] {
    const image = this.resolve(refOrId);
    const config = image.config;
    const items: HistoryItem[] = [];
    let layer = 0;
    for (const h of config.history ?? []) {
      let size = 0;
      if (!h.empty_layer) {
        const chainId = image.chainIds[layer++];
        size = chainId ? this.snapshots.get(chainId)?.size ?? 0 : 0;
      }
      items.unshift({
        Id: "<missing>",
        Created: unixSeconds(h.created),
        CreatedBy: h.created_by ?? "",
        Tags: null,
        Size: size,
        Comment: h.comment ?? "",
      });
    }
    let id: string | undefined = image.id;
    for (const item of items) {
      if (!id) break;
      item.Id = id;
      const tags = this.db.refsOf(id).filter((r) => r.kind === "tag").map((r) => familiarString(parseNormalizedNamed(r.ref)));
      item.Tags = tags.length ? tags.sort() : null;
      const parent: string | null | undefined = this.db.get(id)?.parent;
      id = parent && this.db.get(parent) ? parent : undefined;
    }
    return items;
  }

  // ---- tags -------------------------------------------------------------------------------

  /** Tags `source` as `target` ("repo[:tag]" familiar or full); an existing tag moves. */
  tag(source: string, target: string | Reference): void {
    const ref = tagNameOnly(typeof target === "string" ? parseNormalizedNamed(target) : target);
    checkTaggable(ref);
    const id = this.resolveId(source);
    this.db.transaction(() => this.db.setRef(fullString(ref), fullName(ref), "tag", id));
    this.publish("tag", id, familiarString(ref));
  }

  /**
   * An image event in Docker's shape: the image's labels (while it still exists) and `name`,
   * which Docker sets to the new tag for "tag" and to the image id for the other actions.
   */
  publish(action: "tag" | "untag" | "delete" | "import" | "load" | "save" | "pull", imageId: string, name = imageId): void {
    if (!this.opts.eventLog) return;
    let labels: Record<string, string> = {};
    try {
      if (this.db.get(imageId)) labels = this.config(imageId).config?.Labels ?? {};
    } catch {
      // an unreadable config leaves the event without labels
    }
    this.opts.eventLog.publish("image", action, imageId, { ...labels, name });
  }

  // ---- removal ----------------------------------------------------------------------------

  /** DELETE /images/{name}: Docker's semantics, conflicts and messages. */
  async remove(refOrId: string, opts: { force?: boolean; noprune?: boolean } = {}): Promise<DeleteItem[]> {
    const ctx: DeleteContext = { records: [], reclaimed: 0 };
    await this.removeInto(ctx, refOrId, !!opts.force, !opts.noprune);
    return ctx.records;
  }

  private async removeInto(ctx: DeleteContext, refOrId: string, force: boolean, prune: boolean): Promise<void> {
    const imgId = this.resolveId(refOrId);
    let repoRefs = this.db.refsOf(imgId);
    let removedRepositoryRef = false;
    if (!isImageIdPrefix(imgId, refOrId)) {
      // A name was given: remove that name first, the image only if nothing else names it.
      if (!force && isSingleReference(repoRefs)) {
        const container = this.opts.isImageInUse(imgId);
        if (container) {
          throw new ConflictError(
            `conflict: unable to remove repository reference ${JSON.stringify(refOrId)} (must force) - container ${shortId(container)} is using its referenced image ${shortId(imgId)}`,
          );
        }
      }
      const parsed = tagNameOnly(parseNormalizedNamed(refOrId));
      const key = refKey(parsed);
      this.db.deleteRef(key);
      ctx.records.push({ Untagged: familiarString(parseNormalizedNamed(key)) });
      this.publish("untag", imgId);
      repoRefs = this.db.refsOf(imgId);
      if (!parsed.digest && !repoRefs.some((r) => r.kind === "tag" && r.name === fullName(parsed))) {
        // The last tag of a repository is gone: its digest references go with it.
        const remaining: RefRow[] = [];
        for (const r of repoRefs) {
          if (r.kind === "digest" && r.name === fullName(parsed)) {
            this.db.deleteRef(r.ref);
            ctx.records.push({ Untagged: familiarString(parseNormalizedNamed(r.ref)) });
            this.publish("untag", imgId);
          } else remaining.push(r);
        }
        repoRefs = remaining;
      }
      if (repoRefs.length > 0) return;
      removedRepositoryRef = true;
    } else if (isSingleReference(repoRefs)) {
      // An id was given and the image has one name (plus digests): that name goes too.
      const conflict = this.conflict(imgId, force ? HARD : HARD | (SOFT & ~ACTIVE_REFERENCE));
      if (conflict) throw conflictError(imgId, conflict);
      for (const r of repoRefs) {
        this.db.deleteRef(r.ref);
        ctx.records.push({ Untagged: familiarString(parseNormalizedNamed(r.ref)) });
        this.publish("untag", imgId);
      }
    }
    await this.deleteImage(ctx, imgId, force, prune, removedRepositoryRef);
  }

  private async deleteImage(ctx: DeleteContext, imgId: string, force: boolean, prune: boolean, quiet: boolean): Promise<void> {
    const conflict = this.conflict(imgId, force ? HARD : HARD | SOFT);
    if (conflict) {
      // Quietly keep an image that still has names or users; report one that would dangle.
      if (quiet && (!this.isDangling(imgId) || conflict.used)) return;
      throw conflictError(imgId, conflict);
    }
    const parent = this.db.get(imgId)?.parent ?? undefined;
    const refs = this.db.refsOf(imgId);
    for (const _ of refs) this.publish("untag", imgId);
    this.db.transaction(() => this.db.delete(imgId));
    for (const r of refs) ctx.records.push({ Untagged: familiarString(parseNormalizedNamed(r.ref)) });
    ctx.records.push({ Deleted: imgId });
    this.publish("delete", imgId);
    this.configs.delete(imgId);
    await this.content.delete(imgId);
    for (const layer of await this.gc()) {
      ctx.records.push({ Deleted: layer.chainId });
      ctx.reclaimed += layer.size;
    }
    if (prune && parent && this.db.get(parent)) await this.deleteImage(ctx, parent, false, true, true);
  }

  private conflict(imgId: string, mask: number): Conflict | undefined {
    if (mask & DEPENDENT_CHILD && this.db.children(imgId).length > 0) {
      return { hard: true, used: false, message: "image has dependent child images" };
    }
    if (mask & RUNNING_CONTAINER) {
      const running = this.opts.isImageInUseByRunning?.(imgId);
      if (running) return { hard: true, used: true, message: `image is being used by running container ${shortId(running)}` };
    }
    if (mask & ACTIVE_REFERENCE && this.db.refsOf(imgId).length > 0) {
      return { hard: false, used: false, message: "image is referenced in multiple repositories" };
    }
    if (mask & STOPPED_CONTAINER) {
      const container = this.opts.isImageInUse(imgId);
      if (container) return { hard: false, used: true, message: `image is being used by stopped container ${shortId(container)}` };
    }
    return undefined;
  }

  private isDangling(imgId: string): boolean {
    return this.db.refsOf(imgId).length === 0 && this.db.children(imgId).length === 0;
  }

  /** POST /images/prune: dangling images (or, with dangling=false, all unused ones). */
  async prune(filters: Map<string, string[]> = new Map()): Promise<PruneReport> {
    validateFilters(filters, ["dangling", "label", "label!", "until"]);
    const danglingOnly = danglingFilter(filters) ?? true;
    const until = (filters.get("until") ?? []).map((v) => parseTimestamp(v));
    const labels = filters.get("label") ?? [];
    const notLabels = filters.get("label!") ?? [];
    const ctx: DeleteContext = { records: [], reclaimed: 0 };
    const rows = this.db.all().sort((a, b) => Date.parse(b.created) - Date.parse(a.created));
    for (const row of rows) {
      if (!this.db.get(row.id)) continue; // removed as a parent of an earlier one
      if (danglingOnly && this.db.children(row.id).length > 0) continue;
      const refs = this.db.refsOf(row.id);
      if (danglingOnly && refs.length > 0) continue;
      if (this.opts.isImageInUse(row.id)) continue;
      const created = Date.parse(row.created);
      if (until.some((u) => !(created < u))) continue;
      const imageLabels = this.config(row.id).config?.Labels;
      if (labels.length && !labelsMatch(labels, imageLabels)) continue;
      if (notLabels.length && notLabels.some((l) => labelsMatch([l], imageLabels))) continue;
      try {
        if (refs.length === 0) await this.removeInto(ctx, row.id, false, true);
        else for (const r of refs) if (this.db.get(row.id)) await this.removeInto(ctx, fullString(parseNormalizedNamed(r.ref)), false, true);
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
      }
    }
    this.opts.eventLog?.publish("image", "prune", "", { reclaimed: String(ctx.reclaimed) });
    return { ImagesDeleted: ctx.records.length ? ctx.records : null, SpaceReclaimed: ctx.reclaimed };
  }

  /** Removes layers no image uses (nor a container, nor an operation in progress). */
  async gc(): Promise<LayerInfo[]> {
    return this.snapshots.prune(this.db.usedChainIds());
  }

  /** Records name@digest for an image (a push's manifest digest: RepoDigests). */
  addRepoDigest(imageId: string, ref: Reference): void {
    if (!ref.digest) throw new InvalidParameterError("a repo digest needs a digest");
    this.db.setRef(refKey(ref), fullName(ref), "digest", imageId);
  }

  // ---- storing new images (import, load, later pull/build) --------------------------------

  lease(): Lease {
    return this.snapshots.lease();
  }

  /**
   * Stores configs and records the images with their tags in one transaction: all or nothing.
   * Layers must already be unpacked (and leased by the caller until this returns).
   */
  async commitImages(specs: NewImageSpec[]): Promise<CommitResult[]> {
    const prepared = specs.map((spec) => {
      const config = parseImageConfig(spec.config);
      const id = sha256(spec.config);
      const expected = computeChainIds(config.rootfs.diff_ids);
      if (expected.length !== spec.chainIds.length || expected.some((c, i) => c !== spec.chainIds[i])) {
        throw new InvalidParameterError(`layers of image ${id} do not match its config`);
      }
      let size = 0;
      for (const chainId of spec.chainIds) {
        const layer = this.snapshots.get(chainId);
        if (!layer) throw new SystemError(`layer ${chainId} of image ${id} is not stored`);
        size += layer.size;
      }
      for (const tag of spec.tags ?? []) checkTaggable(tag);
      if (spec.parent && !this.db.get(spec.parent)) throw new NotFoundError(`No such image: ${spec.parent}`);
      const created = config.created ? new Date(Date.parse(config.created)).toISOString() : new Date().toISOString();
      return { spec, id, size, created };
    });
    const newBlobs: string[] = [];
    try {
      for (const p of prepared) {
        if (!this.content.has(p.id)) {
          await this.content.put(p.spec.config, p.id);
          newBlobs.push(p.id);
        }
      }
      const replaced = this.db.transaction(() =>
        prepared.map((p) => {
          this.db.insert({ id: p.id, parent: p.spec.parent, size: p.size, created: p.created, chainIds: p.spec.chainIds });
          const moved: Array<{ ref: string; oldId: string }> = [];
          for (const tag of p.spec.tags ?? []) {
            const ref = tagNameOnly(tag);
            const oldId = this.db.setRef(fullString(ref), fullName(ref), "tag", p.id);
            if (oldId) moved.push({ ref: familiarString(ref), oldId });
          }
          for (const ref of p.spec.repoDigests ?? []) this.db.setRef(refKey(ref), fullName(ref), "digest", p.id);
          return moved;
        }),
      );
      return prepared.map((p, i) => ({ record: this.record(p.id), replaced: replaced[i] }));
    } catch (err) {
      for (const blob of newBlobs) if (!this.db.get(blob)) await this.content.delete(blob);
      throw err;
    }
  }
}

/** The key a reference is stored under: name@digest when digested, else name:tag. */
function refKey(ref: Reference): string {
  if (ref.digest) return fullString({ domain: ref.domain, path: ref.path, digest: ref.digest });
  return fullString(tagNameOnly(ref));
}

function checkTaggable(ref: Reference): void {
  if (familiarName(ref) === "sha256") {
    throw new InvalidParameterError("refusing to create an ambiguous tag using digest algorithm as name");
  }
  if (ref.digest) throw new InvalidParameterError("refusing to create a tag with a digest reference");
}

function conflictError(imgId: string, c: Conflict): ConflictError {
  return new ConflictError(`conflict: unable to delete ${shortId(imgId)} (${c.hard ? "cannot be forced" : "must be forced"}) - ${c.message}`);
}

function isImageIdPrefix(imageId: string, possiblePrefix: string): boolean {
  return imageId.startsWith(possiblePrefix) || imageId.slice(imageId.indexOf(":") + 1).startsWith(possiblePrefix);
}

/** True when all references are from one repository with at most one tag (Docker's rule). */
function isSingleReference(refs: RefRow[]): boolean {
  if (refs.length <= 1) return refs.length === 1;
  let single: RefRow | undefined;
  const digestNames = new Set<string>();
  for (const r of refs) {
    if (r.kind === "digest") digestNames.add(r.name);
    else if (!single) single = r;
    else return false;
  }
  single ??= refs[0];
  return digestNames.size === 1 && digestNames.has(single.name);
}

function groupRefs(rows: RefRow[]): Map<string, RefRow[]> {
  const map = new Map<string, RefRow[]>();
  for (const r of rows) {
    const list = map.get(r.image_id) ?? [];
    list.push(r);
    map.set(r.image_id, list);
  }
  return map;
}
