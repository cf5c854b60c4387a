/**
 * Image shapes shared by the image service, the container engine and the API.
 * Field names follow the OCI image config (lower case) and Docker's container config (upper
 * case) exactly, because both are serialized to clients as they are.
 */
import type { IdMapping } from "../../lib/id-mapping";

/** Docker's Healthcheck config (durations in nanoseconds). */
export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** The runtime part of an image config ("config" in the OCI config blob, "Config" in inspect). */
export interface ImageRuntimeConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, never>> | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  Healthcheck?: HealthConfig;
  OnBuild?: string[] | null;
  Shell?: string[];
  ArgsEscaped?: boolean;
}

export interface ImageHistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** The image config blob; its sha256 digest is the image id. */
export interface OciImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  config?: ImageRuntimeConfig;
  rootfs: { type: "layers"; diff_ids: string[] };
  history?: ImageHistoryEntry[];
  /** Docker's extra fields, kept when present so that ids survive a save/load round trip. */
  container?: string;
  container_config?: ImageRuntimeConfig;
  docker_version?: string;
}

/** What the metadata store knows about one image. */
export interface ImageRecord {
  /** "sha256:<hex>" of the config blob. */
  id: string;
  config: OciImageConfig;
  /** Normalized references, e.g. "busybox:latest", "127.0.0.1:5000/app:1". */
  repoTags: string[];
  repoDigests: string[];
  /** Sum of the uncompressed layer sizes, in bytes. */
  size: number;
  /** ISO 8601; taken from the config's `created`, or the time it was stored. */
  created: string;
  /** Chain ids of the layers, bottom first (chainIds[i] identifies layers 0..i). */
  chainIds: string[];
}

/** What the container engine needs from the image service. */
export interface ImageProvider {
  /** By name[:tag], name@digest, full or short id. Throws NotFoundError("No such image: REF"). */
  resolve(refOrId: string): ImageRecord;
  /** The unpacked layer directories of an image, bottom layer first (overlay lowerdir order reversed). */
  layerDirs(image: ImageRecord): string[];
}

/** What the container engine needs from the snapshot store for a container's root filesystem. */
export interface ContainerRootfs {
  /** Creates the container's empty writable layer (upper + work dirs), owned by the mapped root when mapped. */
  create(containerId: string, idMapping?: IdMapping): Promise<void>;
  /**
   * Mounts overlay(lower = image layers, upper = container layer) and returns the merged path.
   * Idempotent. `volatile`: the layer is thrown away after this run (--rm), so overlay need not
   * sync it at unmount.
   */
  mount(containerId: string, lowerDirs: string[], opts?: { volatile?: boolean }): Promise<string>;
  /** Idempotent: a container whose rootfs is not mounted is fine. */
  unmount(containerId: string): Promise<void>;
  /** Removes the writable layer (unmounting first). Idempotent. */
  remove(containerId: string): Promise<void>;
  /** Where the merged root of a container is (mounted or not). */
  mergedPath(containerId: string): string;
  /** The container's writable layer (its changes). */
  upperPath(containerId: string): string;
}
