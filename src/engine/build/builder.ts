import * as fs from "node:fs";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { InvalidParameterError, NotFoundError, WharfError, errorMessage } from "../../lib/errors";
import { newId, shortId } from "../../lib/ids";
import { familiarString, parseNormalizedNamed, tagNameOnly, type Reference } from "../../lib/reference";
import { applyLayer as extractTar } from "../../lib/tar/apply";
import { nodeStream } from "../../lib/tar/pack-path";
import { resolveInRoot } from "../../lib/tar/resolve";
import { packDirectory } from "../../lib/tar/write";
import { goQuote, parseGoDuration } from "../../lib/units";
import { resolveUser } from "../../runtime/user";
import type { Metadata } from "../../store/metadata";
import type { Lease, SnapshotStore } from "../../store/snapshots";
import type { ContainerService } from "../containers/container-service";
import type { CreateContainerRequest } from "../containers/create-request";
import { envMap, parsePorts, processWord, validateSignal } from "../images/changes";
import { hostArchitecture } from "../images/config";
import type { ImageService } from "../images/image-service";
import type { ImageRecord, ImageRuntimeConfig, OciImageConfig } from "../images/types";
import { BuildCacheStore } from "./build-cache";
import { copyInto, ensureDir, hashSources, isArchive, resolveSources, type Source } from "./copy";
import { DockerIgnore } from "../../lib/dockerignore";
import { flag, parseDockerfile, splitWords, type Instruction } from "./dockerfile";

/** Build args every build knows without an ARG (Docker's predefined proxy args). */
const PREDEFINED_ARGS = new Set([
  "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
]);
const DEFAULT_SHELL = ["/bin/sh", "-c"];
/** Marks RUN containers, so that those of a build the daemon died in are removed at start. */
const BUILD_LABEL = "com.github.wharf.build";
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** Paths the runtime creates as mount points in a RUN container's root: never part of a layer. */
const MOUNT_ARTIFACTS = ["etc/hosts", "etc/hostname", "etc/resolv.conf", "proc", "sys", "dev"];

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

interface Stage {
  index: number;
  name?: string;
  from: Instruction;
  instructions: Instruction[];
}

interface StageState {
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
  /** Pulls a base image FROM names and this daemon lacks (or every base with --pull); lines go to the build's output. */
  pull?: (ref: string, out: (line: string) => void) => Promise<void>;
}

/**
 * The classic builder: a Dockerfile's stages run step by step, each step committing an image
 * (config-only steps an empty layer), RUN in a container with the engine's usual confinement,
 * COPY/ADD into a scratch overlay on top of the current image; every step's result is cached
 * under its key.
 */
export class Builder {
  readonly cache: BuildCacheStore;
  private readonly tmpRoot: string;

  constructor(private readonly deps: BuilderDeps) {
    this.cache = new BuildCacheStore(deps.metadata);
    this.tmpRoot = path.join(deps.dataRoot, "tmp", "build");
    // Contexts left by a build that died with the daemon.
    fs.rmSync(this.tmpRoot, { recursive: true, force: true });
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

  /** A throwaway overlay root (COPY/ADD/WORKDIR, or a --from source), recorded until removed. */
  private async scratch(): Promise<{ id: string; remove: () => Promise<void> }> {
    const id = newId();
    this.cache.recordScratch(id);
    await this.deps.snapshots.create(id);
    return {
      id,
      remove: async () => {
        await this.deps.snapshots.remove(id);
        this.cache.forgetScratch(id);
      },
    };
  }

  /** Unpacks a context tar (plain or gzip) and builds it. Returns the image id. */
  async buildFromTar(context: Readable, opts: BuildOptions, out: (m: BuildMessage) => void): Promise<string> {
    fs.mkdirSync(this.tmpRoot, { recursive: true, mode: 0o700 });
    const dir = fs.mkdtempSync(path.join(this.tmpRoot, "ctx-"));
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
    const emit = (text: string): void => {
      if (!opts.quiet) out({ stream: text });
    };
    const tags: Reference[] = opts.tags.map((t) => {
      try {
        return parseNormalizedNamed(t);
      } catch (err) {
        throw new InvalidParameterError(`invalid reference format: ${t}: ${errorMessage(err)}`);
      }
    });
    let dfName = opts.dockerfile || "Dockerfile";
    // As Docker: a context without "Dockerfile" may have "dockerfile".
    if (dfName === "Dockerfile" && !fs.existsSync(path.join(contextDir, dfName)) && fs.existsSync(path.join(contextDir, "dockerfile"))) dfName = "dockerfile";
    let dfText: string;
    try {
      dfText = fs.readFileSync(resolveInRoot(contextDir, dfName, true), "utf8");
    } catch {
      throw new InvalidParameterError(`Cannot locate specified Dockerfile: ${dfName}`);
    }
    const ignorePath = path.join(contextDir, ".dockerignore");
    if (fs.existsSync(ignorePath)) {
      const ignore = new DockerIgnore(fs.readFileSync(ignorePath, "utf8"));
      if (!ignore.empty) pruneIgnored(contextDir, "", ignore);
    }
    const df = parseDockerfile(dfText);
    // Meta ARGs (before the first FROM) and stages.
    const metaArgs = new Map<string, string | undefined>();
    const stages: Stage[] = [];
    const usedArgs = new Set<string>();
    for (const ins of df.instructions) {
      if (ins.cmd === "FROM") {
        const words = ins.rest.split(/\s+/);
        let name: string | undefined;
        if (words.length === 3 && words[1].toLowerCase() === "as") name = words[2].toLowerCase();
        else if (words.length !== 1) throw new InvalidParameterError(`dockerfile parse error on line ${ins.startLine}: FROM requires either one or three arguments`);
        if (name !== undefined && !/^[a-z][a-z0-9-_.]*$/.test(name)) throw new InvalidParameterError(`dockerfile parse error on line ${ins.startLine}: invalid name for build stage: "${name}", name can't start with a number or contain symbols`);
        if (name && stages.some((s) => s.name === name)) throw new InvalidParameterError(`dockerfile parse error on line ${ins.startLine}: duplicate name ${name}`);
        stages.push({ index: stages.length, name, from: ins, instructions: [] });
      } else if (stages.length === 0) {
        if (ins.cmd !== "ARG") throw new InvalidParameterError(`dockerfile parse error on line ${ins.startLine}: no build stage in current context`);
        for (const [k, v] of argDecls(ins, metaArgMap(metaArgs))) {
          const given = Object.prototype.hasOwnProperty.call(opts.buildArgs, k) ? opts.buildArgs[k] : undefined;
          metaArgs.set(k, given ?? v);
          usedArgs.add(k);
        }
      } else stages[stages.length - 1].instructions.push(ins);
    }
    if (stages.length === 0) throw new InvalidParameterError("the Dockerfile (Dockerfile) cannot be empty");
    let targetIndex = stages.length - 1;
    if (opts.target) {
      const t = stages.findIndex((s) => s.name === opts.target!.toLowerCase());
      if (t === -1) throw new InvalidParameterError(`failed to reach build target ${opts.target} in Dockerfile`);
      targetIndex = t;
    }
    const target = stages[targetIndex];
    if (Object.keys(opts.labels).length) {
      const text = Object.entries(opts.labels).map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`).join(" ");
      target.instructions.push({ cmd: "LABEL", original: text, flags: [], rest: text, heredocs: [], startLine: 0, endLine: 0 });
    }
    // Which stages the target needs (FROM <stage>, COPY --from=<stage>).
    const metaEnv = metaArgMap(metaArgs);
    const stageRef = (ref: string, before: number): Stage | undefined => {
      const lower = ref.toLowerCase();
      const byName = stages.find((s) => s.index < before && s.name === lower);
      if (byName) return byName;
      if (/^\d+$/.test(ref) && Number(ref) < before) return stages[Number(ref)];
      return undefined;
    };
    const needed = new Set<number>();
    const visit = (s: Stage): void => {
      if (needed.has(s.index)) return;
      needed.add(s.index);
      const base = stageRef(processWord(s.from.rest.split(/\s+/)[0], metaEnv), s.index);
      if (base) visit(base);
      for (const ins of s.instructions) {
        const from = ins.cmd === "COPY" ? flag(ins, "from") : undefined;
        if (from !== undefined) {
          let ref = from;
          try {
            ref = processWord(from, metaEnv);
          } catch {
            // reported when the step runs
          }
          const dep = stageRef(ref, s.index);
          if (dep) visit(dep);
        }
      }
    };
    visit(target);
    const order = stages.filter((s) => needed.has(s.index));
    const total = order.reduce((n, s) => n + 1 + s.instructions.length, 0);
    let step = 0;
    const results = new Map<number, StageState>();
    const ctx: RunContext = { contextDir, opts, emit, usedArgs, results, stages, stageRef, metaArgs };
    for (const stage of order) {
      step++;
      emit(`Step ${step}/${total} : FROM ${stage.from.original}\n`);
      const state = await this.from(stage, metaEnv, stageRef, results, opts, emit);
      this.defaultPath(state);
      emit(` ---> ${state.imageId ? shortId(state.imageId) : ""}\n`);
      const triggers = state.config.config?.OnBuild ?? [];
      if (triggers.length && state.config.config) state.config.config = { ...state.config.config, OnBuild: null };
      const queue: Instruction[] = [];
      for (const t of triggers) {
        const parsed = parseDockerfile(t).instructions;
        queue.push(...parsed);
      }
      if (triggers.length) emit(`# Executing ${triggers.length} build trigger${triggers.length === 1 ? "" : "s"}\n`);
      for (const ins of queue) await this.step(state, ins, ctx);
      for (const ins of stage.instructions) {
        step++;
        emit(`Step ${step}/${total} : ${ins.cmd} ${ins.original}\n`);
        await this.step(state, ins, ctx);
      }
      results.set(stage.index, state);
    }
    const final = results.get(target.index) as StageState;
    let imageId = final.imageId;
    if (!imageId) {
      // FROM scratch and nothing else: an image without layers.
      imageId = await this.commit(final, { createdBy: "", emptyLayer: true, cacheKey: undefined });
    }
    const unused = Object.keys(opts.buildArgs).filter((k) => !usedArgs.has(k) && !PREDEFINED_ARGS.has(k)).sort();
    if (unused.length) emit(`[Warning] One or more build-args [${unused.join(" ")}] were not consumed\n`);
    out({ aux: { ID: imageId } });
    if (opts.quiet) out({ stream: `${imageId}\n` });
    emit(`Successfully built ${shortId(imageId)}\n`);
    for (const tag of tags) {
      this.deps.images.tag(imageId, tag);
      emit(`Successfully tagged ${familiar(tag)}\n`);
    }
    return imageId;
  }

  private async from(
    stage: Stage,
    metaEnv: Map<string, string>,
    stageRef: (ref: string, before: number) => Stage | undefined,
    results: Map<number, StageState>,
    opts: BuildOptions,
    emit: (line: string) => void,
  ): Promise<StageState> {
    const ref = processWord(stage.from.rest.split(/\s+/)[0], metaEnv);
    const state: StageState = {
      stage,
      config: { architecture: hostArchitecture(), os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [] }, history: [] },
      chainIds: [],
      args: new Map(),
      cmdSet: false,
    };
    if (ref === "") throw new InvalidParameterError(`base name (${stage.from.rest}) should not be blank`);
    if (ref.toLowerCase() === "scratch") return state;
    const base = stageRef(ref, stage.index);
    let image: ImageRecord;
    if (base) {
      const built = results.get(base.index) as StageState;
      if (!built.imageId) return { ...state, config: structuredClone(built.config) };
      image = this.deps.images.resolve(built.imageId);
    } else {
      // As docker build: a base that is not here is pulled, and --pull pulls every base again.
      let present = true;
      try {
        this.deps.images.resolve(ref);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        present = false;
      }
      if ((!present || opts.pull) && this.deps.pull) await this.deps.pull(ref, emit);
      image = this.deps.images.resolve(ref);
    }
    state.imageId = image.id;
    state.config = structuredClone(image.config);
    state.config.config ??= {};
    state.chainIds = [...image.chainIds];
    return state;
  }

  /** As Docker's FROM: an image without PATH gets the default one. */
  private defaultPath(state: StageState): void {
    const rc = (state.config.config ??= {});
    if (!(rc.Env ?? []).some((kv) => kv.startsWith("PATH="))) rc.Env = [...(rc.Env ?? []), `PATH=${DEFAULT_PATH}`];
  }

  /** The expansion environment: the stage's ARGs, overridden by its ENV. */
  private env(state: StageState): Map<string, string> {
    const env = new Map<string, string>();
    for (const [k, v] of state.args) if (v !== undefined) env.set(k, v);
    for (const [k, v] of envMap(state.config.config?.Env ?? [])) env.set(k, v);
    return env;
  }

  private async step(state: StageState, ins: Instruction, ctx: RunContext): Promise<void> {
    if (ctx.opts.signal?.aborted) throw new BuildError("the build was cancelled: the client went away");
    const rc = state.config.config as ImageRuntimeConfig;
    const env = this.env(state);
    const word = (w: string): string => processWord(w, env);
    const words = (text: string): string[] => splitWords(text).map(word);
    switch (ins.cmd) {
      case "ARG": {
        for (const [k, v] of argDecls(ins, env)) {
          const given = Object.prototype.hasOwnProperty.call(ctx.opts.buildArgs, k) ? ctx.opts.buildArgs[k] : undefined;
          state.args.set(k, given ?? v ?? ctx.metaArgs.get(k));
          ctx.usedArgs.add(k);
        }
        // Docker's classic builder commits ARG as a step of its own (no layer).
        return this.configStep(state, ins, ctx, () => undefined, `ARG ${ins.rest}`);
      }
      case "ENV":
        return this.configStep(state, ins, ctx, () => {
          const pairs = nameValues("ENV", ins, env);
          for (const [k, v] of pairs) {
            rc.Env = (rc.Env ?? []).filter((kv) => kv.split("=")[0] !== k);
            rc.Env.push(`${k}=${v}`);
          }
        }, `ENV ${nameValues("ENV", ins, env).map(([k, v]) => `${k}=${v}`).join(" ")}`);
      case "LABEL":
        return this.configStep(state, ins, ctx, () => {
          rc.Labels = { ...(rc.Labels ?? {}) };
          for (const [k, v] of nameValues("LABEL", ins, env)) rc.Labels[k] = v;
        }, `LABEL ${nameValues("LABEL", ins, env).map(([k, v]) => `${k}=${v}`).join(" ")}`);
      case "MAINTAINER":
        return this.configStep(state, ins, ctx, () => {
          state.config.author = word(ins.rest);
        }, `MAINTAINER ${ins.rest}`);
      case "CMD": {
        const cmd = ins.json ?? [...(rc.Shell?.length ? rc.Shell : DEFAULT_SHELL), ins.rest];
        state.cmdSet = true;
        return this.configStep(state, ins, ctx, () => {
          rc.Cmd = cmd;
        }, `CMD ${goList(cmd)}`);
      }
      case "ENTRYPOINT": {
        const ep = ins.json ?? [...(rc.Shell?.length ? rc.Shell : DEFAULT_SHELL), ins.rest];
        return this.configStep(state, ins, ctx, () => {
          rc.Entrypoint = ep;
          if (!state.cmdSet) rc.Cmd = null;
        }, `ENTRYPOINT ${goList(ep)}`);
      }
      case "SHELL": {
        if (!ins.json) throw new InvalidParameterError("SHELL requires the arguments to be in JSON form");
        const shell = ins.json;
        return this.configStep(state, ins, ctx, () => {
          rc.Shell = shell;
        }, `SHELL [${shell.join(" ")}]`);
      }
      case "EXPOSE": {
        const specs = words(ins.rest);
        const ports = specs.flatMap((p) => parsePorts(p));
        return this.configStep(state, ins, ctx, () => {
          rc.ExposedPorts = { ...(rc.ExposedPorts ?? {}) };
          for (const p of ports) rc.ExposedPorts[p] = {};
        }, `EXPOSE ${[...specs].sort().join(" ")}`);
      }
      case "VOLUME": {
        const vols = ins.json ?? words(ins.rest);
        for (const v of vols) if (v.trim() === "") throw new InvalidParameterError("VOLUME specified can not be an empty string");
        return this.configStep(state, ins, ctx, () => {
          rc.Volumes = { ...(rc.Volumes ?? {}) };
          for (const v of vols) rc.Volumes[v] = {};
        }, `VOLUME [${vols.join(" ")}]`);
      }
      case "USER": {
        const user = word(ins.rest);
        return this.configStep(state, ins, ctx, () => {
          rc.User = user;
        }, `USER ${user}`);
      }
      case "STOPSIGNAL": {
        const sig = word(ins.rest);
        validateSignal(sig);
        return this.configStep(state, ins, ctx, () => {
          rc.StopSignal = sig;
        }, `STOPSIGNAL ${sig}`);
      }
      case "ONBUILD": {
        const trigger = ins.rest.trim();
        return this.configStep(state, ins, ctx, () => {
          rc.OnBuild = [...(rc.OnBuild ?? []), trigger];
        }, `ONBUILD ${trigger}`);
      }
      case "HEALTHCHECK":
        return this.healthcheck(state, ins, ctx);
      case "WORKDIR":
        return this.workdir(state, ins, ctx, word(ins.rest));
      case "RUN":
        return this.run(state, ins, ctx);
      case "COPY":
      case "ADD":
        return this.copy(state, ins, ctx, env);
      default:
        throw new InvalidParameterError(`dockerfile parse error on line ${ins.startLine}: unknown instruction: ${ins.cmd}`);
    }
  }

  private healthcheck(state: StageState, ins: Instruction, ctx: RunContext): Promise<void> {
    const rc = state.config.config as ImageRuntimeConfig;
    const [kind, ...restWords] = ins.rest.split(/\s+/);
    let hc: NonNullable<ImageRuntimeConfig["Healthcheck"]>;
    if (kind.toUpperCase() === "NONE") {
      if (restWords.length || ins.flags.length) throw new InvalidParameterError("HEALTHCHECK NONE takes no arguments");
      hc = { Test: ["NONE"] };
    } else if (kind.toUpperCase() === "CMD") {
      const cmdText = ins.rest.slice(kind.length).trim();
      let json: string[] | undefined;
      if (cmdText.startsWith("[")) {
        try {
          const v: unknown = JSON.parse(cmdText);
          if (Array.isArray(v) && v.every((s) => typeof s === "string")) json = v as string[];
        } catch {
          json = undefined;
        }
      }
      hc = { Test: json ? ["CMD", ...json] : ["CMD-SHELL", cmdText] };
      const dur = (name: string): number | undefined => {
        const v = flag(ins, name);
        if (v === undefined) return undefined;
        let ms: number;
        try {
          ms = parseGoDuration(v);
        } catch (err) {
          throw new InvalidParameterError(errorMessage(err));
        }
        if (ms < 0) throw new InvalidParameterError(`Interval "${name}" cannot be less than 0`);
        return Math.round(ms * 1e6);
      };
      const interval = dur("interval");
      const timeout = dur("timeout");
      const start = dur("start-period");
      const startInterval = dur("start-interval");
      if (interval) hc.Interval = interval;
      if (timeout) hc.Timeout = timeout;
      if (start) hc.StartPeriod = start;
      if (startInterval) hc.StartInterval = startInterval;
      const retries = flag(ins, "retries");
      if (retries !== undefined) {
        const n = Number(retries);
        if (!Number.isInteger(n) || n < 0) throw new InvalidParameterError(`invalid value for --retries: ${retries}`);
        if (n) hc.Retries = n;
      }
    } else throw new InvalidParameterError(`Unknown type "${kind}" in HEALTHCHECK (try CMD)`);
    return this.configStep(state, ins, ctx, () => {
      rc.Healthcheck = hc;
    }, `HEALTHCHECK &{${goList(hc.Test ?? [])} ${goQuote(goDuration(hc.Interval ?? 0))} ${goQuote(goDuration(hc.Timeout ?? 0))} ${goQuote(goDuration(hc.StartPeriod ?? 0))} ${goRune(hc.Retries ?? 0)}}`);
  }

  /** A step that changes only the config: an image with an empty layer in history. */
  private async configStep(state: StageState, ins: Instruction, ctx: RunContext, apply: () => void, describe: string): Promise<void> {
    const key = BuildCacheStore.key([state.imageId ?? "scratch", stateKey(state), ins.cmd, describe, ins.flags]);
    if (this.probeCache(state, key, ctx)) return;
    apply();
    const createdBy = `${nopShell(state)} #(nop)  ${describe}`;
    const id = await this.commit(state, { createdBy, emptyLayer: true, cacheKey: key });
    ctx.emit(` ---> ${shortId(id)}\n`);
  }

  private probeCache(state: StageState, key: string, ctx: RunContext): boolean {
    if (ctx.opts.noCache) return false;
    const id = this.deps.images.get(this.cache.get(key) ?? "")?.id;
    if (!id) return false;
    const image = this.deps.images.resolve(id);
    state.imageId = image.id;
    state.config = structuredClone(image.config);
    state.config.config ??= {};
    state.chainIds = [...image.chainIds];
    ctx.emit(` ---> Using cache\n ---> ${shortId(id)}\n`);
    return true;
  }

  private async commit(
    state: StageState,
    step: { createdBy: string; emptyLayer: boolean; cacheKey: string | undefined; layer?: { diffId: string; chainId: string } },
  ): Promise<string> {
    const created = new Date().toISOString();
    const history = [...(state.config.history ?? [])];
    if (step.createdBy) history.push({ created, created_by: step.createdBy, ...(step.emptyLayer ? { empty_layer: true } : {}) });
    const config: OciImageConfig = {
      ...state.config,
      architecture: state.config.architecture || hostArchitecture(),
      os: state.config.os || "linux",
      created,
      config: state.config.config,
      rootfs: { type: "layers", diff_ids: [...state.config.rootfs.diff_ids, ...(step.layer ? [step.layer.diffId] : [])] },
      history,
    };
    delete config.container;
    delete config.container_config;
    const chainIds = [...state.chainIds, ...(step.layer ? [step.layer.chainId] : [])];
    const [result] = await this.deps.images.commitImages([{ config: Buffer.from(JSON.stringify(config)), chainIds, parent: state.imageId }]);
    state.imageId = result.record.id;
    state.config = structuredClone(result.record.config);
    state.config.config ??= {};
    state.chainIds = chainIds;
    if (step.cacheKey) this.cache.put(step.cacheKey, result.record.id);
    return result.record.id;
  }

  /** A scratch overlay on top of the current image for COPY/ADD/WORKDIR; its upper dir becomes the layer. */
  private async withRoot(
    state: StageState,
    lease: Lease,
    fn: (root: string) => Promise<void> | void,
  ): Promise<{ diffId: string; chainId: string } | undefined> {
    const { snapshots } = this.deps;
    const sc = await this.scratch();
    const snapId = sc.id;
    try {
      const root = await snapshots.mount(snapId, state.chainIds.map((c) => snapshots.layerDir(c)));
      try {
        await fn(root);
      } finally {
        await snapshots.unmount(snapId);
      }
      const upper = snapshots.upperPath(snapId);
      if (fs.readdirSync(upper).length === 0) return undefined;
      const layer = await snapshots.applyLayer(nodeStream(packDirectory(upper, { whiteouts: true })), { parent: state.chainIds[state.chainIds.length - 1], lease });
      return { diffId: layer.diffId, chainId: layer.chainId };
    } finally {
      await sc.remove().catch(() => undefined);
    }
  }

  private async workdir(state: StageState, ins: Instruction, ctx: RunContext, dir: string): Promise<void> {
    const rc = state.config.config as ImageRuntimeConfig;
    let wd = path.posix.isAbsolute(dir) ? path.posix.normalize(dir) : path.posix.join(rc.WorkingDir || "/", dir);
    if (wd.length > 1) wd = wd.replace(/\/+$/, "");
    const key = BuildCacheStore.key([state.imageId ?? "scratch", stateKey(state), "WORKDIR", wd]);
    if (this.probeCache(state, key, ctx)) return;
    rc.WorkingDir = wd;
    const lease = this.deps.images.lease();
    try {
      // Docker creates a missing WORKDIR owned by root, whatever USER says.
      const layer = await this.withRoot(state, lease, (root) => void ensureDir(root, wd, { uid: 0, gid: 0 }));
      const id = await this.commit(state, { createdBy: `${nopShell(state)} #(nop) WORKDIR ${wd}`, emptyLayer: !layer, cacheKey: key, layer });
      ctx.emit(` ---> ${shortId(id)}\n`);
    } finally {
      lease.release();
    }
  }

  private async run(state: StageState, ins: Instruction, ctx: RunContext): Promise<void> {
    const rc = state.config.config as ImageRuntimeConfig;
    if (ins.flags.some((f) => f.name === "mount")) throw new InvalidParameterError("RUN --mount is not supported by this builder yet");
    const shell = rc.Shell?.length ? rc.Shell : DEFAULT_SHELL;
    let cmd: string[];
    if (ins.json) cmd = ins.json;
    else if (ins.heredocs.length && /^<<-?["']?[A-Za-z_][A-Za-z0-9_]*["']?$/.test(ins.rest)) cmd = [...shell, ins.heredocs[0].content];
    else if (ins.heredocs.length) cmd = [...shell, [ins.rest, ...ins.heredocs.map((h) => `${h.content}${h.name}`)].join("\n")];
    else cmd = [...shell, ins.rest];
    // Build args the step sees: the stage's declared ARGs with a value, and predefined ones given.
    const argEnv: string[] = [];
    for (const [k, v] of [...state.args].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) if (v !== undefined) argEnv.push(`${k}=${v}`);
    for (const k of Object.keys(ctx.opts.buildArgs).sort()) {
      const v = ctx.opts.buildArgs[k];
      if (PREDEFINED_ARGS.has(k) && !state.args.has(k) && v != null) argEnv.push(`${k}=${v}`);
    }
    const network = flag(ins, "network") ?? (ctx.opts.networkMode || "default");
    if (!["default", "none", "host", "bridge"].includes(network) && flag(ins, "network") !== undefined) {
      throw new InvalidParameterError(`unsupported RUN --network value: ${network}`);
    }
    const createdBy = (argEnv.length ? `|${argEnv.length} ${argEnv.join(" ")} ` : "") + cmd.join(" ");
    const key = BuildCacheStore.key([state.imageId ?? "scratch", stateKey(state), "RUN", cmd, argEnv, network === "none" ? "none" : ""]);
    if (this.probeCache(state, key, ctx)) return;
    if (!state.imageId) await this.commit(state, { createdBy: "", emptyLayer: true, cacheKey: undefined });
    const imageEnv = envMap(rc.Env ?? []);
    const env = [...(rc.Env ?? []), ...argEnv.filter((kv) => !imageEnv.has(kv.split("=")[0]))];
    const { containers } = this.deps;
    this.deps.authorize?.({ NetworkMode: network });
    const created = await containers.create({
      Image: state.imageId,
      Cmd: cmd,
      Entrypoint: [""],
      Env: env,
      User: rc.User ?? "",
      WorkingDir: rc.WorkingDir ?? "",
      Healthcheck: { Test: ["NONE"] },
      AttachStdout: true,
      AttachStderr: true,
      Labels: { [BUILD_LABEL]: "" },
      HostConfig: { NetworkMode: network },
    } as CreateContainerRequest);
    const cid = created.Id;
    ctx.emit(` ---> Running in ${shortId(cid)}\n`);
    let layer: { diffId: string; chainId: string } | undefined;
    const lease = this.deps.images.lease();
    const cleanups: Array<() => void> = [];
    try {
      const streamsP = containers.attach(cid, { stdin: false }).catch(() => undefined);
      const exited = containers.waitFor(cid, "next-exit");
      const onAbort = (): void => void containers.kill(cid).catch(() => undefined);
      ctx.opts.signal?.addEventListener("abort", onAbort, { once: true });
      cleanups.push(() => ctx.opts.signal?.removeEventListener("abort", onAbort));
      await containers.start(cid);
      // A client gone while the container was starting: the kill above found it not running yet.
      if (ctx.opts.signal?.aborted) onAbort();
      const streams = await streamsP;
      const done: Array<Promise<void>> = [];
      if (streams) {
        for (const s of [streams.stdout, streams.stderr]) {
          done.push(
            new Promise<void>((resolve) => {
              s.on("data", (chunk: Buffer) => ctx.emit(chunk.toString("utf8")));
              s.once("end", resolve);
              s.once("close", resolve);
              s.once("error", () => resolve());
            }),
          );
        }
      }
      const code = await exited;
      await Promise.race([Promise.all(done), new Promise((r) => setTimeout(r, 2000))]);
      streams?.close();
      if (ctx.opts.signal?.aborted) throw new BuildError("the build was cancelled: the client went away");
      if (code !== 0) throw new BuildError(`The command '${cmd.join(" ")}' returned a non-zero code: ${code}`, code);
      ctx.emit(`Removing intermediate container ${shortId(cid)}\n`);
      const upper = this.deps.snapshots.upperPath(cid);
      const li = await this.deps.snapshots.applyLayer(nodeStream(packDirectory(upper, { whiteouts: true, exclude: MOUNT_ARTIFACTS })), {
        parent: state.chainIds[state.chainIds.length - 1],
        lease,
      });
      layer = { diffId: li.diffId, chainId: li.chainId };
      const id = await this.commit(state, { createdBy, emptyLayer: false, cacheKey: key, layer });
      ctx.emit(` ---> ${shortId(id)}\n`);
    } finally {
      for (const c of cleanups) c();
      lease.release();
      await containers.remove(cid, { force: true, volumes: true }).catch(() => undefined);
    }
  }

  private async copy(state: StageState, ins: Instruction, ctx: RunContext, env: Map<string, string>): Promise<void> {
    const cmd = ins.cmd;
    const rc = state.config.config as ImageRuntimeConfig;
    let args = ins.json ?? splitWords(ins.rest).map((w) => processWord(w, env));
    if (ins.heredocs.length && !ins.json) args = splitWords(ins.rest).map((w) => (/^<<-?["']?[A-Za-z_]/.test(w) ? w : processWord(w, env)));
    if (args.length < 2) throw new InvalidParameterError(`${cmd} requires at least two arguments, but only one was provided. Destination could not be determined.`);
    const rawDest = args[args.length - 1];
    const srcs = args.slice(0, -1);
    for (const unsupported of ["parents", "exclude", "checksum", "keep-git-dir"]) {
      if (flag(ins, unsupported) !== undefined) throw new InvalidParameterError(`${cmd} --${unsupported} is not supported by this builder yet`);
    }
    const fromFlag = flag(ins, "from");
    const chownFlag = flag(ins, "chown");
    const chmodFlag = flag(ins, "chmod");
    let mode: number | undefined;
    if (chmodFlag !== undefined) {
      if (!/^[0-7]{3,4}$/.test(chmodFlag)) throw new InvalidParameterError(`invalid chmod parameter: ${chmodFlag}`);
      mode = parseInt(chmodFlag, 8);
    }
    // Where sources come from: the context, a stage, an image.
    let fromRoot: { root: string; cleanup: () => Promise<void> } | undefined;
    let sourceRoot = ctx.contextDir;
    let fromId = "";
    if (fromFlag !== undefined) {
      const name = processWord(fromFlag, env);
      const dep = ctx.stageRef(name, state.stage.index);
      let chain: string[];
      if (dep) {
        const built = ctx.results.get(dep.index);
        if (!built) throw new InvalidParameterError(`invalid from flag value ${name}: stage was not built`);
        chain = built.chainIds;
        fromId = built.imageId ?? "scratch";
      } else {
        let image: ImageRecord;
        try {
          image = this.deps.images.resolve(name);
        } catch (err) {
          if (err instanceof NotFoundError) throw new InvalidParameterError(`invalid from flag value ${name}: no build stage or local image named ${name}`);
          throw err;
        }
        chain = image.chainIds;
        fromId = image.id;
      }
      const sc = await this.scratch();
      fromRoot = { root: "", cleanup: sc.remove };
      const root = await this.deps.snapshots.mount(sc.id, chain.map((c) => this.deps.snapshots.layerDir(c)));
      fromRoot.root = root;
      sourceRoot = root;
    }
    const heredocDir = ins.heredocs.length ? fs.mkdtempSync(path.join(this.tmpRoot, "heredoc-")) : undefined;
    try {
      const sources: Source[] = [];
      for (const src of srcs) {
        const hd = /^<<-?["']?([A-Za-z_][A-Za-z0-9_]*)["']?$/.exec(src);
        const doc = hd ? ins.heredocs.find((h) => h.name === hd[1]) : undefined;
        if (doc && heredocDir) {
          const file = path.join(heredocDir, doc.name);
          fs.writeFileSync(file, doc.quoted ? doc.content : processWord(doc.content.replace(/["'\\]/g, "\\$&"), env), { mode: 0o644 });
          sources.push({ rel: doc.name, abs: file, isDir: false });
          continue;
        }
        if (cmd === "ADD" && /^(https?|git):\/\//.test(src)) throw new InvalidParameterError(`ADD of URLs is not supported by this builder yet: ${src}`);
        const found = resolveSources(cmd, sourceRoot, src, fromFlag === undefined);
        if (found.length === 0) throw new InvalidParameterError(`${cmd} failed: no source files were specified`);
        sources.push(...found);
      }
      let dest = rawDest;
      const destDir = dest.endsWith("/") || dest.endsWith("/.") || dest === ".";
      if (!path.posix.isAbsolute(dest)) dest = path.posix.join(rc.WorkingDir || "/", dest);
      const destRel = path.posix.normalize(dest).replace(/^\/+/, "").replace(/\/+$/, "");
      if (sources.length > 1 && !destDir) throw new InvalidParameterError(`When using ${cmd} with more than one source file, the destination must be a directory and end with a /`);
      const contentHash = hashSources(sources);
      const kind = sources.length > 1 ? "multi" : sources[0].isDir ? "dir" : "file";
      const describe = `${cmd} ${kind}:${contentHash} in ${rawDest} `;
      const key = BuildCacheStore.key([state.imageId ?? "scratch", stateKey(state), cmd, describe, dest, fromId, chownFlag === undefined ? "" : processWord(chownFlag, env), chmodFlag ?? "", ins.heredocs.length ? "heredoc" : ""]);
      if (this.probeCache(state, key, ctx)) return;
      const lease = this.deps.images.lease();
      try {
        const layer = await this.withRoot(state, lease, async (root) => {
          let uid = 0;
          let gid = 0;
          if (chownFlag) {
            const spec = processWord(chownFlag, env);
            try {
              ({ uid, gid } = await resolveUser(root, spec));
            } catch (err) {
              throw new InvalidParameterError(`unable to convert uid/gid chown string to host mapping: ${errorMessage(err)}`);
            }
          }
          const opts = { uid, gid, mode };
          for (const s of sources) {
            if (s.isDir) {
              copyInto(root, s.abs, destRel, opts, true);
              continue;
            }
            let existingDir = false;
            try {
              existingDir = fs.statSync(resolveInRoot(root, destRel, true)).isDirectory();
            } catch {
              existingDir = false;
            }
            if (cmd === "ADD" && fromFlag === undefined && isArchive(s.abs)) {
              const dirAbs = ensureDir(root, destRel, opts);
              await extractTar(dirAbs, fs.createReadStream(s.abs));
              continue;
            }
            const target = destDir || existingDir || destRel === "" ? path.posix.join(destRel, path.posix.basename(s.rel)) : destRel;
            copyInto(root, s.abs, target, opts, false);
          }
        });
        const id = await this.commit(state, { createdBy: `${nopShell(state)} #(nop) ${describe}`, emptyLayer: !layer, cacheKey: key, layer });
        ctx.emit(` ---> ${shortId(id)}\n`);
      } finally {
        lease.release();
      }
    } finally {
      if (heredocDir) fs.rmSync(heredocDir, { recursive: true, force: true });
      if (fromRoot) await fromRoot.cleanup().catch(() => undefined);
    }
  }

  /** POST /build/prune: forgets the cache and removes the images only the cache kept. */
  async prune(opts: { all?: boolean } = {}): Promise<{ CachesDeleted: string[] | null; SpaceReclaimed: number }> {
    void opts;
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
    return { CachesDeleted: deleted.length ? deleted : null, SpaceReclaimed: Math.max(0, before - after) };
  }
}

interface RunContext {
  metaArgs: Map<string, string | undefined>;
  contextDir: string;
  opts: BuildOptions;
  emit: (text: string) => void;
  usedArgs: Set<string>;
  results: Map<number, StageState>;
  stages: Stage[];
  stageRef: (ref: string, before: number) => Stage | undefined;
}

/**
 * What of a stage's state is not in its image config but changes a step's result: whether CMD
 * was set in this stage (ENTRYPOINT keeps it). Build args enter the keys of the steps that use
 * them (RUN's environment, expanded ENV/LABEL/... values).
 */
function stateKey(state: StageState): unknown {
  return [state.cmdSet];
}

function metaArgMap(metaArgs: Map<string, string | undefined>): Map<string, string> {
  const env = new Map<string, string>();
  for (const [k, v] of metaArgs) if (v !== undefined) env.set(k, v);
  return env;
}

/** ARG name[=default] ...: defaults expanded with `env`. */
function argDecls(ins: Instruction, env: Map<string, string>): Array<[string, string | undefined]> {
  return splitWords(ins.rest).map((w) => {
    const i = w.indexOf("=");
    if (i === -1) return [w, undefined];
    const name = w.slice(0, i);
    if (name === "") throw new InvalidParameterError(`dockerfile parse error on line ${ins.startLine}: ARG names can not be blank`);
    return [name, processWord(w.slice(i + 1), env)];
  });
}

/** ENV/LABEL arguments: `k=v k2="v 2"`, or the legacy `KEY value with spaces`. */
function nameValues(cmd: string, ins: Instruction, env: Map<string, string>): Array<[string, string]> {
  const raw = splitWords(ins.rest);
  if (raw.length && !raw[0].includes("=")) {
    const m = /^(\S+)\s+([\s\S]*)$/.exec(ins.rest);
    if (!m) throw new InvalidParameterError(`dockerfile parse error on line ${ins.startLine}: ${cmd} must have two arguments`);
    return [[processWord(m[1], env), processWord(m[2], env)]];
  }
  return raw.map((w) => {
    const i = w.indexOf("=");
    if (i === -1) throw new InvalidParameterError(`dockerfile parse error on line ${ins.startLine}: Syntax error - can't find = in ${JSON.stringify(w)}. Must be of the form: name=value`);
    const key = processWord(w.slice(0, i), env);
    if (key === "") throw new InvalidParameterError(`dockerfile parse error on line ${ins.startLine}: ${cmd} names can not be blank`);
    return [key, processWord(w.slice(i + 1), env)];
  });
}

/** Removes what .dockerignore excludes from an unpacked context. */
function pruneIgnored(root: string, rel: string, ignore: DockerIgnore): void {
  const dir = path.join(root, rel);
  for (const name of fs.readdirSync(dir)) {
    const childRel = rel ? `${rel}/${name}` : name;
    if (childRel === ".dockerignore") continue;
    const abs = path.join(root, childRel);
    const st = fs.lstatSync(abs);
    const excluded = ignore.excluded(childRel);
    if (st.isDirectory()) {
      if (excluded && !ignore.hasExceptions) fs.rmSync(abs, { recursive: true, force: true });
      else pruneIgnored(root, childRel, ignore);
    } else if (excluded) fs.rmSync(abs, { force: true });
  }
}

function familiar(ref: Reference): string {
  return familiarString(tagNameOnly(ref));
}

/** The shell prefix of a `#(nop)` history line: the stage's SHELL at that point. */
function nopShell(state: StageState): string {
  const shell = state.config.config?.Shell;
  return (shell?.length ? shell : DEFAULT_SHELL).join(" ");
}

/** Go's %q of a []string: ["a" "b"]. */
function goList(items: string[]): string {
  return `[${items.map(goQuote).join(" ")}]`;
}

/** Go's %q of an int: a quoted rune ('\x02'). */
function goRune(n: number): string {
  if (n >= 0x20 && n < 0x7f) return n === 0x27 ? "'\\''" : n === 0x5c ? "'\\\\'" : `'${String.fromCharCode(n)}'`;
  if (n < 0x100) return `'\\x${n.toString(16).padStart(2, "0")}'`;
  return `'\\u${n.toString(16).padStart(4, "0")}'`;
}

/** Go's time.Duration.String() for nanoseconds. */
function goDuration(ns: number): string {
  if (ns === 0) return "0s";
  const neg = ns < 0;
  let v = Math.abs(ns);
  let out: string;
  if (v < 1e3) out = `${v}ns`;
  else if (v < 1e6) out = `${trimZeros(v / 1e3)}µs`;
  else if (v < 1e9) out = `${trimZeros(v / 1e6)}ms`;
  else {
    const h = Math.floor(v / 3.6e12);
    v -= h * 3.6e12;
    const m = Math.floor(v / 6e10);
    v -= m * 6e10;
    const sec = `${trimZeros(v / 1e9)}s`;
    out = h ? `${h}h${m}m${sec}` : m ? `${m}m${sec}` : sec;
  }
  return neg ? `-${out}` : out;
}

function trimZeros(x: number): string {
  return x.toFixed(9).replace(/\.?0+$/, "");
}
