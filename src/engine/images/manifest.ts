import { z } from "zod";
import { DIGEST_RE } from "../../lib/digest";

/** Image manifest and index formats a registry may answer with (OCI and Docker schema 2). */
export const MEDIA = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
} as const;

/** What a pull asks for, most wanted first. */
export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.dockerManifest].join(", ");

/** Layer media types wharf can unpack (gzip or plain tar). */
export const LAYER_TYPES = new Set([
  "application/vnd.oci.image.layer.v1.tar",
  "application/vnd.oci.image.layer.v1.tar+gzip",
  "application/vnd.docker.image.rootfs.diff.tar",
  "application/vnd.docker.image.rootfs.diff.tar.gzip",
]);

/** Docker refuses manifests above 4 MiB; so does wharf. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export const descriptorSchema = z
  .object({
    mediaType: z.string().optional(),
    digest: z.string().regex(DIGEST_RE, "must be sha256:<64 hex digits>"),
    size: z.number().int().nonnegative(),
    annotations: z.record(z.string()).nullable().optional(),
    platform: z.object({ architecture: z.string(), os: z.string(), variant: z.string().optional() }).passthrough().optional(),
  })
  .passthrough();
export type Descriptor = z.infer<typeof descriptorSchema>;

export const indexSchema = z.object({ schemaVersion: z.literal(2).optional(), mediaType: z.string().optional(), manifests: z.array(descriptorSchema) }).passthrough();
export const imageManifestSchema = z.object({ schemaVersion: z.literal(2).optional(), mediaType: z.string().optional(), config: descriptorSchema, layers: z.array(descriptorSchema) }).passthrough();
export type ImageManifest = z.infer<typeof imageManifestSchema>;

/** The platform the daemon runs, in OCI terms ("linux/amd64", "linux/arm64/v8"). */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/**
 * The index entry for `want`, as Docker picks it: same OS and architecture, the variant when
 * asked for. Entries without a platform (attestations) are never chosen.
 */
export function pickPlatform(manifests: Descriptor[], want: Platform): Descriptor | undefined {
  const candidates = manifests.filter((m) => m.platform && m.platform.os === want.os && m.platform.architecture === want.architecture);
  if (want.variant) return candidates.find((m) => m.platform?.variant === want.variant) ?? candidates.find((m) => !m.platform?.variant);
  return candidates[0];
}

export function isIndex(mediaType: string | undefined, body: unknown): boolean {
  if (mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerList) return true;
  return typeof body === "object" && body !== null && Array.isArray((body as { manifests?: unknown }).manifests);
}
