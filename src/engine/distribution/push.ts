import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { type Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as zlib from "node:zlib";
import { digestHex, sha256 } from "../../lib/digest";
import { InvalidParameterError } from "../../lib/errors";
import { limiter } from "../../lib/limiter";
import { familiarName, type Reference } from "../../lib/reference";
import type { ImageService } from "../images/image-service";
import { loadTempRoot } from "../images/load";
import { MEDIA } from "../images/manifest";
import type { ImageRecord } from "../images/types";
import type { RegistryCredentials } from "./auth";
import type { LayerBlob, LayerDigests } from "./layer-digests";
import { LayerProgress, type ProgressSink } from "../progress";
import { type RegistryClient, RegistryError } from "./registry-client";
import { type RegistrySettings, registryClientFor } from "./registries";

/**
 * `docker push`: each layer as a gzip blob — skipped when the registry has it, mounted from
 * another repository of the registry when a pull or push saw it there, uploaded otherwise
 * (monolithic when small, in chunks when large) — then the config, then a Docker schema-2
 * manifest, last, so the registry never holds a manifest whose blobs are missing.
 */

export interface PushOptions extends RegistrySettings {
  /** Normalized, with a tag. */
  ref: Reference;
  credentials?: RegistryCredentials;
  progress: ProgressSink;
  layerDigests: LayerDigests;
  signal?: AbortSignal;
}

const GZIP_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";
const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
/** Blobs up to this size go up in one PUT; larger ones in PATCH chunks of this size. */
const CHUNK = 8 * 1024 * 1024;
const CONCURRENT_UPLOADS = 5;

export async function pushImage(images: ImageService, opts: PushOptions): Promise<{ digest: string; size: number }> {
  const { ref, progress } = opts;
  if (!ref.tag) throw new InvalidParameterError("push needs a tag");
  const image: ImageRecord = images.resolve(`${familiarName(ref)}:${ref.tag}`);
  const client = registryClientFor(ref.domain, opts);
  const repo = ref.path;
  const scope = `repository:${repo}:pull,push`;
  progress({ status: `The push refers to repository [${ref.domain === "docker.io" ? `docker.io/${repo}` : `${ref.domain}/${repo}`}]` });

  const diffIds = image.config.rootfs.diff_ids;
  // Docker lists layers top first while pushing.
  for (let i = diffIds.length - 1; i >= 0; i--) progress({ status: "Preparing", id: shortId(diffIds[i]) });
  const tmp = path.join(loadTempRoot(images.dataRoot), `push-${randomBytes(8).toString("hex")}`);
  fs.mkdirSync(tmp, { recursive: true, mode: 0o700 });
  try {
    const run = limiter(CONCURRENT_UPLOADS);
    const layers = await Promise.all(
      diffIds.map((diffId, i) => {
        if (i >= CONCURRENT_UPLOADS) progress({ status: "Waiting", id: shortId(diffId) });
        return run(() => pushLayer(images, client, opts, { diffId, chainId: image.chainIds[i], repo, scope, tmp }));
      }),
    );
    const config = images.content.readSync(image.id);
    if (sha256(config) !== image.id) throw new InvalidParameterError(`the stored config of ${image.id} does not match its digest`);
    if (!(await blobExists(client, repo, image.id, scope))) await upload(client, repo, scope, image.id, { data: config });
    const manifest = Buffer.from(
      JSON.stringify(
        {
          schemaVersion: 2,
          mediaType: MEDIA.dockerManifest,
          config: { mediaType: DOCKER_CONFIG, size: config.length, digest: image.id },
          layers: layers.map((l) => ({ mediaType: GZIP_LAYER, size: l.size, digest: l.digest })),
        },
        null,
        3,
      ),
    );
    const digest = sha256(manifest);
    const res = await client.request(`/v2/${repo}/manifests/${ref.tag}`, { scope, method: "PUT", headers: { "Content-Type": MEDIA.dockerManifest }, body: () => manifest });
    res.resume();
    images.addRepoDigest(image.id, { domain: ref.domain, path: ref.path, digest });
    progress({ status: `${ref.tag}: digest: ${digest} size: ${manifest.length}` });
    return { digest, size: manifest.length };
  } finally {
    await fs.promises.rm(tmp, { recursive: true, force: true });
  }
}

interface LayerJob {
  diffId: string;
  chainId: string;
  repo: string;
  scope: string;
  tmp: string;
}

/** One layer: reuse a blob the registry has, mount one it has elsewhere, or compress and upload. */
async function pushLayer(images: ImageService, client: RegistryClient, opts: PushOptions, job: LayerJob): Promise<{ digest: string; size: number }> {
  const id = shortId(job.diffId);
  const known = opts.layerDigests.onRegistry(job.diffId, client.host, job.repo).filter((b) => b.mediaType.endsWith("gzip"));
  for (const blob of known) {
    if (blob.repository === job.repo) {
      if (await blobExists(client, job.repo, blob.digest, job.scope)) {
        opts.progress({ status: "Layer already exists", id });
        return blob;
      }
    } else if (await mount(client, job.repo, blob)) {
      opts.progress({ status: `Mounted from ${blob.repository}`, id });
      opts.layerDigests.record({ ...blob, repository: job.repo });
      return blob;
    }
  }
  const file = path.join(job.tmp, digestHex(job.diffId));
  const { digest, size } = await compress(images.snapshots.openLayerTar(job.chainId), file, job.diffId);
  const blob: LayerBlob = { diffId: job.diffId, digest, size, mediaType: GZIP_LAYER, registry: client.host, repository: job.repo };
  if (await blobExists(client, job.repo, digest, job.scope)) {
    opts.progress({ status: "Layer already exists", id });
  } else {
    const bar = new LayerProgress(opts.progress, id, "Pushing", size);
    await upload(client, job.repo, job.scope, digest, { file, size }, (n) => bar.update(n));
    opts.progress({ status: "Pushed", id });
  }
  opts.layerDigests.record(blob);
  await fs.promises.rm(file, { force: true });
  return blob;
}

/** The layer's tar gzip-compressed to `file`, hashed on the way; also checks the tar against its diff id. */
async function compress(tar: NodeJS.ReadableStream, file: string, diffId: string): Promise<{ digest: string; size: number }> {
  const raw = createHash("sha256");
  const packed = createHash("sha256");
  let size = 0;
  const hashRaw = new Transform({
    transform(chunk: Buffer, _e, cb) {
      raw.update(chunk);
      cb(null, chunk);
    },
  });
  const hashPacked = new Transform({
    transform(chunk: Buffer, _e, cb) {
      packed.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  await pipeline(tar, hashRaw, zlib.createGzip(), hashPacked, fs.createWriteStream(file, { mode: 0o600 }));
  if (`sha256:${raw.digest("hex")}` !== diffId) throw new InvalidParameterError(`the stored tar of layer ${diffId} does not match its diff id`);
  return { digest: `sha256:${packed.digest("hex")}`, size };
}

async function blobExists(client: RegistryClient, repo: string, digest: string, scope: string): Promise<boolean> {
  const res = await client.request(`/v2/${repo}/blobs/${digest}`, { scope, method: "HEAD", accepted: [404] });
  res.resume();
  return res.statusCode === 200;
}

/** Cross-repository mount; false when the registry would rather have an upload. */
async function mount(client: RegistryClient, repo: string, blob: LayerBlob): Promise<boolean> {
  const scope = `repository:${repo}:pull,push repository:${blob.repository}:pull`;
  const res = await client.request(`/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(blob.digest)}&from=${encodeURIComponent(blob.repository)}`, {
    scope,
    method: "POST",
    contentLength: 0,
  });
  res.resume();
  if (res.statusCode === 201) return true;
  // 202: the registry opened an upload instead; give it back.
  const location = res.headers.location;
  if (location) await client.request(location, { scope, method: "DELETE", accepted: [404] }).then((r) => r.resume(), () => undefined);
  return false;
}

/** What an upload sends: bytes in memory (a config) or a file (a compressed layer). */
type BlobSource = { data: Buffer } | { file: string; size: number };

/** POST an upload, then one PUT (small blobs) or PATCH chunks and a closing PUT (large ones). */
async function upload(client: RegistryClient, repo: string, scope: string, digest: string, source: BlobSource, onProgress?: (sent: number) => void): Promise<void> {
  const size = "data" in source ? source.data.length : source.size;
  const part = (start: number, end: number): Buffer | Readable =>
    "data" in source ? source.data.subarray(start, end + 1) : fs.createReadStream(source.file, { start, end });
  const start = await client.request(`/v2/${repo}/blobs/uploads/`, { scope, method: "POST", contentLength: 0 });
  start.resume();
  let location = uploadLocation(start);
  const withDigest = (loc: string): string => `${loc}${loc.includes("?") ? "&" : "?"}digest=${encodeURIComponent(digest)}`;
  if (size <= CHUNK) {
    const res = await client.request(withDigest(location), {
      scope,
      method: "PUT",
      headers: { "Content-Type": "application/octet-stream" },
      body: () => part(0, size - 1),
      contentLength: size,
    });
    res.resume();
    onProgress?.(size);
    return;
  }
  for (let offset = 0; offset < size; offset += CHUNK) {
    const end = Math.min(size, offset + CHUNK) - 1;
    const res = await client.request(location, {
      scope,
      method: "PATCH",
      headers: { "Content-Type": "application/octet-stream", "Content-Range": `${offset}-${end}` },
      body: () => part(offset, end),
      contentLength: end - offset + 1,
    });
    res.resume();
    location = uploadLocation(res);
    onProgress?.(end + 1);
  }
  const done = await client.request(withDigest(location), { scope, method: "PUT", contentLength: 0 });
  done.resume();
}

function uploadLocation(res: { headers: Record<string, string | string[] | undefined>; statusCode?: number }): string {
  const location = res.headers.location;
  if (typeof location !== "string" || location === "") throw new RegistryError(502, "BLOB_UPLOAD_INVALID", `the registry answered ${res.statusCode} without an upload Location`);
  return location;
}

function shortId(diffId: string): string {
  return digestHex(diffId).slice(0, 12);
}
