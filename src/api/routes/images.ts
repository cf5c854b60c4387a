import type { ServerResponse } from "node:http";
import { hostArchitecture } from "../../engine/images/config";
import type { ImageService } from "../../engine/images/image-service";
import { importImage } from "../../engine/images/import";
import { loadImages } from "../../engine/images/load";
import { decodeRegistryAuth } from "../../engine/distribution/auth";
import type { ProgressMessage } from "../../engine/progress";
import { listTags, pullImage } from "../../engine/distribution/pull";
import type { Distribution } from "../../engine/distribution/registries";
import { pushImage } from "../../engine/distribution/push";
import { planSave, writeSave } from "../../engine/images/save";
import { LEGACY_CONFIG_DEFAULTS, ZERO_TIME, type ImageInspect } from "../../engine/images/views";
import { errorMessage, InvalidParameterError, isWharfError, NotFoundError } from "../../lib/errors";
import {
  familiarString,
  parseDigest,
  parseNormalizedNamed,
  repoTagReference,
  tagNameOnly,
  trimNamed,
  withDigest,
  withTag,
  type Reference,
} from "../../lib/reference";
import { boolParam, filtersParam, JsonStream, requestBody, sendEmpty, sendJson, type RequestContext, type Router } from "../router";

/**
 * The Docker Engine API image endpoints. Specific /images/{name}/... routes are registered
 * before the greedy DELETE /images/{name} (names contain slashes).
 */
export function registerImageRoutes(router: Router, images: ImageService, registries: Distribution): void {
  router.get("/images/json", (ctx) => listImages(ctx, images));
  router.post("/images/create", (ctx) => createImage(ctx, images, registries));
  router.post("/images/load", (ctx) => load(ctx, images));
  router.get("/images/get", (ctx) => save(ctx, images, ctx.query.getAll("names")));
  router.post("/images/prune", async (ctx) => sendJson(ctx.res, 200, await images.prune(filtersParam(ctx.query))));
  router.get("/images/:name*/json", async (ctx) => sendJson(ctx.res, 200, inspectForVersion(images.inspect(ctx.params.name), ctx.apiVersion)));
  router.get("/images/:name*/history", async (ctx) => sendJson(ctx.res, 200, images.history(ctx.params.name)));
  router.post("/images/:name*/tag", (ctx) => tagImage(ctx, images));
  router.post("/images/:name*/push", (ctx) => push(ctx, images, registries));
  router.get("/images/:name*/get", (ctx) => save(ctx, images, [ctx.params.name]));
  router.delete("/images/:name*", async (ctx) => {
    const name = ctx.params.name;
    if (name.trim() === "") throw new InvalidParameterError("image name cannot be blank");
    const force = boolParam(ctx.query, "force");
    const noprune = boolParam(ctx.query, "noprune");
    sendJson(ctx.res, 200, await images.remove(name, { force, noprune }));
  });
}


/** a < b for API versions such as "1.41" and "1.44". */
function versionLess(a: string, b: string): boolean {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x !== y) return x < y;
  }
  return false;
}

async function listImages(ctx: RequestContext, images: ImageService): Promise<void> {
  const filters = filtersParam(ctx.query);
  const legacyFilter = ctx.query.get("filter");
  if (legacyFilter && versionLess(ctx.apiVersion, "1.41")) filters.set("reference", [...(filters.get("reference") ?? []), legacyFilter]);
  const list = images.list({ all: boolParam(ctx.query, "all"), filters });
  const useNone = versionLess(ctx.apiVersion, "1.43");
  const withVirtualSize = versionLess(ctx.apiVersion, "1.44");
  const body = list.map((img) => {
    const out: Record<string, unknown> = { ...img };
    if (useNone && img.RepoTags.length === 0 && img.RepoDigests.length === 0) {
      out.RepoTags = ["<none>:<none>"];
      out.RepoDigests = ["<none>@<none>"];
    }
    if (withVirtualSize) out.VirtualSize = img.Size;
    return out;
  });
  sendJson(ctx.res, 200, body);
}

/** Older clients get the fields Docker sent them (see moby's image inspect router). */
function inspectForVersion(inspect: ImageInspect, version: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...inspect };
  if (versionLess(version, "1.50")) out.Config = { ...LEGACY_CONFIG_DEFAULTS, ...inspect.Config };
  if (!versionLess(version, "1.45")) {
    delete out.Container;
    delete out.ContainerConfig;
  }
  if (versionLess(version, "1.44")) {
    out.VirtualSize = inspect.Size;
    if (!inspect.Created) out.Created = ZERO_TIME;
  }
  return out;
}

async function createImage(ctx: RequestContext, images: ImageService, registries: Distribution): Promise<void> {
  const fromImage = ctx.query.get("fromImage") ?? "";
  const fromSrc = ctx.query.get("fromSrc") ?? "";
  const repo = ctx.query.get("repo") ?? "";
  const tag = ctx.query.get("tag") ?? "";
  try {
    checkPlatform(ctx.query.get("platform") ?? "");
    if (fromImage !== "") return await pull(ctx, images, registries, fromImage, tag);
    if (fromSrc === "") throw new InvalidParameterError("fromImage or fromSrc is required");
    if (fromSrc !== "-") {
      throw new InvalidParameterError(`importing from a URL (${fromSrc}) is not supported yet: send the tar as the request body with fromSrc=-`);
    }
    const record = await importImage(images, requestBody(ctx.req), {
      repo,
      tag,
      message: ctx.query.get("message") || `Imported from ${fromSrc}`,
      changes: ctx.query.getAll("changes"),
    });
    const stream = new JsonStream(ctx.res);
    stream.write({ status: record.id });
    stream.end();
  } finally {
    // A refused request leaves its body unread; drain it so the connection can answer.
    if (!ctx.req.readableEnded) ctx.req.resume();
  }
}

function checkPlatform(platform: string): void {
  if (platform === "") return;
  const [os, arch] = platform.toLowerCase().split("/");
  if (os !== "linux" || (arch !== undefined && arch !== hostArchitecture())) {
    throw new InvalidParameterError(`platform ${platform} is not supported: this daemon runs linux/${hostArchitecture()} images`);
  }
}

/** The reference a pull names: fromImage plus `tag` (a tag or a digest); no tag at all means every tag. */
function pullReference(fromImage: string, tag: string): { ref: Reference; allTags: boolean } {
  let ref: Reference = parseNormalizedNamed(fromImage.replace(/:$/, ""));
  if (tag !== "") {
    let isDigest = true;
    try {
      parseDigest(tag);
    } catch {
      isDigest = false;
    }
    ref = isDigest ? withDigest(trimNamed(ref), tag) : withTag(ref, tag);
  }
  return { ref, allTags: ref.tag === undefined && ref.digest === undefined };
}

/**
 * A registry transfer (pull, push) as Docker streams it: the JSON stream starts with the
 * first progress message, so a failure before it is an HTTP error (Docker's 404 for a missing
 * image) and a later one goes into the stream. The signal aborts when the client leaves.
 */
async function transfer(ctx: RequestContext, work: (progress: (message: ProgressMessage | Record<string, unknown>) => void, signal: AbortSignal) => Promise<void>): Promise<void> {
  const abort = new AbortController();
  ctx.res.once("close", () => abort.abort());
  let stream: JsonStream | undefined;
  const progress = (message: ProgressMessage | Record<string, unknown>): void => {
    stream ??= new JsonStream(ctx.res);
    stream.write({ ...message });
  };
  try {
    await work(progress, abort.signal);
  } catch (err) {
    if (!stream) throw err;
    stream.error(errorMessage(err));
  }
  stream?.end();
}

/** POST /images/create?fromImage=: a pull from the registry the name says (every tag when none is given). */
async function pull(ctx: RequestContext, images: ImageService, registries: Distribution, fromImage: string, tag: string): Promise<void> {
  const { ref, allTags } = pullReference(fromImage, tag);
  const credentials = decodeRegistryAuth(ctx.req.headers["x-registry-auth"]);
  await transfer(ctx, async (progress, signal) => {
    const base = { ...registries, credentials, progress, signal, platform: { os: "linux", architecture: hostArchitecture() } };
    const tags = allTags ? await listTags(ref, base) : [ref.tag ?? ref.digest ?? "latest"];
    for (const t of tags) await pullImage(images, { ...base, ref: allTags ? withTag(ref, t) : tagNameOnly(ref) });
  });
}

/** POST /images/{name}/push?tag=: the tag given, or every local tag of the repository. */
async function push(ctx: RequestContext, images: ImageService, registries: Distribution): Promise<void> {
  const name = parseNormalizedNamed(ctx.params.name);
  if (name.digest) throw new InvalidParameterError("cannot push a digest reference");
  const tag = ctx.query.get("tag") || name.tag;
  const refs = tag ? [withTag(trimNamed(name), tag)] : images.tagsByName(name).map((t) => t.ref);
  if (refs.length === 0 || (tag && !images.lookupRef(refs[0]))) {
    throw new NotFoundError(`An image does not exist locally with the tag: ${familiarString(tag ? refs[0] : name)}`);
  }
  const credentials = decodeRegistryAuth(ctx.req.headers["x-registry-auth"]);
  await transfer(ctx, async (progress, signal) => {
    for (const ref of refs) {
      const pushed = await pushImage(images, { ...registries, ref, credentials, progress, signal });
      progress({ progressDetail: {}, aux: { Tag: ref.tag, Digest: pushed.digest, Size: pushed.size } });
    }
  });
}

async function load(ctx: RequestContext, images: ImageService): Promise<void> {
  const quiet = boolParam(ctx.query, "quiet", true);
  // As Docker: the status is 200 once loading starts; failures are reported in the stream.
  const stream = new JsonStream(ctx.res);
  try {
    const result = await loadImages(images, requestBody(ctx.req), quiet ? undefined : (m) => stream.write({ ...m }));
    for (const message of result.messages) stream.write({ stream: `${message}\n` });
  } catch (err) {
    stream.error(errorMessage(err));
    if (!ctx.req.readableEnded) ctx.req.resume();
  }
  stream.end();
}

async function save(ctx: RequestContext, images: ImageService, names: string[]): Promise<void> {
  if (names.length === 0 || names.some((n) => n.trim() === "")) throw new InvalidParameterError("no image name given");
  const plan = planSave(images, names); // 404/400 before any byte is sent
  const pack = writeSave(images, plan);
  const res: ServerResponse = ctx.res;
  res.writeHead(200, { "Content-Type": "application/x-tar" });
  await new Promise<void>((resolve) => {
    pack.on("error", (err: Error) => {
      // Headers are gone: cutting the connection is the only way to tell the client.
      res.destroy(err);
      resolve();
    });
    res.on("close", () => {
      pack.destroy();
      resolve();
    });
    res.on("finish", () => resolve());
    pack.pipe(res);
  });
}

async function tagImage(ctx: RequestContext, images: ImageService): Promise<void> {
  const ref = repoTagReference(ctx.query.get("repo") ?? "", ctx.query.get("tag") ?? "");
  if (!ref) throw new InvalidParameterError("repository name must have at least one component");
  try {
    images.resolveId(ctx.params.name);
  } catch (err) {
    // Docker answers 404 for any source it cannot find, even a malformed one.
    if (isWharfError(err)) throw new NotFoundError(err.message);
    throw err;
  }
  images.tag(ctx.params.name, ref);
  sendEmpty(ctx.res, 201);
}
