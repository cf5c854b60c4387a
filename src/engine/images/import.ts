import type { Readable } from "node:stream";
import { InvalidParameterError } from "../../lib/errors";
import { familiarString, repoTagReference } from "../../lib/reference";
import { applyChanges } from "./changes";
import { hostArchitecture } from "./config";
import type { ImageService } from "./image-service";
import type { ImageRecord } from "./types";

/**
 * `docker import`: a root filesystem tar (plain or gzip) becomes a one-layer image whose config
 * is built from `changes` (Dockerfile instructions).
 */
export interface ImportOptions {
  /** Repository to tag the image with ("busybox", "localhost:5000/app:1"); none leaves it untagged. */
  repo?: string;
  /** Tag (overrides one in `repo`); "latest" when neither gives one. */
  tag?: string;
  /** Commit message: the config's and the history entry's comment. */
  message?: string;
  /** Dockerfile instructions: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR. */
  changes?: string[];
  /** Creation time (ISO 8601); defaults to now. A fixed value makes the image id reproducible. */
  created?: string;
}

export async function importImage(images: ImageService, input: Readable, opts: ImportOptions = {}): Promise<ImageRecord> {
  // Everything that can be refused is checked before the first byte is read.
  const ref = repoTagReference(opts.repo ?? "", opts.tag ?? "");
  const runtimeConfig = applyChanges({}, opts.changes ?? []);
  const created = rfc3339(opts.created !== undefined ? parseTime(opts.created) : new Date());
  const message = opts.message ?? "";

  const lease = images.lease();
  try {
    const layer = await images.snapshots.applyLayer(input, { lease });
    const config: Record<string, unknown> = {
      architecture: hostArchitecture(),
      ...(message ? { comment: message } : {}),
      config: runtimeConfig,
      created,
      history: [{ created, ...(message ? { comment: message } : {}) }],
      os: "linux",
      rootfs: { type: "layers", diff_ids: [layer.diffId] },
    };
    const [result] = await images.commitImages([
      { config: Buffer.from(JSON.stringify(config)), chainIds: [layer.chainId], tags: ref ? [ref] : [] },
    ]);
    // As Docker: the new tag's event, then the import's.
    if (ref) images.publish("tag", result.record.id, familiarString(ref));
    images.publish("import", result.record.id);
    return result.record;
  } catch (err) {
    lease.release();
    await images.gc().catch(() => undefined);
    throw err;
  } finally {
    lease.release();
  }
}

function parseTime(value: string): Date {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidParameterError(`invalid created time: ${value}`);
  return new Date(ms);
}

/** RFC 3339 in UTC as Go writes it: no fractional part when it is zero. */
function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.000Z$/, "Z");
}
