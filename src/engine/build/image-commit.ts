import { shortId } from "../../lib/ids";
import { hostArchitecture } from "../images/config";
import type { ImageService } from "../images/image-service";
import type { OciImageConfig } from "../images/types";
import { BuildCacheStore } from "./build-cache";
import type { Instruction } from "./dockerfile";
import { nopShell, stateKey, type StageRun, type StageState } from "./types";

/** A step's result as the committer needs it. */
export interface CommitStep {
  /** The history line ("" for none: FROM scratch committed as is). */
  createdBy: string;
  emptyLayer: boolean;
  cacheKey: string | undefined;
  layer?: { diffId: string; chainId: string };
}

/**
 * Image config and history assembly: each step's result becomes an image (the stage's config,
 * one more history entry, one more layer or an empty one), recorded in the build cache under
 * the step's key; a cache hit puts the cached image's state back into the stage.
 */
export class ImageCommitter {
  constructor(
    private readonly images: ImageService,
    readonly cache: BuildCacheStore,
  ) {}

  async commit(state: StageState, step: CommitStep): Promise<string> {
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
    const [result] = await this.images.commitImages([{ config: Buffer.from(JSON.stringify(config)), chainIds, parent: state.imageId }]);
    state.imageId = result.record.id;
    state.config = structuredClone(result.record.config);
    state.config.config ??= {};
    state.chainIds = chainIds;
    if (step.cacheKey) this.cache.put(step.cacheKey, result.record.id);
    return result.record.id;
  }

  /** A cached result for `key`: the stage takes it over and the step is done. */
  probeCache(state: StageState, key: string, run: StageRun): boolean {
    if (run.opts.noCache) return false;
    const id = this.images.get(this.cache.get(key) ?? "")?.id;
    if (!id) return false;
    const image = this.images.resolve(id);
    state.imageId = image.id;
    state.config = structuredClone(image.config);
    state.config.config ??= {};
    state.chainIds = [...image.chainIds];
    run.emit(` ---> Using cache\n ---> ${shortId(id)}\n`);
    return true;
  }

  /** A step that changes only the config: an image with an empty layer in history. */
  async configStep(state: StageState, ins: Instruction, run: StageRun, apply: () => void, describe: string): Promise<void> {
    const key = BuildCacheStore.key([state.imageId ?? "scratch", stateKey(state), ins.cmd, describe, ins.flags]);
    if (this.probeCache(state, key, run)) return;
    apply();
    const createdBy = `${nopShell(state)} #(nop)  ${describe}`;
    const id = await this.commit(state, { createdBy, emptyLayer: true, cacheKey: key });
    run.emit(` ---> ${shortId(id)}\n`);
  }
}
