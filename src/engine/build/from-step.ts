import { InvalidParameterError, NotFoundError } from "../../lib/errors";
import { parseNormalizedNamed } from "../../lib/reference";
import { processWord } from "../images/changes";
import { hostArchitecture } from "../images/config";
import type { ImageRecord } from "../images/types";
import type { StepTools } from "./step-tools";
import { DEFAULT_PATH, type Stage, type StageRun, type StageState } from "./types";

/**
 * FROM: a stage starts from scratch, from an earlier stage's result, or from an image (pulled
 * when this daemon lacks it, and again with --pull, as docker build does). As Docker's FROM,
 * an image without PATH gets the default one.
 */
export async function fromStep(tools: StepTools, stage: Stage, metaEnv: Map<string, string>, run: StageRun): Promise<StageState> {
  const state = await startState(tools, stage, metaEnv, run);
  const rc = (state.config.config ??= {});
  if (!(rc.Env ?? []).some((kv) => kv.startsWith("PATH="))) rc.Env = [...(rc.Env ?? []), `PATH=${DEFAULT_PATH}`];
  return state;
}

async function startState(tools: StepTools, stage: Stage, metaEnv: Map<string, string>, run: StageRun): Promise<StageState> {
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
  const base = run.stageRef(ref, stage.index);
  const { images } = tools.deps;
  let image: ImageRecord;
  if (base) {
    const built = (await run.stageResult(base.index)) as StageState;
    if (!built.imageId) return { ...state, config: structuredClone(built.config) };
    image = images.resolve(built.imageId);
  } else {
    let present = true;
    try {
      images.resolve(ref);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      present = false;
    }
    if ((!present || run.opts.pull) && tools.deps.pull) {
      let domain = "";
      try {
        domain = parseNormalizedNamed(ref).domain;
      } catch {
        // an invalid reference: the pull says so
      }
      await tools.deps.pull(ref, run.emit, run.opts.registryAuth?.get(domain));
    }
    image = images.resolve(ref);
  }
  state.imageId = image.id;
  state.config = structuredClone(image.config);
  state.config.config ??= {};
  state.chainIds = [...image.chainIds];
  return state;
}
