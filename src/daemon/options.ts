import { Command, Option } from "commander";
import { DEFAULT_POOL_USER } from "../engine/containers/userns-mode";

export interface DaemonOptions {
  hosts: string[];
  dataRoot: string;
  execRoot: string;
  /** Name or path of the default OCI runtime; "" = detect (crun where it works, else runc). */
  runtime: string;
  /** The runtime containers get when they name none (dockerd's --default-runtime): "" = the OCI runtime above, or "vm". */
  defaultRuntime: string;
  /** Guest kernel and initramfs of the vm runtime (default: scripts/build-vm-assets.sh's output). */
  vmKernel?: string;
  vmInitrd?: string;
  logLevel: "debug" | "info" | "warn" | "error" | "fatal";
  pidfile: string;
  group: string;
  /** cgroup parent of every container (dockerd's --cgroup-parent). */
  cgroupParent: string;
  /** Bridge interface of the default network (dockerd's --bridge). */
  bridge: string;
  /** Gateway address and subnet of the default bridge (dockerd's --bip). */
  bip: string;
  /** Where user networks without --subnet get theirs (dockerd's --default-address-pool base=…,size=…). */
  defaultAddressPool: { base: string; size: number };
  /** Registries that may be reached over plain HTTP (dockerd's --insecure-registry); loopback always may. */
  insecureRegistries: string[];
  /** Where docker.io's images are fetched instead of Docker Hub (dockerd's --registry-mirror), as host[:port]. */
  registryMirror?: string;
  /** TCP listeners' TLS (dockerd's --tls/--tlsverify and the three files). */
  tls: { enabled: boolean; verify: boolean; caCert: string; cert: string; key: string };
  /** Serve tcp:// without TLS (refused otherwise: anyone reaching the port would be root). */
  insecureTcp: boolean;
  /** JSON rules denying requests (privileged, host namespaces, cap-add, binds outside paths). */
  authorizationRules?: string;
  /** User namespaces (docs/userns.md): dockerd's --userns-remap, the default mode, the auto pool's user, how layers are shared. */
  userns: { remap?: string; defaultMode: "host" | "auto"; poolUser: string; layers: "auto" | "idmap" | "copy" };
}

export const DEFAULT_SOCKET = "/run/wharf.sock";

/** Parses wharfd's command line (dockerd's flag names where they exist). */
export function parseDaemonOptions(argv: string[]): DaemonOptions {
  const program = new Command("wharfd")
    .description("the wharf container engine daemon (speaks the Docker Engine API)")
    .option("-H, --host <address...>", "daemon socket(s) to listen on (unix:///path or tcp://host:port)", [])
    .option("--data-root <dir>", "root directory of persistent wharf state", "/var/lib/wharf")
    .option("--exec-root <dir>", "root directory for execution state files", "/run/wharf")
    .option("--runtime <name>", "default OCI runtime for containers (runc, crun, or a path)", "")
    .option("--default-runtime <name>", "runtime of containers that name none (the OCI runtime's name, or vm)", "")
    .option("--vm-kernel <file>", "guest kernel for --runtime vm")
    .option("--vm-initrd <file>", "guest initramfs (with wharf's agent) for --runtime vm")
    .addOption(new Option("-l, --log-level <level>", "logging level").choices(["debug", "info", "warn", "error", "fatal"]).default("info"))
    .option("-p, --pidfile <file>", "path to use for the daemon PID file")
    .option("-G, --group <name>", "group for the unix socket", "wharf")
    .option("--cgroup-parent <path>", "parent cgroup for all containers", "/wharf")
    .option("-b, --bridge <name>", "bridge interface of the default network", "wharf0")
    .option("--bip <cidr>", "gateway address and subnet of the default bridge network", "10.88.0.1/16")
    .option("--default-address-pool <pool>", "default address pool for user networks (base=CIDR,size=N)", "base=10.89.0.0/16,size=24")
    .option("--insecure-registry <host...>", "registry (host[:port]) that may be reached over plain HTTP", [])
    .option("--registry-mirror <url>", "registry to pull docker.io images from instead of Docker Hub")
    .option("--tls", "use TLS on tcp:// listeners; implied by --tlsverify")
    .option("--tlsverify", "use TLS and require client certificates signed by --tlscacert")
    .option("--tlscacert <file>", "trust client certificates signed by this CA", "/etc/wharf/ca.pem")
    .option("--tlscert <file>", "the daemon's TLS certificate", "/etc/wharf/cert.pem")
    .option("--tlskey <file>", "the daemon's TLS key", "/etc/wharf/key.pem")
    .option("--insecure-tcp", "allow tcp:// listeners without TLS (anyone who reaches them controls the host)")
    .option("--authorization-rules <file>", "JSON rules that deny requests (see docs/authorization.md)")
    .option("--userns-remap <user>", "map every container's root to a user's subordinate ids (default, or USER[:GROUP])")
    .addOption(new Option("--userns-default <mode>", "user namespace of containers that ask for none").choices(["host", "auto"]).default("host"))
    .option("--userns-pool <user>", "the --userns=auto pool: a user's ranges in /etc/subuid and /etc/subgid, or START:COUNT", DEFAULT_POOL_USER)
    .addOption(new Option("--userns-layers <how>", "how mapped containers share image layers: idmapped mounts, owner-shifted copies, or auto").choices(["auto", "idmap", "copy"]).default("auto"))
    .version("0.1.0", "-v, --version")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.parse(argv, { from: "user" });
  const opts = program.opts<{ host: string[]; dataRoot: string; execRoot: string; runtime: string; defaultRuntime: string; vmKernel?: string; vmInitrd?: string; logLevel: DaemonOptions["logLevel"]; pidfile?: string; group: string; cgroupParent: string; bridge: string; bip: string; defaultAddressPool: string; insecureRegistry: string[]; registryMirror?: string; tls?: boolean; tlsverify?: boolean; tlscacert: string; tlscert: string; tlskey: string; insecureTcp?: boolean; authorizationRules?: string; usernsRemap?: string; usernsDefault: "host" | "auto"; usernsPool: string; usernsLayers: "auto" | "idmap" | "copy" }>();
  const hosts = opts.host.length ? opts.host : [`unix://${DEFAULT_SOCKET}`];
  return {
    hosts,
    dataRoot: opts.dataRoot,
    execRoot: opts.execRoot,
    runtime: opts.runtime,
    defaultRuntime: opts.defaultRuntime,
    vmKernel: opts.vmKernel,
    vmInitrd: opts.vmInitrd,
    logLevel: opts.logLevel,
    pidfile: opts.pidfile ?? (opts.execRoot === "/run/wharf" ? "/run/wharf.pid" : `${opts.execRoot}/wharfd.pid`),
    group: opts.group,
    cgroupParent: opts.cgroupParent.startsWith("/") ? opts.cgroupParent : `/${opts.cgroupParent}`,
    bridge: opts.bridge,
    bip: opts.bip,
    defaultAddressPool: parseAddressPool(opts.defaultAddressPool),
    insecureRegistries: opts.insecureRegistry,
    registryMirror: opts.registryMirror ? opts.registryMirror.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "") : undefined,
    tls: { enabled: !!opts.tls || !!opts.tlsverify, verify: !!opts.tlsverify, caCert: opts.tlscacert, cert: opts.tlscert, key: opts.tlskey },
    insecureTcp: !!opts.insecureTcp,
    authorizationRules: opts.authorizationRules,
    userns: { remap: opts.usernsRemap, defaultMode: opts.usernsDefault, poolUser: opts.usernsPool, layers: opts.usernsLayers },
  };
}

/** "base=10.89.0.0/16,size=24" (dockerd's form). */
function parseAddressPool(text: string): { base: string; size: number } {
  const fields = Object.fromEntries(text.split(",").map((kv) => kv.split("=", 2) as [string, string]));
  const size = Number(fields.size);
  if (!fields.base || !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(fields.base) || !Number.isInteger(size) || size < 1 || size > 30) {
    throw new Error(`invalid --default-address-pool ${text}: want base=CIDR,size=N`);
  }
  return { base: fields.base, size };
}
