import { InvalidParameterError, WharfError } from "../../lib/errors";
import type { RegistryCredentials } from "../distribution/auth";
import type { Metadata } from "../../store/metadata";
import type { SnapshotStore } from "../../store/snapshots";
import type { ContainerService } from "../containers/container-service";
import { envMap } from "../images/changes";
import type { ImageService } from "../images/image-service";
import type { OciImageConfig } from "../images/types";
import type { Instruction } from "./dockerfile";

/** Build args every build knows without an ARG (Docker's predefined proxy args). */
export const PREDEFINED_ARGS = new Set([
  "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
]);
export const DEFAULT_SHELL = ["/bin/sh", "-c"];
/** Marks RUN containers, so that those of a build the daemon died in are removed at start. */
export const BUILD_LABEL = "com.github.wharf.build";
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface BuildOptions {
  dockerfile: string;
  tags: string[];
  buildArgs: Record<string, string | null>;
  labels: Record<string, string>;
  target?: string;
  noCache: boolean;
  quiet: boolean;
  networkMode: string;
  pull: boolean;
  /** Secrets for RUN --mount=type=secret, by id (never stored, never in a cache key). */
  secrets?: Map<string, Buffer>;
  /** Registry credentials for FROM pulls by registry domain (the X-Registry-Config header). */
  registryAuth?: Map<string, RegistryCredentials>;
  /** Aborted when the client goes away: the build stops before its next step. */
  signal?: AbortSignal;
}

/** One message of the classic builder's JSON stream. */
export type BuildMessage = { stream: string } | { aux: { ID: string } };

export class BuildError extends WharfError {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message, 400);
  }
}

export interface Stage {
  index: number;
  name?: string;
  from: Instruction;
  instructions: Instruction[];
}

export interface StageState {
  stage: Stage;
  imageId?: string;
  config: OciImageConfig;
  chainIds: string[];
  /** Declared ARGs with their value (undefined: declared without value). */
  args: Map<string, string | undefined>;
  cmdSet: boolean;
}

export interface BuilderDeps {
  dataRoot: string;
  metadata: Metadata;
  images: ImageService;
  containers: ContainerService;
  snapshots: SnapshotStore;
  /** The daemon's authorization rules for containers (a RUN's HostConfig is checked like a create's). */
  authorize?: (hostConfig: Record<string, unknown>) => void;
  /**
   * Pulls a base image FROM names and this daemon lacks (or every base with --pull); lines go to
   * the build's output; `credentials` are the client's for the image's registry, if it sent any.
   */
  pull?: (ref: string, out: (line: string) => void, credentials?: RegistryCredentials) => Promise<void>;
}

/** What every step of one build shares. */
export interface BuildRun {
  metaArgs: Map<string, string | undefined>;
  contextDir: string;
  opts: BuildOptions;
  usedArgs: Set<string>;
  stages: Stage[];
  stageRef: (ref: string, before: number) => Stage | undefined;
  /** The finished state of a stage this one depends on (waits for it when stages run in parallel). */
  stageResult: (index: number) => Promise<StageState | undefined>;
}

/** One stage's view of the build: the shared run and this stage's output. */
export interface StageRun extends BuildRun {
  emit: (text: string) => void;
}

/** An error of a step that names its Dockerfile line (parse errors use dockerfile.ts's form). */
export function lineError(ins: Instruction, message: string): InvalidParameterError {
  return new InvalidParameterError(`Dockerfile line ${ins.startLine}: ${message}`);
}

export function cancelled(opts: BuildOptions): void {
  if (opts.signal?.aborted) throw new BuildError("the build was cancelled: the client went away");
}

/**
 * What of a stage's state is not in its image config but changes a step's result: whether CMD
 * was set in this stage (ENTRYPOINT keeps it). Build args enter the keys of the steps that use
 * them (RUN's environment, expanded ENV/LABEL/... values).
 */
export function stateKey(state: StageState): unknown {
  return [state.cmdSet];
}

/** The expansion environment: the stage's ARGs, overridden by its ENV. */
export function stageEnv(state: StageState): Map<string, string> {
  const env = new Map<string, string>();
  for (const [k, v] of state.args) if (v !== undefined) env.set(k, v);
  for (const [k, v] of envMap(state.config.config?.Env ?? [])) env.set(k, v);
  return env;
}

/** The shell prefix of a `#(nop)` history line: the stage's SHELL at that point. */
export function nopShell(state: StageState): string {
  const shell = state.config.config?.Shell;
  return (shell?.length ? shell : DEFAULT_SHELL).join(" ");
}
