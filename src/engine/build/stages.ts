import { InvalidParameterError } from "../../lib/errors";
import { processWord } from "../images/changes";
import { flag, splitWords, type Dockerfile, type Instruction } from "./dockerfile";
import type { Stage } from "./types";

/** A Dockerfile cut into stages, with what the build target needs of them. */
export interface StagePlan {
  stages: Stage[];
  /** Meta ARGs (before the first FROM) with their value. */
  metaArgs: Map<string, string | undefined>;
  /** Build args some ARG declared (so far: the meta ARGs). */
  usedArgs: Set<string>;
  target: Stage;
  /** The stages the target needs, in Dockerfile order (dependencies first). */
  order: Stage[];
  /** For each needed stage: the stages it needs (FROM <stage>, COPY/RUN --mount from=<stage>). */
  dependsOn: Map<number, Set<number>>;
  /** `Step N/M`'s M: FROM plus instructions of every needed stage. */
  totalSteps: number;
  stageRef: (ref: string, before: number) => Stage | undefined;
}

/**
 * Stage planning and target selection: FROM lines start stages (names checked as Docker does),
 * meta ARGs take build args, --target picks the stage to build (default the last), and only the
 * stages it reaches through FROM, COPY --from and RUN --mount from= are built.
 */
export function planStages(df: Dockerfile, opts: { buildArgs: Record<string, string | null>; target?: string; labels: Record<string, string> }): StagePlan {
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
  const metaEnv = metaArgMap(metaArgs);
  const stageRef = (ref: string, before: number): Stage | undefined => {
    const lower = ref.toLowerCase();
    const byName = stages.find((s) => s.index < before && s.name === lower);
    if (byName) return byName;
    if (/^\d+$/.test(ref) && Number(ref) < before) return stages[Number(ref)];
    return undefined;
  };
  const dependsOn = new Map<number, Set<number>>();
  const visit = (s: Stage): void => {
    if (dependsOn.has(s.index)) return;
    const deps = new Set<number>();
    dependsOn.set(s.index, deps);
    const base = stageRef(processWord(s.from.rest.split(/\s+/)[0], metaEnv), s.index);
    if (base) deps.add(base.index);
    for (const ins of s.instructions) {
      for (const from of stageSources(ins)) {
        let ref = from;
        try {
          ref = processWord(from, metaEnv);
        } catch {
          // reported when the step runs
        }
        const dep = stageRef(ref, s.index);
        if (dep) deps.add(dep.index);
      }
    }
    for (const d of deps) visit(stages[d]);
  };
  visit(target);
  const order = stages.filter((s) => dependsOn.has(s.index));
  const totalSteps = order.reduce((n, s) => n + 1 + s.instructions.length, 0);
  return { stages, metaArgs, usedArgs, target, order, dependsOn, totalSteps, stageRef };
}

/** The `from=` names an instruction reads other stages through: COPY --from, RUN --mount from=. */
function stageSources(ins: Instruction): string[] {
  if (ins.cmd === "COPY") {
    const from = flag(ins, "from");
    return from === undefined ? [] : [from];
  }
  if (ins.cmd !== "RUN") return [];
  const out: string[] = [];
  for (const f of ins.flags) {
    if (f.name !== "mount" || !f.value) continue;
    for (const part of f.value.split(",")) {
      const m = /^from=(.+)$/.exec(part.trim());
      if (m) out.push(m[1]);
    }
  }
  return out;
}

export function metaArgMap(metaArgs: Map<string, string | undefined>): Map<string, string> {
  const env = new Map<string, string>();
  for (const [k, v] of metaArgs) if (v !== undefined) env.set(k, v);
  return env;
}

/** ARG name[=default] ...: defaults expanded with `env`. */
export function argDecls(ins: Instruction, env: Map<string, string>): Array<[string, string | undefined]> {
  return splitWords(ins.rest).map((w) => {
    const i = w.indexOf("=");
    if (i === -1) return [w, undefined];
    const name = w.slice(0, i);
    if (name === "") throw new InvalidParameterError(`dockerfile parse error on line ${ins.startLine}: ARG names can not be blank`);
    return [name, processWord(w.slice(i + 1), env)];
  });
}
