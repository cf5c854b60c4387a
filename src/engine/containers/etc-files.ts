import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";

/**
 * /etc/hostname, /etc/hosts and /etc/resolv.conf for a container, written by the engine into
 * the container's directory and bind-mounted by the runtime (Docker does the same).
 */
export interface EtcFilePaths {
  hostname: string;
  hosts: string;
  resolvConf: string;
}

export interface EtcFileOptions {
  hostname: string;
  domainname: string;
  networkMode: string;
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  extraHosts: string[];
  /** The container's address on its network, when it has one. */
  address?: string;
}

const HOSTS_HEADER = [
  "127.0.0.1\tlocalhost",
  "::1\tlocalhost ip6-localhost ip6-loopback",
  "fe00::0\tip6-localnet",
  "ff00::0\tip6-mcastprefix",
  "ff02::1\tip6-allnodes",
  "ff02::2\tip6-allrouters",
];

// Docker's fallback when the host only lists resolvers the container cannot reach (loopback ones).
const FALLBACK_NAMESERVERS = ["8.8.8.8", "8.8.4.4"];

async function readOr(file: string, fallback: string): Promise<string> {
  try {
    return await fs.readFile(file, "utf8");
  } catch {
    return fallback;
  }
}

/** The host's resolv.conf minus loopback resolvers, or --dns/--dns-search/--dns-option when given. */
export async function resolvConfFor(opts: EtcFileOptions, hostResolvConf = "/etc/resolv.conf"): Promise<string> {
  const host = await readOr(hostResolvConf, "");
  if (opts.networkMode === "host" && !opts.dns.length && !opts.dnsSearch.length && !opts.dnsOptions.length) return host;
  const lines = host.split("\n");
  let nameservers = opts.dns;
  if (!nameservers.length) {
    nameservers = lines
      .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
      .filter((ns): ns is string => ns !== undefined && !ns.startsWith("127.") && ns !== "::1");
    if (!nameservers.length) nameservers = FALLBACK_NAMESERVERS;
  }
  const search = opts.dnsSearch.length ? opts.dnsSearch : lines.flatMap((l) => /^\s*search\s+(.+)/.exec(l)?.[1].split(/\s+/) ?? []);
  const options = opts.dnsOptions.length ? opts.dnsOptions : lines.flatMap((l) => /^\s*options\s+(.+)/.exec(l)?.[1].split(/\s+/) ?? []);
  const out = nameservers.map((ns) => `nameserver ${ns}`);
  if (search.length) out.push(`search ${search.join(" ")}`);
  if (options.length) out.push(`options ${options.join(" ")}`);
  return out.join("\n") + "\n";
}

export function hostsFor(opts: EtcFileOptions): string {
  const lines = [...HOSTS_HEADER];
  for (const entry of opts.extraHosts) {
    // --add-host name:ip (Docker also accepts name=ip)
    const sep = entry.includes("=") ? entry.indexOf("=") : entry.indexOf(":");
    if (sep > 0) lines.push(`${entry.slice(sep + 1)}\t${entry.slice(0, sep)}`);
  }
  if (opts.address) {
    const fqdn = opts.domainname ? `${opts.hostname}.${opts.domainname} ` : "";
    lines.push(`${opts.address}\t${fqdn}${opts.hostname}`);
  }
  return lines.join("\n") + "\n";
}

export async function writeEtcFiles(containerDir: string, opts: EtcFileOptions): Promise<EtcFilePaths> {
  const paths: EtcFilePaths = {
    hostname: path.join(containerDir, "hostname"),
    hosts: path.join(containerDir, "hosts"),
    resolvConf: path.join(containerDir, "resolv.conf"),
  };
  const hostNetwork = opts.networkMode === "host";
  const hosts = hostNetwork ? await readOr("/etc/hosts", hostsFor(opts)) : hostsFor(opts);
  const hostname = hostNetwork ? os.hostname() : opts.hostname;
  await Promise.all([
    fs.writeFile(paths.hostname, hostname + "\n", { mode: 0o644 }),
    fs.writeFile(paths.hosts, hosts, { mode: 0o644 }),
    fs.writeFile(paths.resolvConf, await resolvConfFor(opts), { mode: 0o644 }),
  ]);
  return paths;
}
