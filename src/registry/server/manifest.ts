/** Validation of pushed manifests: known media types, shape, and what they reference. */
import { RegistryError } from "./errors";
import { parseDigest, type ParsedDigest } from "./names";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";

export const MANIFEST_TYPES = new Set([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST]);
const INDEX_TYPES = new Set([OCI_INDEX, DOCKER_LIST]);

export interface CheckedManifest {
  mediaType: string;
  /** Blobs (config, layers) that must exist in the repository. */
  blobs: ParsedDigest[];
  /** Manifests (of an index) that must exist in the repository. */
  manifests: ParsedDigest[];
  subject?: ParsedDigest;
}

interface RawDescriptor {
  mediaType?: unknown;
  digest?: unknown;
  size?: unknown;
  urls?: unknown;
}

function invalid(message: string, detail?: unknown): RegistryError {
  return new RegistryError("MANIFEST_INVALID", message, detail);
}

function descriptor(value: unknown, where: string): { d: ParsedDigest; mediaType: string; foreign: boolean } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid(`${where}: not a descriptor`);
  const desc = value as RawDescriptor;
  if (typeof desc.mediaType !== "string" || desc.mediaType === "") throw invalid(`${where}: mediaType missing`);
  if (typeof desc.size !== "number" || !Number.isSafeInteger(desc.size) || desc.size < 0) throw invalid(`${where}: size invalid`);
  const d = typeof desc.digest === "string" ? parseDigest(desc.digest) : null;
  if (!d) throw invalid(`${where}: digest invalid`, { digest: desc.digest ?? null });
  const foreign = desc.mediaType.includes("foreign") || desc.mediaType.includes("nondistributable") || Array.isArray(desc.urls);
  return { d, mediaType: desc.mediaType, foreign };
}

/**
 * Parses and checks a manifest. `contentType` is the request's Content-Type; when the body
 * carries a mediaType too, the two must agree.
 */
export function checkManifest(body: Buffer, contentType: string | undefined): CheckedManifest {
  let doc: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(body.toString("utf8"));
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
    doc = parsed as Record<string, unknown>;
  } catch (err) {
    throw invalid(`manifest is not valid JSON: ${(err as Error).message}`);
  }
  const header = contentType?.split(";")[0].trim().toLowerCase() || undefined;
  const field = typeof doc.mediaType === "string" ? doc.mediaType : undefined;
  if (header && field && header !== field) throw invalid(`Content-Type ${header} does not match the manifest's mediaType ${field}`);
  let mediaType = field ?? header;
  if (!mediaType) {
    // OCI allows the field to be missing; tell an index from a manifest by its shape.
    mediaType = Array.isArray(doc.manifests) ? OCI_INDEX : OCI_MANIFEST;
  }
  if (doc.schemaVersion === 1 || mediaType.includes("distribution.manifest.v1")) {
    throw invalid("schema 1 manifests are not supported");
  }
  if (!MANIFEST_TYPES.has(mediaType)) throw invalid(`unknown manifest media type ${JSON.stringify(mediaType)}`);
  if (doc.schemaVersion !== 2) throw invalid("schemaVersion must be 2");

  const out: CheckedManifest = { mediaType, blobs: [], manifests: [] };
  if (INDEX_TYPES.has(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw invalid("index without manifests");
    doc.manifests.forEach((m, i) => out.manifests.push(descriptor(m, `manifests[${i}]`).d));
  } else {
    if (doc.config === undefined) throw invalid("manifest without config");
    out.blobs.push(descriptor(doc.config, "config").d);
    if (!Array.isArray(doc.layers)) throw invalid("manifest without layers");
    doc.layers.forEach((l, i) => {
      const desc = descriptor(l, `layers[${i}]`);
      if (!desc.foreign) out.blobs.push(desc.d);
    });
  }
  if (doc.subject !== undefined) out.subject = descriptor(doc.subject, "subject").d;
  if (doc.artifactType !== undefined && typeof doc.artifactType !== "string") throw invalid("artifactType must be a string");
  return out;
}
