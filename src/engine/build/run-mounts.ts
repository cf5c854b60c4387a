import * as fs from "node:fs";
import * as path from "node:path";
import { InvalidParameterError, errorMessage } from "../../lib/errors";
import { resolveInRoot } from "../../lib/tar/resolve";
import type { MountPoint } from "../containers/mounts";
import { processWord } from "../images/changes";
import type { CacheMounts, CacheSharing } from "./cache-mounts";
import { hashSources } from "./copy";
import { stageOrImage } from "./stage-source";
import type { Instruction } from "./dockerfile";
import type { StepTools } from "./step-tools";
import { copyTree } from "./tree-copy";
import { lineError, type StageRun, type StageState } from "./types";

/** One RUN --mount, parsed and checked (BuildKit's options). */
export interface RunMount {
  type: "bind" | "cache" | "secret" | "tmpfs";
  /** Absolute path in the container ("" for a secret exposed only as env). */
  target: string;
  id: string;
  source: string;
  from?: string;
  readonly: boolean;
  sharing: CacheSharing;
  mode?: number;
  uid: number;
  gid: number;
  required: boolean;
  /** Secrets: also (or only) as this environment variable. */
  env?: string;
  size?: number;
}

const KEYS = new Set(["type", "id", "target", "dst", "destination", "source", "src", "from", "sharing", "mode", "uid", "gid", "readonly", "ro", "rw", "readwrite", "required", "size", "env"]);
const ALLOWED: Record<RunMount["type"], Set<string>> = {
  bind: new Set(["type", "target", "source", "from", "readonly", "rw"]),
  cache: new Set(["type", "target", "id", "source", "from", "sharing", "mode", "uid", "gid", "readonly"]),
  secret: new Set(["type", "target", "id", "required", "mode", "uid", "gid", "env"]),
  tmpfs: new Set(["type", "target", "size"]),
};
const CANONICAL: Record<string, string> = { dst: "target", destination: "target", src: "source", ro: "readonly", readwrite: "rw" };

/** The RUN's --mount flags; option values are expanded with the stage's environment. */
export function parseRunMounts(ins: Instruction, env: Map<string, string>, workdir: string): RunMount[] {
  const mounts: RunMount[] = [];
  for (const f of ins.flags) {
    if (f.name !== "mount") continue;
    const parseError = (msg: string): InvalidParameterError => new InvalidParameterError(`dockerfile parse error on line ${ins.startLine}: RUN --mount=${f.value ?? ""}: ${msg}`);
    const opts = new Map<string, string | undefined>();
    for (const raw of (f.value ?? "").split(",")) {
      const part = raw.trim();
      if (!part) continue;
      const eq = part.indexOf("=");
      const name = (eq === -1 ? part : part.slice(0, eq)).toLowerCase();
      if (!KEYS.has(name)) throw parseError(`unexpected key '${name}' in '${part}'`);
      const key = CANONICAL[name] ?? name;
      let value: string | undefined;
      try {
        value = eq === -1 ? undefined : processWord(part.slice(eq + 1), env);
      } catch (err) {
        throw parseError(errorMessage(err));
      }
      opts.set(key, value);
    }
    const type = opts.get("type") ?? "bind";
    if (type === "ssh") throw parseError("mount type \"ssh\" is not supported by this builder");
    if (!(type in ALLOWED)) throw parseError(`unsupported mount type "${type}"`);
    const t = type as RunMount["type"];
    for (const k of opts.keys()) if (!ALLOWED[t].has(k)) throw parseError(`option '${k}' is not valid for type=${t}`);
    const bool = (k: string): boolean | undefined => {
      if (!opts.has(k)) return undefined;
      const v = opts.get(k);
      if (v === undefined || v === "" || v === "true") return true;
      if (v === "false") return false;
      throw parseError(`invalid value for ${k}: ${v}`);
    };
    const int = (k: string, radix: number): number | undefined => {
      const v = opts.get(k);
      if (v === undefined) return undefined;
      const n = radix === 8 ? (/^[0-7]+$/.test(v) ? parseInt(v, 8) : NaN) : /^\d+$/.test(v) ? Number(v) : NaN;
      if (!Number.isSafeInteger(n) || (radix === 8 && n > 0o7777)) throw parseError(`invalid value for ${k}: ${v}`);
      return n;
    };
    let target = opts.get("target") ?? "";
    const id = opts.get("id") ?? "";
    const envName = opts.get("env");
    if (t === "secret") {
      if (!id && !target) throw parseError("secret mount requires an id or a target");
      if (envName !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(envName)) throw parseError(`invalid env name: ${envName}`);
      if (id && !/^[A-Za-z0-9._-]+$/.test(id)) throw parseError(`invalid secret id "${id}": letters, digits, '.', '_' and '-' only`);
      if (!target && envName === undefined) target = `/run/secrets/${id}`;
    } else if (!target) throw parseError("mount target is required");
    if (target && !path.posix.isAbsolute(target)) target = path.posix.join(workdir || "/", target);
    if (target) target = path.posix.normalize(target);
    if (target === "/") throw parseError("mount target can not be /");
    const sharing = (opts.get("sharing") ?? "shared") as CacheSharing;
    if (!["shared", "private", "locked"].includes(sharing)) throw parseError(`unsupported sharing value "${sharing}"`);
    const rw = bool("rw");
    const ro = bool("readonly");
    const size = opts.has("size") ? parseSize(opts.get("size") ?? "", parseError) : undefined;
    mounts.push({
      type: t,
      target,
      id: t === "secret" ? id || path.posix.basename(target) : t === "cache" ? id || target : id,
      source: opts.get("source") ?? "",
      from: opts.get("from"),
      readonly: t === "bind" ? rw !== true && ro !== false : ro === true,
      sharing,
      mode: int("mode", 8),
      uid: int("uid", 10) ?? 0,
      gid: int("gid", 10) ?? 0,
      required: bool("required") ?? false,
      env: envName,
      size,
    });
  }
  const seen = new Set<string>();
  for (const m of mounts) {
    if (!m.target) continue;
    if (seen.has(m.target)) throw new InvalidParameterError(`dockerfile parse error on line ${ins.startLine}: duplicate mount target ${m.target}`);
    seen.add(m.target);
  }
  return mounts;
}

function parseSize(v: string, err: (m: string) => InvalidParameterError): number {
  const m = /^(\d+)([kmg]?)b?$/i.exec(v);
  if (!m) throw err(`invalid value for size: ${v}`);
  return Number(m[1]) * { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as "" | "k" | "m" | "g"];
}

/**
 * What of the mounts enters the step's cache key, without making anything: a bind's source
 * (the context's content hash, or the stage/image id), a cache's and a secret's options (never a
 * secret's value). A required secret the client did not send fails here.
 */
export async function mountKeyParts(tools: StepTools, state: StageState, ins: Instruction, run: StageRun, mounts: RunMount[]): Promise<unknown[]> {
  const key: unknown[] = [];
  for (const m of mounts) {
    if (m.type === "bind") {
      let source = "";
      if (m.from === undefined) {
        let abs: string;
        try {
          abs = resolveInRoot(run.contextDir, m.source.replace(/^\/+/, ""), true);
        } catch (err) {
          throw lineError(ins, `RUN --mount source ${m.source}: ${errorMessage(err)}`);
        }
        if (!fs.existsSync(abs)) throw lineError(ins, `RUN --mount source "${m.source || "/"}" not found in the build context`);
        source = hashSources([{ rel: m.source, abs, isDir: fs.statSync(abs).isDirectory() }]);
      } else source = (await mountFrom(tools, state, ins, run, m.from)).id;
      key.push(["bind", m.target, m.readonly, m.from ?? "", m.source, source]);
    } else if (m.type === "cache") {
      const from = m.from === undefined ? "" : (await mountFrom(tools, state, ins, run, m.from)).id;
      key.push(["cache", m.target, m.id, m.sharing, from, m.source, m.mode ?? 0o755, m.uid, m.gid, m.readonly]);
    } else if (m.type === "secret") {
      if (m.required && !run.opts.secrets?.has(m.id)) throw lineError(ins, `secret ${m.id}: not found (pass it with --secret id=${m.id},src=FILE)`);
      key.push(["secret", m.id, m.target, m.env ?? "", m.required, m.mode ?? 0o400, m.uid, m.gid]);
    } else key.push(["tmpfs", m.target, m.size ?? 0]);
  }
  return key;
}

/** The mounts made ready for one RUN container. */
export interface PreparedMounts {
  points: MountPoint[];
  /** Secrets given as environment variables: into the RUN's runtime spec only (not its stored record, history or key). */
  env: string[];
  /** Targets in the container, for removing the mount points the runtime made from the layer. */
  targets: string[];
  release: () => Promise<void>;
}

/**
 * Makes each mount's host side: the build context or a stage/image root (bind; rw binds get a
 * throwaway copy), a cache dir, a secret file in a private temp dir, a tmpfs. Everything made
 * here goes in `release`, also when a later mount fails.
 */
export async function prepareRunMounts(tools: StepTools, caches: CacheMounts, state: StageState, ins: Instruction, run: StageRun, mounts: RunMount[]): Promise<PreparedMounts> {
  const points: MountPoint[] = [];
  const env: string[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  const release = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  const bind = (source: string, target: string, rw: boolean): void => {
    points.push({ Type: "bind", Source: source, Destination: target, Mode: "", RW: rw, Propagation: "rprivate", hidden: true });
  };
  /** The root of from= (a stage or image, mounted read-only aside), or the context. */
  const sourceRoot = async (m: RunMount): Promise<{ root: string }> => {
    if (m.from === undefined) return { root: run.contextDir };
    const from = await mountFrom(tools, state, ins, run, m.from);
    const mounted = await tools.roots.mountChain(from.chainIds);
    cleanups.push(mounted.cleanup);
    return { root: mounted.root };
  };
  const resolveSource = (root: string, source: string, where: string): string => {
    let abs: string;
    try {
      abs = resolveInRoot(root, source.replace(/^\/+/, ""), true);
    } catch (err) {
      throw lineError(ins, `RUN --mount source ${source}: ${errorMessage(err)}`);
    }
    if (!fs.existsSync(abs)) throw lineError(ins, `RUN --mount source "${source || "/"}" not found in ${where}`);
    return abs;
  };
  try {
    for (const m of mounts) {
      if (m.type === "bind") {
        const { root } = await sourceRoot(m);
        const abs = resolveSource(root, m.source, m.from === undefined ? "the build context" : m.from);
        if (m.readonly) {
          bind(abs, m.target, false);
          continue;
        }
        // rw: the RUN may write, but what it writes is thrown away.
        const copyDir = fs.mkdtempSync(path.join(tools.tmpRoot, "bind-"));
        cleanups.push(async () => fs.rmSync(copyDir, { recursive: true, force: true }));
        const copy = path.join(copyDir, "src");
        await copyTree(abs, copy, { contents: false });
        bind(copy, m.target, true);
      } else if (m.type === "cache") {
        let seed: string | undefined;
        if (m.from !== undefined) seed = resolveSource((await sourceRoot(m)).root, m.source, m.from);
        const held = await caches.acquire({ id: m.id, sharing: m.sharing, seed, mode: m.mode ?? 0o755, uid: m.uid, gid: m.gid });
        cleanups.push(held.release);
        bind(held.dir, m.target, !m.readonly);
      } else if (m.type === "secret") {
        const value = run.opts.secrets?.get(m.id);
        if (value === undefined) continue;
        if (m.env !== undefined) env.push(`${m.env}=${value.toString("utf8")}`);
        if (!m.target) continue;
        const dir = fs.mkdtempSync(path.join(tools.tmpRoot, "secret-"));
        cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
        const file = path.join(dir, "secret");
        fs.writeFileSync(file, value, { mode: 0o600 });
        fs.chownSync(file, m.uid, m.gid);
        fs.chmodSync(file, m.mode ?? 0o400);
        bind(file, m.target, false);
      } else {
        points.push({ Type: "tmpfs", Source: "", Destination: m.target, Mode: "", RW: true, Propagation: "", tmpfsOptions: m.size ? [`size=${m.size}`] : [], hidden: true });
      }
    }
  } catch (err) {
    await release();
    throw err;
  }
  return { points, env, targets: points.map((p) => p.Destination), release };
}

/**
 * Mount contents never enter the RUN's layer, nor do the mount points the runtime had to make
 * for them: a target (and its parents) that the image did not have is dropped from the upper
 * dir when nothing else was written there.
 */
export function dropMountpoints(upper: string, lowerDirs: string[], targets: string[]): void {
  const inImage = (rel: string): boolean => lowerDirs.some((dir) => fs.existsSync(path.join(dir, rel)));
  for (const target of targets) {
    let rel = target.replace(/^\/+/, "");
    let first = true;
    while (rel && rel !== ".") {
      if (inImage(rel)) break;
      const abs = path.join(upper, rel);
      let st: fs.Stats;
      try {
        st = fs.lstatSync(abs);
      } catch {
        break;
      }
      if (st.isDirectory()) {
        if (fs.readdirSync(abs).length) break;
        fs.rmdirSync(abs);
      } else if (first && st.isFile() && st.size === 0) fs.rmSync(abs);
      else break;
      first = false;
      rel = path.posix.dirname(rel);
    }
  }
}

/** `from=`'s stage or image; an unknown one fails with the line. */
async function mountFrom(tools: StepTools, state: StageState, ins: Instruction, run: StageRun, name: string): Promise<{ id: string; chainIds: string[] }> {
  try {
    return await stageOrImage(tools, state, run, name, "mount from");
  } catch (err) {
    throw lineError(ins, errorMessage(err));
  }
}
