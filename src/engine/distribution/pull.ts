import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { chainId as nextChainId, digestHex, sha256 } from "../../lib/digest";
import { InvalidParameterError, NotFoundError, SystemError } from "../../lib/errors";
import { limiter } from "../../lib/limiter";
import { familiarString, type Reference } from "../../lib/reference";
import { parseImageConfig } from "../images/config";
import type { ImageService } from "../images/image-service";
import { loadTempRoot } from "../images/load";
import type { RegistryCredentials } from "./auth";
import {
  type Descriptor,
  type ImageManifest,
  type Platform,
  LAYER_TYPES,
  MANIFEST_ACCEPT,
  MAX_MANIFEST_BYTES,
  imageManifestSchema,
  indexSchema,
  isIndex,
  pickPlatform,
} from "../images/manifest";
import type { LayerDigests } from "./layer-digests";
import { LayerProgress, type ProgressSink } from "../progress";
import { RegistryClient, RegistryError, readLimited } from "./registry-client";
import { registryClientFor } from "./registries";

/**
 * `docker pull`: manifest (through an index to this platform's manifest), config, then the
 * layers this daemon lacks — downloaded in parallel to temp files, each verified against its
 * digest and size, then unpacked in order (a layer needs its parent) by the same safe code as
 * `load`. The image is recorded only when everything is in place: an interrupted or corrupt
 * pull leaves no image and no half-stored layer (temp files go; unreferenced layers are
 * collected), and a second pull starts over cleanly.
 */

export interface PullOptions {
  /** Normalized, with a tag or a digest. */
  ref: Reference;
  platform: Platform;
  credentials?: RegistryCredentials;
  insecureRegistries: string[];
  certsDirs: string[];
  progress: ProgressSink;
  /** Aborted when the client went away: downloads stop. */
  signal?: AbortSignal;
  /** Where the pulled layers' blobs are remembered (so a push can reuse or mount them). */
  layerDigests?: LayerDigests;
}

export interface PullResult {
  id: string;
  /** Digest of the manifest (or index) the reference named. */
  digest: string;
  upToDate: boolean;
}

/** Docker's max-concurrent-downloads default. */
const CONCURRENT_DOWNLOADS = 3;
const CONFIG_MEDIA_TYPES = new Set(["application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"]);
const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

export async function pullImage(images: ImageService, opts: PullOptions): Promise<PullResult> {
  const { ref, progress } = opts;
  const client = registryClientFor(ref.domain, opts);
  const repo = ref.path;
  const scope = `repository:${repo}:pull`;
  const shown = familiarString(ref);
  // As Docker: nothing is said before the manifest is found, so a missing image is an HTTP error.
  const top = await fetchManifest(client, repo, ref.digest ?? ref.tag ?? "latest", scope, shown);
  progress({ status: `Pulling from ${ref.domain === "docker.io" ? repo : `${ref.domain}/${repo}`}`, id: ref.tag ?? ref.digest ?? "latest" });
  if (ref.digest && top.digest !== ref.digest) {
    throw new InvalidParameterError(`manifest verification failed for digest ${ref.digest}`);
  }
  let manifestJson: unknown = top.json;
  if (isIndex(top.mediaType, top.json)) {
    const index = parseWith(indexSchema, top.json, "manifest list");
    const chosen = pickPlatform(index.manifests, opts.platform);
    const want = `${opts.platform.os}/${opts.platform.architecture}${opts.platform.variant ? `/${opts.platform.variant}` : ""}`;
    if (!chosen) throw new NotFoundError(`no matching manifest for ${want} in the manifest list entries`);
    const inner = await fetchManifest(client, repo, chosen.digest, scope, shown);
    if (inner.digest !== chosen.digest) throw new InvalidParameterError(`manifest verification failed for digest ${chosen.digest}`);
    if (isIndex(inner.mediaType, inner.json)) throw new InvalidParameterError(`manifest list ${chosen.digest} points at another list: not supported`);
    manifestJson = inner.json;
  }
  const manifest = parseWith(imageManifestSchema, manifestJson, "manifest");
  checkMediaTypes(manifest);

  const configBlob = await fetchSmallBlob(client, repo, manifest.config, scope);
  const config = parseImageConfig(configBlob);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw new InvalidParameterError(`image config has ${diffIds.length} layers but its manifest lists ${manifest.layers.length}`);
  }
  const id = sha256(configBlob);
  const chainIds: string[] = [];
  for (const diffId of diffIds) chainIds.push(nextChainId(chainIds[chainIds.length - 1], diffId));

  const tmp = path.join(loadTempRoot(images.dataRoot), `pull-${randomBytes(8).toString("hex")}`);
  fs.mkdirSync(tmp, { recursive: true, mode: 0o700 });
  const lease = images.lease();
  let committed = false;
  try {
    const missing = manifest.layers.map((layer, i) => ({ layer, i })).filter(({ i }) => !images.snapshots.has(chainIds[i]));
    for (const { layer, i } of manifest.layers.map((layer, i) => ({ layer, i }))) {
      lease.add(chainIds[i]);
      if (images.snapshots.has(chainIds[i])) progress({ status: "Already exists", id: shortLayerId(layer) });
    }
    const alreadyHad = images.exists(id);
    for (const { layer } of missing) progress({ status: "Pulling fs layer", id: shortLayerId(layer) });
    const downloads = startDownloads(client, repo, scope, missing.map((m) => m.layer), tmp, opts);
    for (let n = 0; n < missing.length; n++) {
      const { layer, i } = missing[n];
      const file = await downloads[n];
      const shortId = shortLayerId(layer);
      const extracting = new LayerProgress(progress, shortId, "Extracting", layer.size);
      let read = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          read += chunk.length;
          extracting.update(read);
          cb(null, chunk);
        },
      });
      const input = fs.createReadStream(file, { highWaterMark: 1024 * 1024 }).pipe(counter);
      await images.snapshots.applyLayer(input, { parent: i > 0 ? chainIds[i - 1] : undefined, expectedDiffId: diffIds[i], expectedRawDigest: layer.digest, lease });
      await fs.promises.rm(file, { force: true });
      progress({ status: "Pull complete", id: shortId });
    }
    manifest.layers.forEach((layer, i) =>
      opts.layerDigests?.record({ diffId: diffIds[i], digest: layer.digest, size: layer.size, mediaType: layer.mediaType ?? "", registry: client.host, repository: repo }),
    );
    const tags = ref.tag ? [ref] : [];
    const repoDigest = { domain: ref.domain, path: ref.path, digest: top.digest };
    const [result] = await images.commitImages([{ config: configBlob, chainIds, tags, repoDigests: [repoDigest] }]);
    committed = true;
    progress({ status: `Digest: ${top.digest}` });
    const upToDate = alreadyHad && result.replaced.length === 0 && missing.length === 0;
    progress({ status: `Status: ${upToDate ? "Image is up to date" : "Downloaded newer image"} for ${shown}` });
    images.publish("pull", familiarString(ref), familiarString(ref));
    return { id, digest: top.digest, upToDate };
  } finally {
    lease.release();
    if (!committed) await images.gc().catch(() => undefined);
    await fs.promises.rm(tmp, { recursive: true, force: true });
  }
}

/** `pull -a`: every tag the registry lists for the repository (tags/list, following its Link pages). */
export async function listTags(ref: Reference, opts: Omit<PullOptions, "ref" | "platform" | "progress">): Promise<string[]> {
  const client = registryClientFor(ref.domain, opts);
  const scope = `repository:${ref.path}:pull`;
  const tags: string[] = [];
  let next: string | undefined = `/v2/${ref.path}/tags/list?n=1000`;
  for (let page = 0; next && page < 100; page++) {
    let res;
    try {
      res = await client.request(next, { scope });
    } catch (err) {
      throw explainPullError(err, familiarString(ref));
    }
    const body = JSON.parse((await readLimited(res, MAX_MANIFEST_BYTES)).toString("utf8")) as { tags?: unknown };
    if (Array.isArray(body.tags)) tags.push(...body.tags.filter((t): t is string => typeof t === "string"));
    const link = /<([^>]+)>\s*;\s*rel="next"/.exec(String(res.headers.link ?? ""));
    next = link ? link[1] : undefined;
  }
  return tags;
}

function shortLayerId(layer: Descriptor): string {
  return digestHex(layer.digest).slice(0, 12);
}

function parseWith<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: Array<{ path: Array<string | number>; message: string }> } } }, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new InvalidParameterError(`invalid ${what}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
}

function checkMediaTypes(manifest: ImageManifest): void {
  if (manifest.config.mediaType && !CONFIG_MEDIA_TYPES.has(manifest.config.mediaType)) {
    throw new InvalidParameterError(`unsupported config media type ${manifest.config.mediaType}: this is not a container image`);
  }
  for (const layer of manifest.layers) {
    if (layer.mediaType && !LAYER_TYPES.has(layer.mediaType)) {
      throw new InvalidParameterError(`unsupported layer media type ${layer.mediaType} (layer ${layer.digest})`);
    }
  }
}

interface FetchedManifest {
  mediaType: string | undefined;
  json: unknown;
  digest: string;
}

/** GET a manifest by tag or digest; its digest is computed here, never taken on trust. */
async function fetchManifest(client: RegistryClient, repo: string, reference: string, scope: string, shown: string): Promise<FetchedManifest> {
  let res;
  try {
    res = await client.request(`/v2/${repo}/manifests/${reference}`, { scope, accept: MANIFEST_ACCEPT });
  } catch (err) {
    throw explainPullError(err, shown);
  }
  const declared = Number(res.headers["content-length"] ?? 0);
  if (declared > MAX_MANIFEST_BYTES) {
    res.destroy();
    throw new InvalidParameterError(`manifest for ${shown} is too large (${declared} bytes; the limit is ${MAX_MANIFEST_BYTES})`);
  }
  const body = await readLimited(res, MAX_MANIFEST_BYTES).catch(() => {
    throw new InvalidParameterError(`manifest for ${shown} is too large (the limit is ${MAX_MANIFEST_BYTES} bytes)`);
  });
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch (err) {
    const start = body.subarray(0, 40).toString("utf8");
    throw new InvalidParameterError(`error parsing HTTP ${res.statusCode} response body from ${client.host}: ${(err as Error).message}: ${JSON.stringify(start)}`);
  }
  const contentType = (res.headers["content-type"] ?? "").split(";")[0].trim();
  const mediaType = typeof (json as { mediaType?: unknown }).mediaType === "string" ? (json as { mediaType: string }).mediaType : contentType || undefined;
  return { mediaType, json, digest: sha256(body) };
}

/** Docker's words for the common failures: a missing tag or repository, denied access. */
function explainPullError(err: unknown, shown: string): unknown {
  if (!(err instanceof RegistryError)) return err;
  if (err.code === "MANIFEST_UNKNOWN" || (err.status === 404 && err.code === "UNKNOWN")) {
    return new NotFoundError(`manifest for ${shown} not found: ${err.message}`);
  }
  if (err.code === "NAME_UNKNOWN") return new NotFoundError(`repository ${shown.replace(/[:@].*$/, "")} not found: ${err.message}`);
  if (err.status === 401 || err.status === 403 || err.code === "DENIED" || err.code === "UNAUTHORIZED") {
    const name = shown.replace(/(@.*|:[^/]*)$/, "");
    return new RegistryError(401, err.code, `pull access denied for ${name}, repository does not exist or may require 'docker login': ${err.message}`);
  }
  return err;
}

/** A config (or other small blob), read into memory and checked against its digest. */
async function fetchSmallBlob(client: RegistryClient, repo: string, desc: Descriptor, scope: string): Promise<Buffer> {
  if (desc.size > MAX_CONFIG_BYTES) throw new InvalidParameterError(`config blob ${desc.digest} is too large (${desc.size} bytes)`);
  const res = await client.request(`/v2/${repo}/blobs/${desc.digest}`, { scope });
  const body = await readLimited(res, MAX_CONFIG_BYTES);
  if (sha256(body) !== desc.digest) throw new InvalidParameterError(`config verification failed for digest ${desc.digest}`);
  return body;
}

/** Starts every layer download, at most CONCURRENT_DOWNLOADS at a time; one promise per layer, in order. */
function startDownloads(client: RegistryClient, repo: string, scope: string, layers: Descriptor[], dir: string, opts: PullOptions): Array<Promise<string>> {
  const run = limiter(CONCURRENT_DOWNLOADS);
  const results = layers.map((layer, i) => {
    if (i >= CONCURRENT_DOWNLOADS) opts.progress({ status: "Waiting", id: shortLayerId(layer) });
    return run(() => downloadLayer(client, repo, scope, layer, dir, opts));
  });
  // A failed download is reported where it is awaited; the others must not go unhandled.
  for (const r of results) r.catch(() => undefined);
  return results;
}

/** One blob to a temp file, hashed as it arrives; a wrong size or digest throws before it is used. */
async function downloadLayer(client: RegistryClient, repo: string, scope: string, layer: Descriptor, dir: string, opts: PullOptions): Promise<string> {
  if (opts.signal?.aborted) throw new SystemError("pull cancelled: the client went away");
  const shortId = shortLayerId(layer);
  const res = await client.request(`/v2/${repo}/blobs/${layer.digest}`, { scope });
  const file = path.join(dir, digestHex(layer.digest));
  const hash = createHash("sha256");
  const bar = new LayerProgress(opts.progress, shortId, "Downloading", layer.size);
  let received = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      received += chunk.length;
      if (received > layer.size) return cb(new InvalidParameterError(`layer ${layer.digest} is larger than its manifest says (${layer.size} bytes)`));
      hash.update(chunk);
      bar.update(received);
      cb(null, chunk);
    },
  });
  await pipeline(res as Readable, meter, fs.createWriteStream(file, { mode: 0o600 }), { signal: opts.signal });
  if (received !== layer.size) throw new InvalidParameterError(`layer ${layer.digest} is truncated: ${received} of ${layer.size} bytes`);
  opts.progress({ status: "Verifying Checksum", id: shortId });
  if (`sha256:${hash.digest("hex")}` !== layer.digest) {
    throw new InvalidParameterError(`filesystem layer verification failed for digest ${layer.digest}`);
  }
  opts.progress({ status: "Download complete", id: shortId });
  return file;
}

