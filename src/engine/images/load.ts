import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Transform, type Readable } from "node:stream";
import { z } from "zod";
import { chainId as nextChainId, digestHex, digestOfStream, sha256 } from "../../lib/digest";
import { LayerProgress, type ProgressSink } from "../progress";
import { InvalidParameterError } from "../../lib/errors";
import { familiarString, parseNormalizedNamed, tagNameOnly, type Reference } from "../../lib/reference";
import { decompress } from "../../lib/tar/decompress";
import { archivePath, extractArchive, readArchiveFile } from "./archive";
import { type Descriptor, LAYER_TYPES, MEDIA, imageManifestSchema, indexSchema } from "./manifest";
import { hostArchitecture, parseImageConfig } from "./config";
import type { ImageService, NewImageSpec } from "./image-service";

/**
 * `docker load`: a `docker save` archive (manifest.json + config + layer tars, Docker 20.10 and
 * 25+) or an OCI image layout (oci-layout + index.json + blobs), plain or gzip. Every digest is
 * checked, every path stays inside the archive, and nothing is recorded unless every image in
 * the archive is valid: a corrupt archive changes nothing already stored.
 */

export interface LoadResult {
  images: Array<{ id: string; tags: string[] }>;
  /** Lines for the client, as Docker prints them ("Loaded image: busybox:latest"). */
  messages: string[];
}

interface LayerSource {
  file: string;
  diffId: string;
  /** Digest of the file as stored in the archive (maybe compressed), when the archive says it. */
  rawDigest?: string;
}

interface PendingImage {
  config: Buffer;
  layers: LayerSource[];
  tags: Reference[];
}

const dockerManifestSchema = z.array(
  z
    .object({
      Config: z.string().min(1),
      RepoTags: z.array(z.string()).nullable().optional(),
      Layers: z.array(z.string().min(1)),
    })
    .passthrough(),
);

function invalid(message: string): InvalidParameterError {
  return new InvalidParameterError(`invalid archive: ${message}`);
}

function parseJson<T>(raw: Buffer, schema: z.ZodType<T, z.ZodTypeDef, unknown>, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString("utf8"));
  } catch (err) {
    throw invalid(`${what} is not JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(`${what}: ${issue.path.join(".") || "document"}: ${issue.message}`);
  }
  return parsed.data;
}

/** The temp area for archives being loaded; cleared when the image service starts. */
export function loadTempRoot(dataRoot: string): string {
  return path.join(dataRoot, "tmp", "images");
}

/** `progress` gets Docker's "Loading layer" bars (a client that asked for quiet passes none). */
export async function loadImages(images: ImageService, input: Readable, progress?: ProgressSink): Promise<LoadResult> {
  const tmpRoot = loadTempRoot(images.dataRoot);
  fs.mkdirSync(tmpRoot, { recursive: true, mode: 0o700 });
  const dir = path.join(tmpRoot, `load-${randomBytes(8).toString("hex")}`);
  fs.mkdirSync(dir, { mode: 0o700 });
  const lease = images.lease();
  let committed = false;
  try {
    await extractArchive(input, dir);
    const pending = readArchive(dir);
    if (pending.length === 0) throw invalid("no images found");
    const specs: NewImageSpec[] = [];
    for (const image of pending) specs.push(await unpack(images, image, lease, progress));
    const results = await images.commitImages(specs);
    committed = true;
    for (const r of results) images.publish("load", r.record.id);
    const messages: string[] = [];
    for (const r of results) {
      for (const moved of r.replaced) {
        messages.push(`The image ${moved.ref} already exists, renaming the old one with ID ${moved.oldId} to empty string`);
      }
    }
    const loaded = results.map((r, i) => ({ id: r.record.id, tags: specs[i].tags?.map((t) => familiarString(tagNameOnly(t))) ?? [] }));
    for (const image of loaded) {
      if (image.tags.length === 0) messages.push(`Loaded image ID: ${image.id}`);
      for (const tag of image.tags) messages.push(`Loaded image: ${tag}`);
    }
    return { images: loaded, messages };
  } finally {
    lease.release();
    if (!committed) await images.gc().catch(() => undefined);
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

/** Works out what the archive contains, checking everything but the layer contents. */
function readArchive(root: string): PendingImage[] {
  if (fs.existsSync(path.join(root, "manifest.json"))) return readDockerArchive(root);
  if (fs.existsSync(path.join(root, "index.json"))) return readOciLayout(root);
  if (fs.existsSync(path.join(root, "repositories"))) {
    throw invalid("legacy (pre Docker 1.10) archives without manifest.json are not supported");
  }
  throw invalid("no manifest.json or index.json found");
}

function readDockerArchive(root: string): PendingImage[] {
  const manifest = parseJson(readArchiveFile(archivePath(root, "manifest.json", "manifest.json"), "manifest.json"), dockerManifestSchema, "manifest.json");
  return manifest.map((item, n) => {
    const configFile = archivePath(root, item.Config, "config");
    const config = readArchiveFile(configFile, "config");
    // Docker names configs after their digest (<hex>.json, blobs/sha256/<hex>): check it.
    const named = /(?:^|\/)([a-f0-9]{64})(?:\.json)?$/.exec(item.Config);
    if (named && sha256(config) !== `sha256:${named[1]}`) {
      throw invalid(`config ${item.Config} does not match its digest`);
    }
    const parsed = checkConfig(config, `image ${n + 1}`);
    if (parsed.rootfs.diff_ids.length !== item.Layers.length) {
      throw invalid(`layers length mismatch: expected ${parsed.rootfs.diff_ids.length}, got ${item.Layers.length}`);
    }
    const layers = item.Layers.map((name, i) => {
      const blob = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name);
      return {
        file: archivePath(root, name, "layer"),
        diffId: parsed.rootfs.diff_ids[i],
        rawDigest: blob ? `sha256:${blob[1]}` : undefined,
      };
    });
    const tags = (item.RepoTags ?? []).map((t) => {
      const ref = parseNormalizedNamed(t);
      if (!ref.tag || ref.digest) throw invalid(`invalid tag ${JSON.stringify(t)}`);
      return ref;
    });
    return { config, layers, tags };
  });
}

function readOciLayout(root: string): PendingImage[] {
  const layout = parseJson(
    readArchiveFile(archivePath(root, "oci-layout", "oci-layout"), "oci-layout"),
    z.object({ imageLayoutVersion: z.string() }).passthrough(),
    "oci-layout",
  );
  if (layout.imageLayoutVersion !== "1.0.0") throw invalid(`unsupported OCI layout version ${layout.imageLayoutVersion}`);
  const index = parseJson(readArchiveFile(archivePath(root, "index.json", "index.json"), "index.json"), indexSchema, "index.json");
  const byManifest = new Map<string, PendingImage>();
  for (const desc of index.manifests) {
    const manifestDesc = pickManifest(root, desc);
    let image = byManifest.get(manifestDesc.digest);
    if (!image) {
      image = readOciImage(root, manifestDesc);
      byManifest.set(manifestDesc.digest, image);
    }
    const ref = annotatedName(desc.annotations ?? {});
    if (ref && !image.tags.some((t) => familiarString(t) === familiarString(ref))) image.tags.push(ref);
  }
  return [...byManifest.values()];
}

/** Reads a blob named by a descriptor, checking its size and digest. */
function readBlob(root: string, desc: Descriptor, what: string): Buffer {
  const data = readArchiveFile(blobPath(root, desc, what), what);
  if (data.length !== desc.size) throw invalid(`${what} ${desc.digest}: size ${data.length} does not match ${desc.size}`);
  if (sha256(data) !== desc.digest) throw invalid(`${what} ${desc.digest} does not match its digest`);
  return data;
}

function blobPath(root: string, desc: Descriptor, what: string): string {
  return archivePath(root, `blobs/sha256/${desc.digest.slice(7)}`, what);
}

/** An index entry may itself be an index (multi-platform): take this machine's platform. */
function pickManifest(root: string, desc: Descriptor, depth = 0): Descriptor {
  if (desc.mediaType !== MEDIA.ociIndex && desc.mediaType !== MEDIA.dockerList) return desc;
  if (depth > 4) throw invalid("nested indexes are too deep");
  const nested = parseJson(readBlob(root, desc, "index"), indexSchema, `index ${desc.digest}`);
  const arch = hostArchitecture();
  const match =
    nested.manifests.find((m) => m.platform?.os === "linux" && m.platform.architecture === arch) ??
    (nested.manifests.length === 1 && !nested.manifests[0].platform ? nested.manifests[0] : undefined);
  if (!match) throw invalid(`no image for linux/${arch} in index ${desc.digest}`);
  return pickManifest(root, match, depth + 1);
}

function readOciImage(root: string, desc: Descriptor): PendingImage {
  if (desc.mediaType && desc.mediaType !== MEDIA.ociManifest && desc.mediaType !== MEDIA.dockerManifest) {
    throw invalid(`unsupported manifest media type ${desc.mediaType}`);
  }
  const manifest = parseJson(readBlob(root, desc, "manifest"), imageManifestSchema, `manifest ${desc.digest}`);
  const config = readBlob(root, manifest.config, "config");
  const parsed = checkConfig(config, `manifest ${desc.digest}`);
  if (parsed.rootfs.diff_ids.length !== manifest.layers.length) {
    throw invalid(`layers length mismatch: expected ${parsed.rootfs.diff_ids.length}, got ${manifest.layers.length}`);
  }
  const layers = manifest.layers.map((layer, i) => {
    if (layer.mediaType && !LAYER_TYPES.has(layer.mediaType)) throw invalid(`unsupported layer media type ${layer.mediaType}`);
    const file = blobPath(root, layer, "layer");
    const size = fs.statSync(file).size;
    if (size !== layer.size) throw invalid(`layer ${layer.digest}: size ${size} does not match ${layer.size}`);
    return { file, diffId: parsed.rootfs.diff_ids[i], rawDigest: layer.digest };
  });
  return { config, layers, tags: [] };
}

/**
 * The name an OCI index gives a manifest: containerd's full name annotation, else
 * org.opencontainers.image.ref.name when it is a full reference. A bare ref.name ("latest")
 * names no repository, so such an image is loaded untagged.
 */
function annotatedName(annotations: Record<string, string>): Reference | undefined {
  const candidates = [annotations["io.containerd.image.name"], annotations["org.opencontainers.image.ref.name"]];
  for (const name of candidates) {
    if (!name || !/[:/]/.test(name)) continue;
    let ref: Reference;
    try {
      ref = parseNormalizedNamed(name);
    } catch {
      continue;
    }
    if (ref.digest) continue;
    return tagNameOnly(ref);
  }
  return undefined;
}

function checkConfig(config: Buffer, what: string): ReturnType<typeof parseImageConfig> {
  const parsed = parseImageConfig(config);
  if (parsed.os !== "linux") throw invalid(`${what}: image operating system "${parsed.os}" cannot be used on this platform`);
  return parsed;
}

/** Unpacks the layers an image needs (those not stored yet), verifying every digest. */
async function unpack(images: ImageService, image: PendingImage, lease: ReturnType<ImageService["lease"]>, progress?: ProgressSink): Promise<NewImageSpec> {
  const chainIds: string[] = [];
  let parent: string | undefined;
  for (const layer of image.layers) {
    const chainId = nextChainId(parent, layer.diffId);
    lease.add(chainId);
    if (images.snapshots.has(chainId)) {
      // Already stored, so not unpacked again; the archive's copy must still be intact.
      await verifyLayerFile(layer);
    } else {
      const stored = await images.snapshots.applyLayer(withProgress(layer, progress), {
        parent,
        expectedDiffId: layer.diffId,
        expectedRawDigest: layer.rawDigest,
        lease,
      });
      if (stored.chainId !== chainId) throw invalid(`layer ${layer.diffId} unpacked to an unexpected chain`);
    }
    chainIds.push(chainId);
    parent = chainId;
  }
  return { config: image.config, chainIds, tags: image.tags };
}

/** The layer file as a stream, reporting "Loading layer" progress as it is read. */
function withProgress(layer: LayerSource, progress: ProgressSink | undefined): Readable {
  const file = fs.createReadStream(layer.file, { highWaterMark: 1024 * 1024 });
  if (!progress) return file;
  const bar = new LayerProgress(progress, digestHex(layer.diffId).slice(0, 12), "Loading layer", fs.statSync(layer.file).size);
  let read = 0;
  return file.pipe(
    new Transform({
      transform(chunk: Buffer, _enc, cb) {
        read += chunk.length;
        bar.update(read);
        cb(null, chunk);
      },
    }),
  );
}

/** Checks a layer file against the archive's digest (if given) and its diff id. */
async function verifyLayerFile(layer: LayerSource): Promise<void> {
  if (layer.rawDigest) {
    const raw = await digestOfStream(fs.createReadStream(layer.file));
    if (raw.digest !== layer.rawDigest) throw invalid(`layer digest mismatch: expected ${layer.rawDigest}, got ${raw.digest}`);
  }
  let diffId: string;
  try {
    const { stream } = await decompress(fs.createReadStream(layer.file));
    diffId = (await digestOfStream(stream)).digest;
  } catch (err) {
    if (err instanceof InvalidParameterError) throw err;
    throw invalid(`layer ${layer.diffId}: ${(err as Error).message}`);
  }
  if (diffId !== layer.diffId) throw new InvalidParameterError(`invalid diffID for layer: expected ${layer.diffId}, got ${diffId}`);
}
