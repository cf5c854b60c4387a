import type { IdMapping } from "../../lib/id-mapping";
import type { ImageRuntimeConfig } from "../images/types";
import type { ContainerNetworkState } from "../networks/types";
import type { MountPoint } from "./mounts";

/** One probe of a healthcheck, as Docker logs it in State.Health.Log. */
export interface HealthProbe {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface HealthState {
  Status: "starting" | "healthy" | "unhealthy";
  FailingStreak: number;
  Log: HealthProbe[];
}

/** Docker's State object, stored as clients see it in inspect. */
export interface ContainerState {
  Status: "created" | "running" | "paused" | "restarting" | "removing" | "exited" | "dead";
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  /** Present while a container with a healthcheck runs. */
  Health?: HealthState;
}

export interface RestartPolicy {
  Name: "" | "no" | "always" | "on-failure" | "unless-stopped";
  MaximumRetryCount: number;
}

export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

/** The subset of Docker's HostConfig the engine acts on; unknown fields are kept verbatim. */
export interface HostConfig {
  NetworkMode: string;
  RestartPolicy: RestartPolicy;
  AutoRemove: boolean;
  Privileged: boolean;
  ReadonlyRootfs: boolean;
  CapAdd: string[] | null;
  CapDrop: string[] | null;
  SecurityOpt: string[] | null;
  Init: boolean | null;
  Memory: number;
  MemorySwap: number;
  NanoCpus: number;
  CpuShares: number;
  CpuPeriod: number;
  CpuQuota: number;
  CpusetCpus: string;
  CpusetMems: string;
  PidsLimit: number | null;
  Ulimits: Ulimit[] | null;
  ShmSize: number;
  Runtime: string;
  /** --pid, --ipc, --uts ("" = the container's own; see namespace-modes.ts). */
  PidMode?: string;
  IpcMode?: string;
  UTSMode?: string;
  [key: string]: unknown;
}

/** Docker's container Config: the image's runtime config plus the run options. */
export interface ContainerConfig extends ImageRuntimeConfig {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[];
  Cmd: string[] | null;
  Image: string;
  WorkingDir: string;
  Entrypoint: string[] | null;
  Labels: Record<string, string>;
  StopSignal?: string;
  StopTimeout?: number;
}

/** One container as stored in the metadata database. */
export interface ContainerRecord {
  Id: string;
  /** With the leading slash, as Docker stores it. */
  Name: string;
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerState;
  /** "sha256:…" image id. */
  Image: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  LogPath: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  Config: ContainerConfig;
  HostConfig: HostConfig;
  /**
   * Networks joined with `network connect`, beyond HostConfig.NetworkMode, by name: joined again
   * at every start, as Docker keeps a container's connections. Not shown in inspect.
   */
  ExtraNetworks?: Record<string, { Aliases?: string[]; IPv4Address?: string }>;
  /** Set by `stop`, cleared by `start`: restart policies leave such a container alone (Docker's HasBeenManuallyStopped). Not shown in inspect. */
  ManuallyStopped?: boolean;
  /** Addresses, endpoints and published ports while the container runs (cleared at exit). */
  NetworkSettings?: ContainerNetworkState;
  /** Volumes, binds and tmpfs mounts (inspect's `Mounts`), decided at create. */
  MountPoints?: MountPoint[];
  /**
   * The container's user-namespace mapping (--userns=auto's range, or the daemon's
   * --userns-remap one); absent for the host's namespace. Not shown in inspect.
   */
  IdMapping?: IdMapping;
  /** The create request's per-network settings (aliases, a fixed address), as Docker keeps them. */
  NetworkingConfig?: {
    EndpointsConfig?: Record<string, { Aliases?: string[] | null; IPAMConfig?: { IPv4Address?: string | null } | null; MacAddress?: string | null } | null> | null;
  };
}

export const ZERO_TIME = "0001-01-01T00:00:00Z";
