import { shortId } from "../../lib/ids";
import { nodeStream } from "../../lib/tar/pack-path";
import { packDirectory } from "../../lib/tar/write";
import { containerOwners } from "../containers/mapped-ownership";
import { InvalidParameterError } from "../../lib/errors";
import type { CreateContainerRequest } from "../containers/create-request";
import { envMap } from "../images/changes";
import type { ImageRuntimeConfig } from "../images/types";
import { BuildCacheStore } from "./build-cache";
import { flag, type Instruction } from "./dockerfile";
import type { StepTools } from "./step-tools";
import { dropMountpoints, mountKeyParts, parseRunMounts, prepareRunMounts, type PreparedMounts } from "./run-mounts";
import { BUILD_LABEL, BuildError, DEFAULT_SHELL, PREDEFINED_ARGS, stageEnv, stateKey, type StageRun, type StageState } from "./types";

/** Paths the runtime creates as mount points in a RUN container's root: never part of a layer. */
const MOUNT_ARTIFACTS = ["etc/hosts", "etc/hostname", "etc/resolv.conf", "proc", "sys", "dev"];

/**
 * RUN: the command in a container of the stage's image (the engine's usual confinement, the
 * build's network mode or the step's --network), its output streamed into the build's, its
 * upper dir committed as the step's layer. The container goes whatever happens.
 */
export async function runStep(tools: StepTools, state: StageState, ins: Instruction, run: StageRun): Promise<void> {
  const rc = state.config.config as ImageRuntimeConfig;
  const cmd = runCommand(rc, ins);
  const argEnv = buildArgEnv(state, run);
  const mounts = parseRunMounts(ins, stageEnv(state), rc.WorkingDir ?? "");
  const stepNetwork = flag(ins, "network");
  if (stepNetwork !== undefined && !["default", "none", "host"].includes(stepNetwork)) {
    throw new InvalidParameterError(`dockerfile parse error on line ${ins.startLine}: unsupported RUN --network value "${stepNetwork}" (default, none or host)`);
  }
  const network = stepNetwork === undefined || stepNetwork === "default" ? run.opts.networkMode || "default" : stepNetwork;
  const createdBy = (argEnv.length ? `|${argEnv.length} ${argEnv.join(" ")} ` : "") + cmd.join(" ");
  // Computed before the mounts are made: a cache hit makes nothing.
  const mountKey = mounts.length ? await mountKeyParts(tools, state, ins, run, mounts) : [];
  const key = BuildCacheStore.key([state.imageId ?? "scratch", stateKey(state), "RUN", cmd, argEnv, network === "none" ? "none" : "", ...(mountKey.length ? [mountKey] : [])]);
  if (tools.committer.probeCache(state, key, run)) return;
  if (!state.imageId) await tools.committer.commit(state, { createdBy: "", emptyLayer: true, cacheKey: undefined });
  const imageEnv = envMap(rc.Env ?? []);
  const { containers } = tools.deps;
  tools.deps.authorize?.({ NetworkMode: network });
  const prepared = mounts.length ? await prepareRunMounts(tools, tools.caches, state, ins, run, mounts) : undefined;
  const env = [...(rc.Env ?? []), ...argEnv.filter((kv) => !imageEnv.has(kv.split("=")[0]))];
  try {
    await runContainer(tools, state, ins, run, { cmd, env, network, createdBy, key, prepared });
  } finally {
    await prepared?.release();
  }
}

interface ContainerStep {
  cmd: string[];
  env: string[];
  network: string;
  createdBy: string;
  key: string;
  prepared: PreparedMounts | undefined;
}

async function runContainer(tools: StepTools, state: StageState, ins: Instruction, run: StageRun, step: ContainerStep): Promise<void> {
  const rc = state.config.config as ImageRuntimeConfig;
  const { cmd, env, network, createdBy, key, prepared } = step;
  const { containers } = tools.deps;
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
  } as CreateContainerRequest, undefined, { mounts: prepared?.points ?? [], env: prepared?.env });
  const cid = created.Id;
  run.emit(` ---> Running in ${shortId(cid)}\n`);
  const lease = tools.deps.images.lease();
  const cleanups: Array<() => void> = [];
  try {
    const streamsP = containers.attach(cid, { stdin: false }).catch(() => undefined);
    const exited = containers.waitFor(cid, "next-exit");
    const onAbort = (): void => void containers.kill(cid).catch(() => undefined);
    run.opts.signal?.addEventListener("abort", onAbort, { once: true });
    cleanups.push(() => run.opts.signal?.removeEventListener("abort", onAbort));
    await containers.start(cid);
    // A client gone while the container was starting: the kill above found it not running yet.
    if (run.opts.signal?.aborted) onAbort();
    const streams = await streamsP;
    const done: Array<Promise<void>> = [];
    if (streams) {
      for (const s of [streams.stdout, streams.stderr]) {
        done.push(
          new Promise<void>((resolve) => {
            s.on("data", (chunk: Buffer) => run.emit(chunk.toString("utf8")));
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
    if (run.opts.signal?.aborted) throw new BuildError("the build was cancelled: the client went away");
    if (code !== 0) throw new BuildError(`The command '${cmd.join(" ")}' returned a non-zero code: ${code}`, code);
    run.emit(`Removing intermediate container ${shortId(cid)}\n`);
    const upper = tools.deps.snapshots.upperPath(cid);
    if (prepared) dropMountpoints(upper, state.chainIds.map((c) => tools.deps.snapshots.layerDir(c)), prepared.targets);
    // On a daemon that maps build containers (--userns-default=auto, --userns-remap), the layer carries the ids the RUN saw.
    const mapOwner = containerOwners(containers.get(cid).IdMapping);
    const li = await tools.deps.snapshots.applyLayer(nodeStream(packDirectory(upper, { whiteouts: true, exclude: MOUNT_ARTIFACTS, mapOwner })), {
      parent: state.chainIds[state.chainIds.length - 1],
      lease,
    });
    const layer = { diffId: li.diffId, chainId: li.chainId };
    const id = await tools.committer.commit(state, { createdBy, emptyLayer: false, cacheKey: key, layer });
    run.emit(` ---> ${shortId(id)}\n`);
  } finally {
    for (const c of cleanups) c();
    lease.release();
    await containers.remove(cid, { force: true, volumes: true }).catch(() => undefined);
  }
}

/** The command: exec form as written, shell form and heredocs through the stage's SHELL. */
function runCommand(rc: ImageRuntimeConfig, ins: Instruction): string[] {
  const shell = rc.Shell?.length ? rc.Shell : DEFAULT_SHELL;
  if (ins.json) return ins.json;
  if (ins.heredocs.length && /^<<-?["']?[A-Za-z_][A-Za-z0-9_]*["']?$/.test(ins.rest)) return [...shell, ins.heredocs[0].content];
  if (ins.heredocs.length) return [...shell, [ins.rest, ...ins.heredocs.map((h) => `${h.content}${h.name}`)].join("\n")];
  return [...shell, ins.rest];
}

/** Build args the step sees: the stage's declared ARGs with a value, and predefined ones given. */
function buildArgEnv(state: StageState, run: StageRun): string[] {
  const argEnv: string[] = [];
  for (const [k, v] of [...state.args].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) if (v !== undefined) argEnv.push(`${k}=${v}`);
  for (const k of Object.keys(run.opts.buildArgs).sort()) {
    const v = run.opts.buildArgs[k];
    if (PREDEFINED_ARGS.has(k) && !state.args.has(k) && v != null) argEnv.push(`${k}=${v}`);
  }
  return argEnv;
}
