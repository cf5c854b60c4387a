import * as path from "node:path";
import { InvalidParameterError } from "../../lib/errors";
import type { ImageRuntimeConfig } from "./types";

/**
 * `--change` for import and commit: Dockerfile instructions that only edit the image config
 * (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR), with
 * Dockerfile syntax: JSON or shell form, quotes, `\` continuations and $VAR expansion.
 */

const VALID_CHANGE_COMMANDS = new Set(["cmd", "entrypoint", "env", "expose", "label", "onbuild", "stopsignal", "user", "volume", "workdir"]);

export interface Instruction {
  /** As written ("cmd", "CMD"). */
  keyword: string;
  /** Everything after the keyword, continuations joined. */
  rest: string;
}

function invalid(message: string): InvalidParameterError {
  return new InvalidParameterError(message);
}

/** Splits Dockerfile text into instructions: comments and blank lines dropped, `\` joins lines. */
export function parseInstructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\s+$/, "");
    if (/^\s*#/.test(line)) continue;
    if (pending === undefined && line.trim() === "") continue;
    if (line.endsWith("\\")) {
      pending = (pending ?? "") + line.slice(0, -1);
      continue;
    }
    const full = (pending ?? "") + line;
    pending = undefined;
    if (full.trim() !== "") out.push(split(full));
  }
  if (pending !== undefined && pending.trim() !== "") out.push(split(pending));
  return out;
}

function split(line: string): Instruction {
  const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(line) as RegExpExecArray;
  return { keyword: m[1], rest: m[2].trim() };
}

/** Applies `changes` (each may hold several lines) to a copy of `base`. */
export function applyChanges(base: ImageRuntimeConfig, changes: readonly string[]): ImageRuntimeConfig {
  const config: ImageRuntimeConfig = structuredClone(base);
  if (changes.length === 0) return config;
  const instructions = parseInstructions(changes.join("\n"));
  for (const ins of instructions) {
    if (!VALID_CHANGE_COMMANDS.has(ins.keyword.toLowerCase())) {
      throw invalid(`${ins.keyword} is not a valid change command`);
    }
  }
  const state = { cmdSet: false };
  for (const ins of instructions) dispatch(config, ins, state);
  return config;
}

function dispatch(config: ImageRuntimeConfig, ins: Instruction, state: { cmdSet: boolean }): void {
  const keyword = ins.keyword.toUpperCase();
  if (ins.rest === "") throw invalid(`${keyword} requires at least one argument`);
  const env = envMap(config.Env ?? []);
  switch (keyword) {
    case "CMD":
      config.Cmd = commandForm(config, ins.rest);
      state.cmdSet = true;
      return;
    case "ENTRYPOINT":
      config.Entrypoint = commandForm(config, ins.rest);
      // As in a Dockerfile: a new ENTRYPOINT drops an inherited CMD unless CMD was set here too.
      if (!state.cmdSet) config.Cmd = null;
      return;
    case "ENV":
      for (const [k, v] of nameValues(keyword, ins.rest, env)) setEnv(config, k, v);
      return;
    case "LABEL":
      config.Labels = { ...(config.Labels ?? {}) };
      for (const [k, v] of nameValues(keyword, ins.rest, env)) config.Labels[k] = v;
      return;
    case "EXPOSE": {
      config.ExposedPorts = { ...(config.ExposedPorts ?? {}) };
      for (const word of words(ins.rest, env)) for (const port of parsePorts(word)) config.ExposedPorts[port] = {};
      return;
    }
    case "USER":
      config.User = processWord(ins.rest, env);
      return;
    case "WORKDIR": {
      const dir = processWord(ins.rest, env);
      config.WorkingDir = path.posix.isAbsolute(dir) ? path.posix.normalize(dir) : path.posix.join(config.WorkingDir || "/", dir);
      if (config.WorkingDir.length > 1) config.WorkingDir = config.WorkingDir.replace(/\/+$/, "");
      return;
    }
    case "VOLUME": {
      const json = jsonArray(ins.rest);
      const vols = json ?? words(ins.rest, env);
      config.Volumes = { ...(config.Volumes ?? {}) };
      for (const v of vols) {
        if (v.trim() === "") throw invalid("VOLUME specified can not be an empty string");
        config.Volumes[v] = {};
      }
      return;
    }
    case "STOPSIGNAL": {
      const sig = processWord(ins.rest, env);
      validateSignal(sig);
      config.StopSignal = sig;
      return;
    }
    case "ONBUILD": {
      const trigger = split(ins.rest).keyword.toUpperCase();
      if (trigger === "ONBUILD") throw invalid("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
      if (trigger === "FROM" || trigger === "MAINTAINER") throw invalid(`${trigger} isn't allowed as an ONBUILD trigger`);
      config.OnBuild = [...(config.OnBuild ?? []), ins.rest];
      return;
    }
    default:
      throw invalid(`${ins.keyword} is not a valid change command`);
  }
}

/** JSON (exec) form when the text is a JSON array of strings, else the shell form. */
function commandForm(config: ImageRuntimeConfig, rest: string): string[] {
  const json = jsonArray(rest);
  if (json) return json;
  const shell = config.Shell?.length ? config.Shell : ["/bin/sh", "-c"];
  return [...shell, rest];
}

function jsonArray(rest: string): string[] | undefined {
  if (!rest.startsWith("[")) return undefined;
  try {
    const value: unknown = JSON.parse(rest);
    if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value as string[];
  } catch {
    // not JSON: the shell form, as Docker treats it
  }
  return undefined;
}

export function envMap(env: string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const kv of env) {
    const i = kv.indexOf("=");
    if (i > 0) map.set(kv.slice(0, i), kv.slice(i + 1));
  }
  return map;
}

function setEnv(config: ImageRuntimeConfig, key: string, value: string): void {
  const env = (config.Env ?? []).filter((kv) => kv.slice(0, kv.indexOf("=") === -1 ? kv.length : kv.indexOf("=")) !== key);
  env.push(`${key}=${value}`);
  config.Env = env;
}

/** ENV/LABEL arguments: `k=v k2="v 2"`, or the legacy `KEY value with spaces`. */
function nameValues(keyword: string, rest: string, env: Map<string, string>): Array<[string, string]> {
  const raw = rawWords(rest);
  if (!raw[0].includes("=")) {
    const m = /^(\S+)\s+([\s\S]*)$/.exec(rest);
    if (!m) throw invalid(`${keyword} must have two arguments`);
    return [[processWord(m[1], env), processWord(m[2], env)]];
  }
  return raw.map((word) => {
    const i = word.indexOf("=");
    if (i === -1) throw invalid(`Syntax error - can't find = in ${JSON.stringify(word)}. Must be of the form: name=value`);
    const key = processWord(word.slice(0, i), env);
    if (key === "") throw invalid(`${keyword} names can not be blank`);
    return [key, processWord(word.slice(i + 1), env)];
  });
}

/** Splits on unquoted whitespace, leaving quotes and escapes in place. */
function rawWords(text: string): string[] {
  const out: string[] = [];
  let word = "";
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      word += c;
      if (c === "\\" && quote === '"' && i + 1 < text.length) word += text[++i];
      else if (c === quote) quote = undefined;
    } else if (c === "\\" && i + 1 < text.length) {
      word += c + text[++i];
    } else if (c === '"' || c === "'") {
      quote = c;
      word += c;
    } else if (/\s/.test(c)) {
      if (word) out.push(word);
      word = "";
    } else word += c;
  }
  if (quote) throw invalid(`unexpected end of statement while looking for matching ${quote}`);
  if (word) out.push(word);
  return out;
}

function words(text: string, env: Map<string, string>): string[] {
  return rawWords(text).map((w) => processWord(w, env));
}

/** Removes quotes and escapes and expands $VAR / ${VAR} / ${VAR:-x} / ${VAR:+x}. */
export function processWord(word: string, env: Map<string, string>): string {
  let out = "";
  let i = 0;
  const expand = (): string => {
    // at "$"
    i++;
    if (word[i] === "{") {
      const end = word.indexOf("}", i);
      if (end === -1) throw invalid(`missing '}' in ${JSON.stringify(word)}`);
      const body = word.slice(i + 1, end);
      i = end + 1;
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([\s\S]*))?$/.exec(body);
      if (!m) throw invalid(`bad substitution: \${${body}}`);
      const [, name, op, alt] = m;
      const set = env.has(name);
      const value = env.get(name) ?? "";
      if (!op) return value;
      const altValue = processWord(alt ?? "", env);
      if (op === ":-") return value !== "" ? value : altValue;
      if (op === "-") return set ? value : altValue;
      if (op === ":+") return value !== "" ? altValue : "";
      return set ? altValue : ""; // "+"
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(word.slice(i));
    if (!m) return "$";
    i += m[0].length;
    return env.get(m[0]) ?? "";
  };
  while (i < word.length) {
    const c = word[i];
    if (c === "\\") {
      if (i + 1 < word.length) out += word[i + 1];
      i += 2;
    } else if (c === "'") {
      const end = word.indexOf("'", i + 1);
      if (end === -1) throw invalid(`unexpected end of statement while looking for matching '`);
      out += word.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= word.length) throw invalid(`unexpected end of statement while looking for matching "`);
        const d = word[i];
        if (d === '"') {
          i++;
          break;
        }
        if (d === "\\" && i + 1 < word.length && ['"', "$", "\\"].includes(word[i + 1])) {
          out += word[i + 1];
          i += 2;
        } else if (d === "$") out += expand();
        else {
          out += d;
          i++;
        }
      }
    } else if (c === "$") out += expand();
    else {
      out += c;
      i++;
    }
  }
  return out;
}

/** EXPOSE 80, 80/udp, 8000-8002/tcp -> ["80/tcp", ...] */
export function parsePorts(spec: string): string[] {
  const [range, protoRaw, extra] = spec.split("/");
  if (extra !== undefined) throw invalid(`invalid containerPort: ${spec}`);
  const proto = (protoRaw ?? "tcp").toLowerCase();
  if (!["tcp", "udp", "sctp"].includes(proto)) throw invalid(`invalid proto: ${protoRaw}`);
  const m = /^(\d+)(?:-(\d+))?$/.exec(range ?? "");
  if (!m) throw invalid(`invalid containerPort: ${range}`);
  const start = Number(m[1]);
  const end = m[2] !== undefined ? Number(m[2]) : start;
  if (start > 65535 || end > 65535 || end < start) throw invalid(`invalid range specified for port: ${range}`);
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto}`);
  return out;
}

const SIGNALS = new Set([
  "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT", "KILL", "PIPE", "POLL",
  "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP", "TTIN", "TTOU", "UNUSED", "URG",
  "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX",
]);

export function validateSignal(sig: string): void {
  if (/^\d+$/.test(sig)) {
    const n = Number(sig);
    if (n >= 1 && n <= 64) return;
  } else {
    const name = sig.toUpperCase().replace(/^SIG/, "");
    if (SIGNALS.has(name)) return;
    const rt = /^RTM(IN|AX)([+-])(\d+)$/.exec(name);
    if (rt && Number(rt[3]) <= 15) return;
  }
  throw invalid(`Invalid signal: ${sig}`);
}
