/**
 * Parsers and validators for single run/create option values, with docker/cli's rules and
 * error texts. Pure: file contents and the environment are passed in.
 */
import { isIP } from "node:net";
import { indentJson } from "../display/text";

/** -e KEY=V passes; -e KEY takes KEY's value from the client's environment if it has one. */
export function resolveEnv(value: string, env: NodeJS.ProcessEnv): string {
  const eq = value.indexOf("=");
  const key = eq === -1 ? value : value.slice(0, eq);
  if (key === "") throw new Error(`invalid environment variable: ${value}`);
  if (eq !== -1) return value;
  const fromEnv = env[key];
  return fromEnv === undefined ? value : `${key}=${fromEnv}`;
}

export function validateLabel(value: string): string {
  const key = value.split("=")[0];
  if (key.trim() === "") throw new Error(`invalid label '${value}': empty name`);
  return value;
}

/**
 * A KEY=VALUE file (--env-file, --label-file): comments and blank lines skipped, leading
 * blanks trimmed; a bare KEY is looked up with `lookup` (env files) or dropped (labels).
 */
export function parseKvFile(
  name: string,
  text: string,
  lookup?: (key: string) => string | undefined,
): string[] {
  const out: string[] = [];
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  // A trailing newline does not start another line.
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  for (const rawLine of lines) {
    const line = rawLine.replace(/^\s+/, "");
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    const key = eq === -1 ? line : line.slice(0, eq);
    if (key.length === 0) throw new Error(`invalid env file (${name}): no variable name on line '${line}'`);
    if (/[ \t]/.test(key)) throw new Error(`invalid env file (${name}): variable '${key}' contains whitespaces`);
    if (eq !== -1) {
      out.push(line);
      continue;
    }
    const value = lookup?.(line);
    if (value !== undefined) out.push(`${key}=${value}`);
  }
  return out;
}

/** ["a=b", "c"] -> {a: "b", c: ""}; later keys win. */
export function kvToMap(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf("=");
    if (eq === -1) out[v] = "";
    else out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

const ULIMIT_NAMES = new Set([
  "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc",
  "rss", "rtprio", "rttime", "sigpending", "stack",
]);

export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

function parseInt64(value: string): number {
  if (!/^[+-]?\d+$/.test(value)) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
  return Number(value);
}

/** --ulimit name=soft[:hard] (go-units' ParseUlimit). */
export function parseUlimit(value: string): Ulimit {
  const eq = value.indexOf("=");
  if (eq === -1) throw new Error(`invalid ulimit argument: ${value}`);
  const name = value.slice(0, eq);
  if (!ULIMIT_NAMES.has(name)) throw new Error(`invalid ulimit type: ${name}`);
  const limits = value.slice(eq + 1).split(":");
  if (limits.length > 2) {
    throw new Error(
      `too many limit value arguments - ${value.slice(eq + 1)}, can only have up to two, \`soft[:hard]\``,
    );
  }
  const soft = parseInt64(limits[0]);
  const hard = limits.length === 2 ? parseInt64(limits[1]) : soft;
  if (hard !== -1 && soft > hard) {
    throw new Error(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  }
  return { Name: name, Soft: soft, Hard: hard };
}

/** --cpus 1.5 -> 1500000000 NanoCpus (docker's NanoCPUs.Set). */
export function parseNanoCpus(value: string): number {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(value.trim());
  const frac = /^([+-]?\d+)\/(\d+)$/.exec(value.trim());
  let nano: number;
  if (m && (m[2] !== "" || (m[3] ?? "") !== "")) {
    const whole = m[2] === "" ? "0" : m[2];
    const decimals = m[3] ?? "";
    if (decimals.replace(/0+$/, "").length > 9) throw new Error("value is too precise");
    nano = Number(whole) * 1e9 + Number((decimals + "000000000").slice(0, 9));
    if (m[1] === "-") nano = -nano;
  } else if (frac && Number(frac[2]) !== 0) {
    const exact = (Number(frac[1]) * 1e9) / Number(frac[2]);
    if (!Number.isInteger(exact)) throw new Error("value is too precise");
    nano = exact;
  } else {
    throw new Error(`failed to parse ${value} as a rational number`);
  }
  return nano;
}

/** --add-host host:ip or host=ip -> "host:ip" (IPv6 may be bracketed). */
export function validateExtraHost(value: string): string {
  const sep = value.search(/[=:]/);
  if (sep <= 0) throw new Error(`bad format for add-host: ${JSON.stringify(value)}`);
  const host = value.slice(0, sep);
  let ip = value.slice(sep + 1);
  if (ip.startsWith("[") && ip.endsWith("]")) ip = ip.slice(1, -1);
  if (ip !== "host-gateway" && isIP(ip) === 0) throw new Error(`invalid IP address in add-host: ${JSON.stringify(ip)}`);
  return `${host}:${ip}`;
}

export function validateIp(value: string): string {
  if (isIP(value.trim()) === 0) throw new Error(`IP address is not correctly formatted: ${value}`);
  return value.trim();
}

export function validateAttach(value: string): string {
  const s = value.toLowerCase();
  if (s === "stdin" || s === "stdout" || s === "stderr") return s;
  throw new Error("valid streams are STDIN, STDOUT and STDERR");
}

export interface RestartPolicy {
  Name: string;
  MaximumRetryCount: number;
}

/** "name[:max-retries]"; the daemon judges the name. */
export function parseRestartPolicy(policy: string): RestartPolicy {
  if (policy === "") return { Name: "", MaximumRetryCount: 0 };
  const colon = policy.indexOf(":");
  const name = colon === -1 ? policy : policy.slice(0, colon);
  const count = colon === -1 ? "" : policy.slice(colon + 1);
  if (colon !== -1 && name === "") throw new Error("invalid restart policy format: no policy provided before colon");
  let retries = 0;
  if (count !== "") {
    if (!/^[+-]?\d+$/.test(count)) {
      throw new Error("invalid restart policy format: maximum retry count must be an integer");
    }
    retries = Number(count);
  }
  return { Name: name, MaximumRetryCount: retries };
}

/**
 * --security-opt values: `no-new-privileges[:true]`, `label=...`, `apparmor=...`,
 * `seccomp=unconfined|builtin|FILE` (a file is sent as its compacted JSON contents).
 */
export function parseSecurityOpts(values: string[], readFile: (file: string) => string): string[] {
  return values.map((opt) => {
    let sep = opt.indexOf("=");
    let key = sep === -1 ? opt : opt.slice(0, sep);
    if (sep === -1 && key !== "no-new-privileges") {
      sep = opt.indexOf(":");
      key = sep === -1 ? opt : opt.slice(0, sep);
    }
    const value = sep === -1 ? "" : opt.slice(sep + 1);
    if ((sep === -1 || value === "") && key !== "no-new-privileges") {
      throw new Error(`invalid --security-opt: ${JSON.stringify(opt)}`);
    }
    if (key === "seccomp" && value !== "unconfined" && value !== "builtin") {
      let text: string;
      try {
        text = readFile(value);
      } catch (err) {
        throw new Error(`opening seccomp profile (${value}) failed: ${goFileError(err, value)}`);
      }
      try {
        JSON.parse(text);
        // Compacted as Go's json.Compact does: key order and number text kept.
        return `seccomp=${indentJson(text, "")}`;
      } catch (err) {
        throw new Error(`compacting json for seccomp profile (${value}) failed: ${(err as Error).message}`);
      }
    }
    return opt;
  });
}

/** Node's "ENOENT: no such file or directory, open 'x'" as Go says it: "open x: no such file or directory". */
export function goFileError(err: unknown, file: string): string {
  const e = err as NodeJS.ErrnoException;
  const reasons: Record<string, string> = {
    ENOENT: "no such file or directory",
    EACCES: "permission denied",
    EISDIR: "is a directory",
    ENOTDIR: "not a directory",
  };
  const reason = (e.code && reasons[e.code]) || e.message;
  return `open ${file}: ${reason}`;
}

const DEVICE_MODE = /^(?!.*(.).*\1)[rwm]{1,3}$/;

/** --device /dev/x[:/dev/y][:rwm] -> the API's DeviceMapping. */
export function parseDevice(value: string): { PathOnHost: string; PathInContainer: string; CgroupPermissions: string } {
  const parts = value.split(":");
  if (parts.length > 3 || parts[0] === "") throw new Error(`bad format for path: ${value}`);
  let dst = "";
  let perms = "rwm";
  if (parts.length === 3) {
    if (!DEVICE_MODE.test(parts[2])) throw new Error(`bad mode specified: ${parts[2]}`);
    dst = parts[1];
    perms = parts[2];
  } else if (parts.length === 2) {
    if (DEVICE_MODE.test(parts[1])) perms = parts[1];
    else dst = parts[1];
  }
  return { PathOnHost: parts[0], PathInContainer: dst || parts[0], CgroupPermissions: perms };
}
