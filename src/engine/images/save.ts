import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import * as tar from "tar-stream";
import { digestHex, sha256 } from "../../lib/digest";
import { NotFoundError, SystemError } from "../../lib/errors";
import {
  familiarName,
  familiarString,
  fullString,
  isNameOnly,
  parseAnyReference,
  tagNameOnly,
  type Reference,
} from "../../lib/reference";
import type { ImageService } from "./image-service";
import type { ImageRecord } from "./types";

/**
 * `docker save`: one or more images into a tar that both generations of `docker load` take:
 * the Docker 1.10+ layout (manifest.json, <id>.json configs, <layer>/layer.tar + VERSION + json,
 * repositories) that Docker 20.10 reads, and an OCI image layout (oci-layout, index.json,
 * blobs/sha256/...) as Docker 25+ writes. Each layer's bytes are stored once, in blobs/; the
 * legacy layer.tar entries are symlinks to them (Docker itself links duplicate layers so).
 * Layers are the exact tars they were unpacked from, so save -> load keeps every image id.
 * Output is deterministic: sorted names, fixed times and owners.
 */

export interface SavePlan {
  images: Array<{ record: ImageRecord; tags: Reference[] }>;
}

/** Resolves names as Docker does; throws (404/400) before anything is written. */
export function planSave(images: ImageService, names: string[]): SavePlan {
  const plan = new Map<string, { record: ImageRecord; tags: Reference[] }>();
  const add = (id: string, ref?: Reference): void => {
    let entry = plan.get(id);
    if (!entry) {
      const record = images.get(id);
      if (!record) throw new NotFoundError(`No such image: ${id}`);
      entry = { record, tags: [] };
      plan.set(id, entry);
    }
    if (ref && !ref.digest) {
      const tagged = tagNameOnly(ref);
      if (!entry.tags.some((t) => fullString(t) === fullString(tagged))) entry.tags.push(tagged);
    }
  };
  for (const name of names) {
    const parsed = parseAnyReference(name);
    if (parsed.kind === "digest") {
      add(images.resolveId(parsed.digest));
      continue;
    }
    const ref = parsed.ref;
    if (familiarName(ref) === "sha256") {
      add(images.resolveId(name));
    } else if (isNameOnly(ref)) {
      // A bare repository name saves every tag of it.
      const tagged = images.tagsByName(ref);
      for (const t of tagged) add(t.imageId, t.ref);
      if (tagged.length === 0) add(images.resolveId(name));
    } else {
      const id = images.lookupRef(ref) ?? images.resolveId(name);
      add(id, ref);
    }
  }
  return { images: [...plan.values()] };
}

interface Entry {
  name: string;
  type: "directory" | "file" | "symlink";
  data?: Buffer;
  linkname?: string;
  /** Streamed file: its length and digest (checked while streaming) and where to read it. */
  stream?: { size: number; digest: string; open: () => Readable };
}

const EPOCH = new Date(0);
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar";

/** Streams the archive for a plan. Errors (a layer blob gone) destroy the stream. */
export function writeSave(images: ImageService, plan: SavePlan): tar.Pack {
  const entries = buildEntries(images, plan);
  const pack = tar.pack();
  (async () => {
    for (const entry of entries) await addEntry(pack, entry);
    pack.finalize();
    for (const image of plan.images) images.publish("save", image.record.id);
  })().catch((err: Error) => pack.destroy(err));
  return pack;
}

function buildEntries(images: ImageService, plan: SavePlan): Entry[] {
  const entries = new Map<string, Entry>();
  const put = (e: Entry): void => {
    if (!entries.has(e.name)) entries.set(e.name, e);
  };
  const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value) + "\n");
  put({ name: "blobs/", type: "directory" });
  put({ name: "blobs/sha256/", type: "directory" });

  const manifest: Array<{ Config: string; RepoTags: string[] | null; Layers: string[] }> = [];
  const repositories: Record<string, Record<string, string>> = {};
  const index: Array<Record<string, unknown>> = [];

  for (const { record, tags } of plan.images) {
    const configBytes = images.configBytes(record.id);
    if (sha256(configBytes) !== record.id) throw new SystemError(`stored config of ${record.id} is corrupt`);
    const configHex = digestHex(record.id);
    put({ name: `blobs/sha256/${configHex}`, type: "file", data: configBytes });
    put({ name: `${configHex}.json`, type: "file", data: configBytes });

    const layerPaths: string[] = [];
    const ociLayers: Array<Record<string, unknown>> = [];
    let parentV1: string | undefined;
    record.chainIds.forEach((chainId, i) => {
      const layer = images.snapshots.get(chainId);
      if (!layer) throw new SystemError(`layer ${chainId} of image ${record.id} is not stored`);
      if (!layer.blob || !images.content.has(layer.blob)) {
        throw new SystemError(`the tar of layer ${layer.diffId} (image ${record.id}) is not stored, so the image cannot be saved`);
      }
      const diffHex = digestHex(layer.diffId);
      put({
        name: `blobs/sha256/${diffHex}`,
        type: "file",
        stream: { size: layer.tarSize, digest: layer.diffId, open: () => images.snapshots.openLayerTar(chainId) },
      });
      // Legacy layer ids: deterministic per chain (and per image for the top layer, like Docker's v1 ids).
      const top = i === record.chainIds.length - 1;
      const v1 = createHash("sha256").update(`${parentV1 ?? ""}\n${chainId}${top ? `\n${record.id}` : ""}`).digest("hex");
      put({ name: `${v1}/`, type: "directory" });
      put({ name: `${v1}/VERSION`, type: "file", data: Buffer.from("1.0") });
      put({
        name: `${v1}/json`,
        type: "file",
        data: Buffer.from(JSON.stringify({ id: v1, ...(parentV1 ? { parent: parentV1 } : {}), created: EPOCH.toISOString(), os: record.config.os })),
      });
      put({ name: `${v1}/layer.tar`, type: "symlink", linkname: `../blobs/sha256/${diffHex}` });
      layerPaths.push(`${v1}/layer.tar`);
      ociLayers.push({ mediaType: OCI_LAYER, digest: layer.diffId, size: layer.tarSize });
      parentV1 = v1;
    });

    const ociManifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_CONFIG, digest: record.id, size: configBytes.length },
        layers: ociLayers,
      }),
    );
    const manifestDigest = sha256(ociManifest);
    put({ name: `blobs/sha256/${digestHex(manifestDigest)}`, type: "file", data: ociManifest });
    const descriptor = { mediaType: OCI_MANIFEST, digest: manifestDigest, size: ociManifest.length };
    if (tags.length === 0) index.push(descriptor);
    for (const tag of tags) {
      index.push({
        ...descriptor,
        annotations: { "io.containerd.image.name": fullString(tag), "org.opencontainers.image.ref.name": tag.tag ?? "latest" },
      });
      const repo = familiarName(tag);
      repositories[repo] ??= {};
      if (parentV1) repositories[repo][tag.tag ?? "latest"] = parentV1;
    }
    manifest.push({ Config: `${configHex}.json`, RepoTags: tags.length ? tags.map((t) => familiarString(t)) : null, Layers: layerPaths });
  }

  put({ name: "manifest.json", type: "file", data: json(manifest) });
  put({ name: "index.json", type: "file", data: json({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: index }) });
  put({ name: "oci-layout", type: "file", data: Buffer.from(JSON.stringify({ imageLayoutVersion: "1.0.0" })) });
  if (Object.keys(repositories).length) put({ name: "repositories", type: "file", data: json(repositories) });

  return [...entries.values()].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
}

function addEntry(pack: tar.Pack, e: Entry): Promise<void> {
  const base = { name: e.name, mtime: EPOCH, uid: 0, gid: 0 };
  if (e.type === "directory") return entryDone(pack, { ...base, type: "directory", mode: 0o755 });
  if (e.type === "symlink") return entryDone(pack, { ...base, type: "symlink", mode: 0o777, linkname: e.linkname });
  if (e.data) return entryDone(pack, { ...base, type: "file", mode: 0o644, size: e.data.length }, e.data);
  const src = e.stream as NonNullable<Entry["stream"]>;
  return streamEntry(pack, { ...base, type: "file", mode: 0o644, size: src.size }, src);
}

function entryDone(pack: tar.Pack, header: Partial<tar.Header> & { name: string }, data?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
    if (data) pack.entry(header, data, cb);
    else pack.entry(header, cb);
  });
}

async function streamEntry(
  pack: tar.Pack,
  header: Partial<tar.Header> & { name: string },
  src: NonNullable<Entry["stream"]>,
): Promise<void> {
  let sink!: ReturnType<tar.Pack["entry"]>;
  const done = new Promise<void>((resolve, reject) => {
    sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
  });
  const hash = createHash("sha256");
  let size = 0;
  const input = src.open();
  try {
    for await (const chunk of input) {
      const buf = chunk as Buffer;
      hash.update(buf);
      size += buf.length;
      if (size > src.size) break;
      if (!sink.write(buf)) await new Promise<void>((resolve) => sink.once("drain", () => resolve()));
    }
  } finally {
    input.destroy();
  }
  if (size !== src.size || `sha256:${hash.digest("hex")}` !== src.digest) {
    const err = new SystemError(`stored layer ${src.digest} is corrupt`);
    sink.destroy(err);
    throw err;
  }
  sink.end(undefined); // streamx types want an argument; undefined ends without data
  await done;
}
