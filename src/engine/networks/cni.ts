import { spawn } from "node:child_process";
import * as path from "node:path";
import { SystemError } from "../../lib/errors";

/**
 * Runs CNI plugins as the CNI spec (1.0) says: one process per plugin, the operation in
 * CNI_* environment variables, the network configuration as JSON on stdin and the result (or
 * an error object) as JSON on stdout. A network is a list of plugins (a "conflist"): ADD runs
 * them in order, each receiving the previous plugin's result as `prevResult`; DEL runs them in
 * reverse order with the ADD result as `prevResult`.
 */

export const DEFAULT_CNI_PATH = "/usr/lib/cni";
const PLUGIN_TIMEOUT_MS = 30_000;

export interface CniPluginConf {
  type: string;
  /** Capabilities the plugin accepts through runtimeConfig (e.g. portMappings). */
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

export interface CniNetworkList {
  cniVersion: string;
  name: string;
  plugins: CniPluginConf[];
}

export interface CniInterface {
  name: string;
  mac?: string;
  sandbox?: string;
}

export interface CniIpConfig {
  /** CIDR form, e.g. 10.88.0.5/16. */
  address: string;
  gateway?: string;
  interface?: number;
}

export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIpConfig[];
  routes?: Array<{ dst: string; gw?: string }>;
  dns?: Record<string, unknown>;
}

/** What a plugin invocation needs besides its configuration. */
export interface CniRuntimeArgs {
  containerId: string;
  netnsPath: string;
  ifName: string;
  /** Values for plugins that declare the matching capability (portMappings, ...). */
  runtimeConfig?: Record<string, unknown>;
}

export class CniError extends SystemError {}

/** The configuration one plugin sees: its own conf plus the list's name and version. */
function pluginConfig(list: CniNetworkList, plugin: CniPluginConf, args: CniRuntimeArgs, prevResult?: CniResult): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, cniVersion: list.cniVersion, name: list.name };
  const wanted = Object.entries(plugin.capabilities ?? {}).filter(([, on]) => on).map(([cap]) => cap);
  const runtimeConfig = Object.fromEntries(wanted.filter((cap) => args.runtimeConfig?.[cap] !== undefined).map((cap) => [cap, args.runtimeConfig?.[cap]]));
  if (Object.keys(runtimeConfig).length) conf.runtimeConfig = runtimeConfig;
  if (prevResult) conf.prevResult = prevResult;
  return conf;
}

function execPlugin(cniPath: string, command: "ADD" | "DEL" | "CHECK", conf: Record<string, unknown>, args: CniRuntimeArgs): Promise<string> {
  const type = String(conf.type);
  if (!/^[A-Za-z0-9_.-]+$/.test(type)) return Promise.reject(new CniError(`invalid CNI plugin type ${type}`));
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(cniPath, type), [], {
      env: {
        PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
        CNI_COMMAND: command,
        CNI_CONTAINERID: args.containerId,
        CNI_NETNS: args.netnsPath,
        CNI_IFNAME: args.ifName,
        CNI_PATH: cniPath,
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), PLUGIN_TIMEOUT_MS);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new CniError(`CNI plugin ${type}: ${err.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve(stdout);
      // Errors come as {"code":N,"msg":"...","details":"..."} on stdout.
      let message = stderr.trim() || `exited with ${code ?? signal}`;
      try {
        const parsed = JSON.parse(stdout) as { msg?: string; details?: string };
        if (parsed.msg) message = parsed.details ? `${parsed.msg}: ${parsed.details}` : parsed.msg;
      } catch {
        // not JSON: keep stderr
      }
      reject(new CniError(`CNI plugin ${type} ${command} failed: ${message}`));
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(JSON.stringify(conf));
  });
}

/** ADD through the whole list; returns the last plugin's result. */
export async function cniAdd(list: CniNetworkList, args: CniRuntimeArgs, cniPath = DEFAULT_CNI_PATH): Promise<CniResult> {
  let result: CniResult | undefined;
  for (const plugin of list.plugins) {
    const out = await execPlugin(cniPath, "ADD", pluginConfig(list, plugin, args, result), args);
    result = JSON.parse(out) as CniResult;
  }
  if (!result) throw new CniError(`network ${list.name} has no CNI plugins`);
  return result;
}

/**
 * DEL through the list in reverse. Every plugin is asked even when one fails, so one broken
 * plugin cannot leave the others' state behind; the first error is reported.
 */
export async function cniDel(list: CniNetworkList, args: CniRuntimeArgs, prevResult?: CniResult, cniPath = DEFAULT_CNI_PATH): Promise<void> {
  let first: unknown;
  for (const plugin of [...list.plugins].reverse()) {
    try {
      await execPlugin(cniPath, "DEL", pluginConfig(list, plugin, args, prevResult), args);
    } catch (err) {
      first ??= err;
    }
  }
  if (first) throw first;
}
