import * as path from "node:path";
import { InvalidParameterError, errorMessage } from "../../lib/errors";
import { shortId } from "../../lib/ids";
import { goQuote, parseGoDuration } from "../../lib/units";
import { parsePorts, processWord, validateSignal } from "../images/changes";
import type { ImageRuntimeConfig } from "../images/types";
import { BuildCacheStore } from "./build-cache";
import { ensureDir } from "./copy";
import { flag, splitWords, type Instruction } from "./dockerfile";
import { goDuration, goList, goRune } from "./go-format";
import { argDecls } from "./stages";
import type { StepTools } from "./step-tools";
import { DEFAULT_SHELL, nopShell, stateKey, type StageRun, type StageState } from "./types";

/**
 * The instructions that change only the image config (ARG, ENV, LABEL, MAINTAINER, CMD,
 * ENTRYPOINT, SHELL, EXPOSE, VOLUME, USER, STOPSIGNAL, ONBUILD, HEALTHCHECK) and WORKDIR.
 * Returns false for an instruction that is not one of them.
 */
export async function configInstruction(tools: StepTools, state: StageState, ins: Instruction, run: StageRun, env: Map<string, string>): Promise<boolean> {
  const rc = state.config.config as ImageRuntimeConfig;
  const word = (w: string): string => processWord(w, env);
  const words = (text: string): string[] => splitWords(text).map(word);
  const configStep = (apply: () => void, describe: string): Promise<void> => tools.committer.configStep(state, ins, run, apply, describe);
  switch (ins.cmd) {
    case "ARG": {
      for (const [k, v] of argDecls(ins, env)) {
        const given = Object.prototype.hasOwnProperty.call(run.opts.buildArgs, k) ? run.opts.buildArgs[k] : undefined;
        state.args.set(k, given ?? v ?? run.metaArgs.get(k));
        run.usedArgs.add(k);
      }
      // Docker's classic builder commits ARG as a step of its own (no layer).
      await configStep(() => undefined, `ARG ${ins.rest}`);
      return true;
    }
    case "ENV":
      await configStep(() => {
        const pairs = nameValues("ENV", ins, env);
        for (const [k, v] of pairs) {
          rc.Env = (rc.Env ?? []).filter((kv) => kv.split("=")[0] !== k);
          rc.Env.push(`${k}=${v}`);
        }
      }, `ENV ${nameValues("ENV", ins, env).map(([k, v]) => `${k}=${v}`).join(" ")}`);
      return true;
    case "LABEL":
      await configStep(() => {
        rc.Labels = { ...(rc.Labels ?? {}) };
        for (const [k, v] of nameValues("LABEL", ins, env)) rc.Labels[k] = v;
      }, `LABEL ${nameValues("LABEL", ins, env).map(([k, v]) => `${k}=${v}`).join(" ")}`);
      return true;
    case "MAINTAINER":
      await configStep(() => {
        state.config.author = word(ins.rest);
      }, `MAINTAINER ${ins.rest}`);
      return true;
    case "CMD": {
      const cmd = ins.json ?? [...(rc.Shell?.length ? rc.Shell : DEFAULT_SHELL), ins.rest];
      state.cmdSet = true;
      await configStep(() => {
        rc.Cmd = cmd;
      }, `CMD ${goList(cmd)}`);
      return true;
    }
    case "ENTRYPOINT": {
      const ep = ins.json ?? [...(rc.Shell?.length ? rc.Shell : DEFAULT_SHELL), ins.rest];
      await configStep(() => {
        rc.Entrypoint = ep;
        if (!state.cmdSet) rc.Cmd = null;
      }, `ENTRYPOINT ${goList(ep)}`);
      return true;
    }
    case "SHELL": {
      if (!ins.json) throw new InvalidParameterError("SHELL requires the arguments to be in JSON form");
      const shell = ins.json;
      await configStep(() => {
        rc.Shell = shell;
      }, `SHELL [${shell.join(" ")}]`);
      return true;
    }
    case "EXPOSE": {
      const specs = words(ins.rest);
      const ports = specs.flatMap((p) => parsePorts(p));
      await configStep(() => {
        rc.ExposedPorts = { ...(rc.ExposedPorts ?? {}) };
        for (const p of ports) rc.ExposedPorts[p] = {};
      }, `EXPOSE ${[...specs].sort().join(" ")}`);
      return true;
    }
    case "VOLUME": {
      const vols = ins.json ?? words(ins.rest);
      for (const v of vols) if (v.trim() === "") throw new InvalidParameterError("VOLUME specified can not be an empty string");
      await configStep(() => {
        rc.Volumes = { ...(rc.Volumes ?? {}) };
        for (const v of vols) rc.Volumes[v] = {};
      }, `VOLUME [${vols.join(" ")}]`);
      return true;
    }
    case "USER": {
      const user = word(ins.rest);
      await configStep(() => {
        rc.User = user;
      }, `USER ${user}`);
      return true;
    }
    case "STOPSIGNAL": {
      const sig = word(ins.rest);
      validateSignal(sig);
      await configStep(() => {
        rc.StopSignal = sig;
      }, `STOPSIGNAL ${sig}`);
      return true;
    }
    case "ONBUILD": {
      const trigger = ins.rest.trim();
      await configStep(() => {
        rc.OnBuild = [...(rc.OnBuild ?? []), trigger];
      }, `ONBUILD ${trigger}`);
      return true;
    }
    case "HEALTHCHECK":
      await healthcheck(tools, state, ins, run);
      return true;
    case "WORKDIR":
      await workdir(tools, state, run, word(ins.rest));
      return true;
    default:
      return false;
  }
}

function healthcheck(tools: StepTools, state: StageState, ins: Instruction, run: StageRun): Promise<void> {
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
  return tools.committer.configStep(state, ins, run, () => {
    rc.Healthcheck = hc;
  }, `HEALTHCHECK &{${goList(hc.Test ?? [])} ${goQuote(goDuration(hc.Interval ?? 0))} ${goQuote(goDuration(hc.Timeout ?? 0))} ${goQuote(goDuration(hc.StartPeriod ?? 0))} ${goRune(hc.Retries ?? 0)}}`);
}

async function workdir(tools: StepTools, state: StageState, run: StageRun, dir: string): Promise<void> {
  const rc = state.config.config as ImageRuntimeConfig;
  let wd = path.posix.isAbsolute(dir) ? path.posix.normalize(dir) : path.posix.join(rc.WorkingDir || "/", dir);
  if (wd.length > 1) wd = wd.replace(/\/+$/, "");
  const key = BuildCacheStore.key([state.imageId ?? "scratch", stateKey(state), "WORKDIR", wd]);
  if (tools.committer.probeCache(state, key, run)) return;
  rc.WorkingDir = wd;
  const lease = tools.deps.images.lease();
  try {
    // Docker creates a missing WORKDIR owned by root, whatever USER says.
    const layer = await tools.roots.withRoot(state, lease, (root) => void ensureDir(root, wd, { uid: 0, gid: 0 }));
    const id = await tools.committer.commit(state, { createdBy: `${nopShell(state)} #(nop) WORKDIR ${wd}`, emptyLayer: !layer, cacheKey: key, layer });
    run.emit(` ---> ${shortId(id)}\n`);
  } finally {
    lease.release();
  }
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
