import * as fs from "node:fs";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { InvalidParameterError, errorMessage } from "../../lib/errors";
import { shortId } from "../../lib/ids";
import { limiter } from "../../lib/limiter";
import { familiarString, parseNormalizedNamed, tagNameOnly, type Reference } from "../../lib/reference";
import { applyLayer as extractTar } from "../../lib/tar/apply";
import { BuildCacheStore } from "./build-cache";
import { CacheMounts } from "./cache-mounts";
import { configInstruction } from "./config-steps";
import { prepareContext } from "./context";
import { copyStep } from "./copy-step";
import { parseDockerfile, type Instruction } from "./dockerfile";
import { fromStep } from "./from-step";
import { ImageCommitter } from "./image-commit";
import { BuildOutput } from "./output";
import { runStep } from "./run-step";
import { ScratchRoots } from "./scratch-roots";
import { metaArgMap, planStages, type StagePlan } from "./stages";
import type { StepTools } from "./step-tools";
import {
  BUILD_LABEL,
  PREDEFINED_ARGS,
  cancelled,
  stageEnv,
  type BuildMessage,
  type BuildOptions,
  type BuildRun,
  type BuilderDeps,
  type Stage,
  type StageRun,
  type StageState,
} from "./types";

export { BuildError, type BuildMessage, type BuildOptions, type BuilderDeps } from "./types";

/** Stages that run at once (independent stages of one build; 2 cores here). */
const PARALLEL_STAGES = 2;

/**
 * The classic builder: a Dockerfile's stages run step by step, each step committing an image
 * (config-only steps an empty layer), RUN in a container with the engine's usual confinement,
 * COPY/ADD into a scratch overlay on top of the current image; every step's result is cached
 * under its key. This class holds the build's course; the steps live in their own modules.
 */
export class Builder {
  readonly cache: BuildCacheStore;
  private readonly tools: StepTools;

  constructor(private readonly deps: BuilderDeps) {
    this.cache = new BuildCacheStore(deps.metadata);
    const tmpRoot = path.join(deps.dataRoot, "tmp", "build");
    this.tools = {
      deps,
      committer: new ImageCommitter(deps.images, this.cache),
      roots: new ScratchRoots(deps.snapshots, this.cache),
      caches: new CacheMounts(path.join(deps.dataRoot, "build-cache-mounts")),
      tmpRoot,
    };
    // Contexts left by a build that died with the daemon.
    fs.rmSync(tmpRoot, { recursive: true, force: true });
  }

  /**
   * After a daemon restart: scratch snapshots and RUN containers of builds that died with the
   * daemon are removed.
   */
  async recover(): Promise<void> {
    for (const id of this.cache.scratchIds()) {
      await this.deps.snapshots.remove(id).catch(() => undefined);
      this.cache.forgetScratch(id);
    }
    for (const c of this.deps.containers.list()) {
      if (c.Config.Labels?.[BUILD_LABEL] !== undefined) await this.deps.containers.remove(c.Id, { force: true, volumes: true }).catch(() => undefined);
    }
  }

  /** Unpacks a context tar (plain or gzip) and builds it. Returns the image id. */
  async buildFromTar(context: Readable, opts: BuildOptions, out: (m: BuildMessage) => void): Promise<string> {
    fs.mkdirSync(this.tools.tmpRoot, { recursive: true, mode: 0o700 });
    const dir = fs.mkdtempSync(path.join(this.tools.tmpRoot, "ctx-"));
    try {
      try {
        await extractTar(dir, context);
      } catch (err) {
        throw new InvalidParameterError(`failed to read the build context: ${errorMessage(err)}`);
      }
      return await this.build(dir, opts, out);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  async build(contextDir: string, opts: BuildOptions, out: (m: BuildMessage) => void): Promise<string> {
    const output = new BuildOutput(out, opts.quiet);
    const tags: Reference[] = opts.tags.map((t) => {
      try {
        return parseNormalizedNamed(t);
      } catch (err) {
        throw new InvalidParameterError(`invalid reference format: ${t}: ${errorMessage(err)}`);
      }
    });
    const dfText = prepareContext(contextDir, opts.dockerfile);
    const plan = planStages(parseDockerfile(dfText), opts);
    const final = await this.runStages(plan, contextDir, opts, output);
    let imageId = final.imageId;
    if (!imageId) {
      // FROM scratch and nothing else: an image without layers.
      imageId = await this.tools.committer.commit(final, { createdBy: "", emptyLayer: true, cacheKey: undefined });
    }
    const unused = Object.keys(opts.buildArgs).filter((k) => !plan.usedArgs.has(k) && !PREDEFINED_ARGS.has(k)).sort();
    if (unused.length) output.emit(`[Warning] One or more build-args [${unused.join(" ")}] were not consumed\n`);
    output.message({ aux: { ID: imageId } });
    if (opts.quiet) output.message({ stream: `${imageId}\n` });
    output.emit(`Successfully built ${shortId(imageId)}\n`);
    for (const tag of tags) {
      this.deps.images.tag(imageId, tag);
      output.emit(`Successfully tagged ${familiarString(tagNameOnly(tag))}\n`);
    }
    return imageId;
  }

  /**
   * The stages the target needs, each once its dependencies are done, independent ones side by
   * side (PARALLEL_STAGES at most). A failing stage stops the others at their next step; the
   * build waits for all of them (no RUN container outlives it) and reports the first failure.
   */
  private async runStages(plan: StagePlan, contextDir: string, opts: BuildOptions, output: BuildOutput): Promise<StageState> {
    const stop = new AbortController();
    const onClientGone = (): void => stop.abort();
    if (opts.signal?.aborted) stop.abort();
    opts.signal?.addEventListener("abort", onClientGone, { once: true });
    const runOpts: BuildOptions = { ...opts, signal: stop.signal };
    const slot = limiter(PARALLEL_STAGES);
    const done = new Map<number, Promise<StageState>>();
    const firstStep = new Map<number, number>();
    let steps = 0;
    for (const s of plan.order) {
      firstStep.set(s.index, steps + 1);
      steps += 1 + s.instructions.length;
    }
    const run: BuildRun = {
      metaArgs: plan.metaArgs,
      contextDir,
      opts: runOpts,
      usedArgs: plan.usedArgs,
      stages: plan.stages,
      stageRef: plan.stageRef,
      stageResult: async (index) => done.get(index),
    };
    let failure: { err: unknown } | undefined;
    for (const stage of plan.order) {
      const needs = [...(plan.dependsOn.get(stage.index) ?? [])].map((i) => done.get(i) as Promise<StageState>);
      const p = Promise.all(needs).then(() =>
        slot(() => this.runStage(stage, { ...run }, output, firstStep.get(stage.index) as number, plan.totalSteps)),
      );
      // Stages waiting on this one fail with it; only the first failure is reported.
      p.catch((err: unknown) => {
        failure ??= { err };
        stop.abort();
      });
      done.set(stage.index, p);
    }
    try {
      await Promise.allSettled(done.values());
    } finally {
      opts.signal?.removeEventListener("abort", onClientGone);
    }
    if (failure) throw failure.err;
    return (await done.get(plan.target.index)) as StageState;
  }

  private async runStage(stage: Stage, run: BuildRun, output: BuildOutput, firstStep: number, total: number): Promise<StageState> {
    cancelled(run.opts);
    const writer = output.stage(stage.index);
    const stageRun: StageRun = { ...run, emit: writer.emit };
    try {
      let step = firstStep;
      stageRun.emit(`Step ${step}/${total} : FROM ${stage.from.original}\n`);
      const state = await fromStep(this.tools, stage, metaArgMap(run.metaArgs), stageRun);
      stageRun.emit(` ---> ${state.imageId ? shortId(state.imageId) : ""}\n`);
      const triggers = state.config.config?.OnBuild ?? [];
      if (triggers.length && state.config.config) state.config.config = { ...state.config.config, OnBuild: null };
      const queue: Instruction[] = [];
      for (const t of triggers) queue.push(...parseDockerfile(t).instructions);
      if (triggers.length) stageRun.emit(`# Executing ${triggers.length} build trigger${triggers.length === 1 ? "" : "s"}\n`);
      for (const ins of queue) await this.step(state, ins, stageRun);
      for (const ins of stage.instructions) {
        step++;
        stageRun.emit(`Step ${step}/${total} : ${ins.cmd} ${ins.original}\n`);
        await this.step(state, ins, stageRun);
      }
      return state;
    } finally {
      writer.done();
    }
  }

  private async step(state: StageState, ins: Instruction, run: StageRun): Promise<void> {
    cancelled(run.opts);
    const env = stageEnv(state);
    if (await configInstruction(this.tools, state, ins, run, env)) return;
    switch (ins.cmd) {
      case "RUN":
        return runStep(this.tools, state, ins, run);
      case "COPY":
      case "ADD":
        return copyStep(this.tools, state, ins, run, env);
      default:
        throw new InvalidParameterError(`dockerfile parse error on line ${ins.startLine}: unknown instruction: ${ins.cmd}`);
    }
  }

  /** The RUN --mount=type=cache dirs, as `system df` lists build cache. */
  cacheMountUsage(): ReturnType<CacheMounts["usage"]> {
    return this.tools.caches.usage();
  }

  /**
   * POST /build/prune: forgets the cache, removes the images only the cache kept and the
   * RUN --mount=type=cache dirs no build is using.
   */
  async prune(opts: { all?: boolean } = {}): Promise<{ CachesDeleted: string[] | null; SpaceReclaimed: number }> {
    void opts;
    const mounts = await this.tools.caches.prune();
    const rows = this.cache.all();
    const before = this.deps.snapshots.list().reduce((n, l) => n + l.size, 0);
    this.cache.clear(rows.map((r) => r.key));
    const deleted: string[] = [];
    // Leaves first: an intermediate image is removable once the images built on it are gone.
    let progress = true;
    const pending = new Set(rows.map((r) => r.image_id));
    while (progress) {
      progress = false;
      for (const id of [...pending]) {
        const image = this.deps.images.get(id);
        if (!image) {
          pending.delete(id);
          continue;
        }
        if (image.repoTags.length || image.repoDigests.length) {
          pending.delete(id);
          continue;
        }
        try {
          await this.deps.images.remove(id, { noprune: true });
          deleted.push(id);
          pending.delete(id);
          progress = true;
        } catch {
          // in use by a container or a parent of another image: maybe later in this loop
        }
      }
    }
    const after = this.deps.snapshots.list().reduce((n, l) => n + l.size, 0);
    deleted.push(...mounts.ids);
    return { CachesDeleted: deleted.length ? deleted : null, SpaceReclaimed: Math.max(0, before - after) + mounts.bytes };
  }
}
