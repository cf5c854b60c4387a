import { InvalidParameterError, NotFoundError } from "../../lib/errors";
import type { ImageRecord } from "../images/types";
import type { StepTools } from "./step-tools";
import type { StageRun, StageState } from "./types";

/**
 * What a `from` names (COPY --from, RUN --mount from=): an earlier stage of this build, else a
 * local image. `what` names the flag in errors ("from flag").
 */
export async function stageOrImage(tools: StepTools, state: StageState, run: StageRun, name: string, what: string): Promise<{ id: string; chainIds: string[] }> {
  const dep = run.stageRef(name, state.stage.index);
  if (dep) {
    const built = await run.stageResult(dep.index);
    if (!built) throw new InvalidParameterError(`invalid ${what} value ${name}: stage was not built`);
    return { id: built.imageId ?? "scratch", chainIds: built.chainIds };
  }
  let image: ImageRecord;
  try {
    image = tools.deps.images.resolve(name);
  } catch (err) {
    if (err instanceof NotFoundError) throw new InvalidParameterError(`invalid ${what} value ${name}: no build stage or local image named ${name}`);
    throw err;
  }
  return { id: image.id, chainIds: image.chainIds };
}
