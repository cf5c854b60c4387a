/** `info` / `system info`: docker's layout of GET /info. */
import type { CommandContext, CommandDef } from "../command";
import { formatFlag } from "../list-output";
import { bytesSize } from "../../lib/units";
import { clientVersion, renderFormat } from "./system-common";

/** The /info fields docker's `info` prints (everything optional: older daemons omit some). */
interface Info {
  Containers?: number;
  ContainersRunning?: number;
  ContainersPaused?: number;
  ContainersStopped?: number;
  Images?: number;
  ServerVersion?: string;
  Driver?: string;
  DriverStatus?: [string, string][] | null;
  SystemStatus?: [string, string][] | null;
  LoggingDriver?: string;
  CgroupDriver?: string;
  CgroupVersion?: string;
  Plugins?: { Volume?: string[] | null; Network?: string[] | null; Authorization?: string[] | null; Log?: string[] | null };
  Swarm?: { LocalNodeState?: string };
  Runtimes?: Record<string, unknown> | null;
  DefaultRuntime?: string;
  InitBinary?: string;
  ContainerdCommit?: { ID?: string };
  RuncCommit?: { ID?: string };
  InitCommit?: { ID?: string };
  SecurityOptions?: string[] | null;
  OSType?: string;
  KernelVersion?: string;
  OperatingSystem?: string;
  Architecture?: string;
  NCPU?: number;
  MemTotal?: number;
  Name?: string;
  ID?: string;
  DockerRootDir?: string;
  Debug?: boolean;
  NFd?: number;
  NGoroutines?: number;
  SystemTime?: string;
  NEventsListener?: number;
  HttpProxy?: string;
  HttpsProxy?: string;
  NoProxy?: string;
  Labels?: string[] | null;
  ExperimentalBuild?: boolean;
  RegistryConfig?: {
    InsecureRegistryCIDRs?: string[] | null;
    IndexConfigs?: Record<string, { Name?: string; Secure?: boolean }> | null;
    Mirrors?: string[] | null;
  } | null;
  LiveRestoreEnabled?: boolean;
  Warnings?: string[] | null;
}

/** "name=seccomp,profile=builtin" -> the name and its profile, as docker decodes them. */
function securityOptions(values: string[]): { name: string; profile?: string }[] {
  return values.map((v) => {
    const fields = Object.fromEntries(
      v.split(",").map((kv) => {
        const eq = kv.indexOf("=");
        return eq === -1 ? [kv, ""] : [kv.slice(0, eq), kv.slice(eq + 1)];
      }),
    );
    return { name: fields.name ?? v, profile: fields.profile };
  });
}

export function infoServerText(info: Info): string {
  const o: string[] = [];
  const line = (label: string, value: unknown): void => {
    o.push(`${label} ${value ?? ""}`);
  };
  const nonEmpty = (label: string, value: string | undefined): void => {
    if (value) o.push(`${label} ${value}`);
  };
  line(" Containers:", info.Containers ?? 0);
  line("  Running:", info.ContainersRunning ?? 0);
  line("  Paused:", info.ContainersPaused ?? 0);
  line("  Stopped:", info.ContainersStopped ?? 0);
  line(" Images:", info.Images ?? 0);
  nonEmpty(" Server Version:", info.ServerVersion);
  nonEmpty(" Storage Driver:", info.Driver);
  for (const [k, v] of info.DriverStatus ?? []) o.push(`  ${k}: ${v}`);
  for (const [k, v] of info.SystemStatus ?? []) o.push(` ${k}: ${v}`);
  nonEmpty(" Logging Driver:", info.LoggingDriver);
  nonEmpty(" Cgroup Driver:", info.CgroupDriver);
  nonEmpty(" Cgroup Version:", info.CgroupVersion);
  o.push(" Plugins:");
  line("  Volume:", (info.Plugins?.Volume ?? []).join(" "));
  line("  Network:", (info.Plugins?.Network ?? []).join(" "));
  if ((info.Plugins?.Authorization ?? []).length > 0) line("  Authorization:", (info.Plugins?.Authorization ?? []).join(" "));
  line("  Log:", (info.Plugins?.Log ?? []).join(" "));
  line(" Swarm:", info.Swarm?.LocalNodeState ?? "inactive");
  const runtimes = Object.keys(info.Runtimes ?? {});
  if (runtimes.length > 0) {
    line(" Runtimes:", runtimes.join(" "));
    line(" Default Runtime:", info.DefaultRuntime ?? "");
    // wharf's vm runtime says how its guests run (KVM, or TCG emulation and why).
    const vmStatus = (info.Runtimes?.vm as { status?: Record<string, string> } | undefined)?.status;
    if (vmStatus?.accelerator) line(" VM Accelerator:", `${vmStatus.accelerator} (${vmStatus["accelerator reason"] ?? ""})`);
    if (vmStatus?.kernel) line(" VM Kernel:", `${vmStatus["kernel release"] ?? "unknown"} (${vmStatus.kernel})`);
  }
  if (info.OSType === "linux") {
    line(" Init Binary:", info.InitBinary ?? "");
    line(" containerd version:", info.ContainerdCommit?.ID ?? "");
    line(" runc version:", info.RuncCommit?.ID ?? "");
    line(" init version:", info.InitCommit?.ID ?? "");
    const secopts = securityOptions(info.SecurityOptions ?? []);
    if (secopts.length > 0) {
      o.push(" Security Options:");
      for (const so of secopts) {
        o.push(`  ${so.name}`);
        if (so.profile) o.push(`   Profile: ${so.profile}`);
      }
    }
  }
  nonEmpty(" Kernel Version:", info.KernelVersion);
  nonEmpty(" Operating System:", info.OperatingSystem);
  nonEmpty(" OSType:", info.OSType);
  nonEmpty(" Architecture:", info.Architecture);
  line(" CPUs:", info.NCPU ?? 0);
  line(" Total Memory:", bytesSize(info.MemTotal ?? 0));
  nonEmpty(" Name:", info.Name);
  nonEmpty(" ID:", info.ID);
  line(" Docker Root Dir:", info.DockerRootDir ?? "");
  line(" Debug Mode:", info.Debug ?? false);
  if (info.Debug) {
    line("  File Descriptors:", info.NFd ?? 0);
    line("  Goroutines:", info.NGoroutines ?? 0);
    line("  System Time:", info.SystemTime ?? "");
    line("  EventsListeners:", info.NEventsListener ?? 0);
  }
  nonEmpty(" HTTP Proxy:", info.HttpProxy);
  nonEmpty(" HTTPS Proxy:", info.HttpsProxy);
  nonEmpty(" No Proxy:", info.NoProxy);
  if ((info.Labels ?? []).length > 0) {
    o.push(" Labels:");
    for (const l of info.Labels ?? []) o.push(`  ${l}`);
  }
  line(" Experimental:", info.ExperimentalBuild ?? false);
  const reg = info.RegistryConfig;
  const insecure = Object.values(reg?.IndexConfigs ?? {}).filter((c) => !c.Secure);
  if (reg && ((reg.InsecureRegistryCIDRs ?? []).length > 0 || Object.keys(reg.IndexConfigs ?? {}).length > 0)) {
    o.push(" Insecure Registries:");
    for (const c of insecure) o.push(`  ${c.Name ?? ""}`);
    for (const cidr of reg.InsecureRegistryCIDRs ?? []) o.push(`  ${cidr}`);
  }
  if ((reg?.Mirrors ?? []).length > 0) {
    o.push(" Registry Mirrors:");
    for (const m of reg?.Mirrors ?? []) o.push(`  ${m}`);
  }
  line(" Live Restore Enabled:", info.LiveRestoreEnabled ?? false);
  o.push("");
  return o.join("\n") + "\n";
}

async function runInfo(ctx: CommandContext, format: string): Promise<number> {
  const clientInfo = { Version: clientVersion(), Context: "default", Debug: false };
  let info: Info | undefined;
  let serverError: unknown;
  try {
    info = await ctx.client().json<Info>("GET", "/info");
  } catch (err) {
    serverError = err;
  }
  if (format !== "") {
    if (serverError) throw serverError;
    await renderFormat(ctx.io, format, { ...info, ClientInfo: clientInfo });
    return 0;
  }
  let text = `Client:\n Version:    ${clientInfo.Version}\n Context:    ${clientInfo.Context}\n Debug Mode: ${clientInfo.Debug}\n\nServer:\n`;
  if (info) text += infoServerText(info);
  ctx.io.stdout.write(text);
  if (info?.Warnings?.length) ctx.io.stderr.write(`${info.Warnings.join("\n")}\n`);
  if (serverError) throw serverError;
  return 0;
}

export const infoCommand: CommandDef = {
  usage: "[OPTIONS]",
  short: "Display system-wide information",
  aliases: ["system info", "info"],
  flags: [{ ...formatFlag(false), short: "f" }],
  args: { max: 0 },
  run: (ctx, flags) => runInfo(ctx, flags.string("format")),
};
