import { z } from "zod";
import { DIGEST_RE } from "../../lib/digest";
import { InvalidParameterError } from "../../lib/errors";
import type { OciImageConfig } from "./types";

/**
 * Validation of image config blobs coming from outside (load, later pull). The bytes are kept
 * verbatim (the image id is their digest); this only checks what wharf relies on.
 */

/** Docker writes a top-level "comment" (import message) that the OCI type does not name. */
export type StoredImageConfig = OciImageConfig & { comment?: string };

const runtimeConfig = z
  .object({
    User: z.string().optional(),
    ExposedPorts: z.record(z.object({}).passthrough()).nullable().optional(),
    Env: z.array(z.string()).nullable().optional(),
    Entrypoint: z.array(z.string()).nullable().optional(),
    Cmd: z.array(z.string()).nullable().optional(),
    Volumes: z.record(z.object({}).passthrough()).nullable().optional(),
    WorkingDir: z.string().optional(),
    Labels: z.record(z.string()).nullable().optional(),
    StopSignal: z.string().optional(),
    OnBuild: z.array(z.string()).nullable().optional(),
    Shell: z.array(z.string()).nullable().optional(),
  })
  .passthrough();

const historyEntry = z
  .object({
    created: z.string().optional(),
    created_by: z.string().optional(),
    author: z.string().optional(),
    comment: z.string().optional(),
    empty_layer: z.boolean().optional(),
  })
  .passthrough();

const configSchema = z
  .object({
    architecture: z.string().default(""),
    os: z.string(),
    variant: z.string().optional(),
    created: z.string().optional(),
    author: z.string().optional(),
    comment: z.string().optional(),
    config: runtimeConfig.nullable().optional(),
    rootfs: z.object({
      type: z.literal("layers"),
      diff_ids: z.array(z.string().regex(DIGEST_RE, "must be sha256:<64 hex digits>")),
    }),
    history: z.array(historyEntry).nullable().optional(),
  })
  .passthrough();

/** Parses and checks a config blob; throws InvalidParameterError with the first problem. */
export function parseImageConfig(raw: Buffer | string): StoredImageConfig {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString());
  } catch (err) {
    throw new InvalidParameterError(`invalid image config: ${(err as Error).message}`);
  }
  const parsed = configSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidParameterError(`invalid image config: ${issue.path.join(".") || "config"}: ${issue.message}`);
  }
  const config = parsed.data as unknown as StoredImageConfig;
  if (config.created !== undefined && Number.isNaN(Date.parse(config.created))) {
    throw new InvalidParameterError(`invalid image config: created: not a date: ${config.created}`);
  }
  if (config.history) {
    const nonEmpty = config.history.filter((h) => !h.empty_layer).length;
    if (nonEmpty > config.rootfs.diff_ids.length) {
      throw new InvalidParameterError("invalid image config: too many non-empty layers in History section");
    }
  }
  return config;
}

/** The Docker/OCI name for this machine's CPU. */
export function hostArchitecture(): string {
  const map: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };
  return map[process.arch] ?? process.arch;
}
