import type { CacheMounts } from "./cache-mounts";
import type { ImageCommitter } from "./image-commit";
import type { ScratchRoots } from "./scratch-roots";
import type { BuilderDeps } from "./types";

/** What the instruction executors use: the engine, commits, scratch roots, the build's temp dir. */
export interface StepTools {
  deps: BuilderDeps;
  committer: ImageCommitter;
  roots: ScratchRoots;
  /** RUN --mount=type=cache directories, kept across builds. */
  caches: CacheMounts;
  /** Per-daemon temp dir of builds (contexts, heredocs, downloads, secrets), emptied at start. */
  tmpRoot: string;
}
