/**
 * The options `run` and `create` accept, as docker/cli declares them (names, shorthands,
 * types, help texts). Values that pflag would reject are rejected here, at parse time, with
 * the same messages; combinations are judged by run-options.ts.
 */
import { FlagSpec, validateInt } from "./flags";
import { ramInBytes, parseGoDuration } from "../lib/units";
import { parseMount } from "./opts/mounts";
import {
  parseNanoCpus,
  parseUlimit,
  resolveEnv,
  validateAttach,
  validateExtraHost,
  validateIp,
  validateLabel,
} from "./opts/values";

function bytesValidator(value: string): string {
  ramInBytes(value);
  return value;
}

/** --memory-swap also takes -1 (unlimited). */
function swapValidator(value: string): string {
  if (value === "-1") return value;
  return bytesValidator(value);
}

function durationValidator(value: string): string {
  parseGoDuration(value);
  return value;
}

function ulimitValidator(value: string): string {
  parseUlimit(value);
  return value;
}

function cpusValidator(value: string): string {
  parseNanoCpus(value);
  return value;
}

function mountValidator(value: string): string {
  parseMount(value, "/");
  return value;
}

const str = (name: string, description: string, extra: Partial<FlagSpec> = {}): FlagSpec => ({
  name,
  type: "string",
  description,
  ...extra,
});
const list = (name: string, description: string, extra: Partial<FlagSpec> = {}): FlagSpec => ({
  name,
  type: "list",
  repeat: true,
  description,
  ...extra,
});
const bool = (name: string, description: string, extra: Partial<FlagSpec> = {}): FlagSpec => ({
  name,
  bool: true,
  description,
  ...extra,
});
const int = (name: string, description: string, extra: Partial<FlagSpec> = {}): FlagSpec => ({
  name,
  type: "int",
  description,
  validate: validateInt,
  ...extra,
});
const bytes = (name: string, description: string, extra: Partial<FlagSpec> = {}): FlagSpec => ({
  name,
  type: "bytes",
  description,
  validate: bytesValidator,
  ...extra,
});
const duration = (name: string, description: string): FlagSpec => ({
  name,
  type: "duration",
  description,
  validate: durationValidator,
  defaultText: "0s",
});

/** Options shared by run and create. */
const CONTAINER_FLAGS: FlagSpec[] = [
  list("add-host", "Add a custom host-to-IP mapping (host:ip)", { validate: validateExtraHost }),
  list("annotation", "Add an annotation to the container (passed through to the OCI runtime)", { type: "map" }),
  list("attach", "Attach to STDIN, STDOUT or STDERR", { short: "a", validate: validateAttach }),
  int("blkio-weight", "Block IO (relative weight), between 10 and 1000, or 0 to disable", { type: "uint16" }),
  list("cap-add", "Add Linux capabilities"),
  list("cap-drop", "Drop Linux capabilities"),
  str("cgroup-parent", "Optional parent cgroup for the container"),
  str("cgroupns", "Cgroup namespace to use (host|private)"),
  str("cidfile", "Write the container ID to the file"),
  int("cpu-period", "Limit CPU CFS (Completely Fair Scheduler) period"),
  int("cpu-quota", "Limit CPU CFS (Completely Fair Scheduler) quota"),
  int("cpu-rt-period", "Limit CPU real-time period in microseconds"),
  int("cpu-rt-runtime", "Limit CPU real-time runtime in microseconds"),
  int("cpu-shares", "CPU shares (relative weight)", { short: "c" }),
  { name: "cpus", type: "decimal", description: "Number of CPUs", validate: cpusValidator },
  str("cpuset-cpus", "CPUs in which to allow execution (0-3, 0,1)"),
  str("cpuset-mems", "MEMs in which to allow execution (0-3, 0,1)"),
  list("device", "Add a host device to the container"),
  list("device-cgroup-rule", "Add a rule to the cgroup allowed devices list"),
  list("dns", "Set custom DNS servers", { validate: validateIp }),
  list("dns-option", "Set DNS options"),
  list("dns-opt", "Set DNS options", { hidden: true }),
  list("dns-search", "Set custom DNS search domains"),
  str("domainname", "Container NIS domain name"),
  str("entrypoint", "Overwrite the default ENTRYPOINT of the image"),
  list("env", "Set environment variables", { short: "e", validate: (v) => (resolveEnv(v, {}), v) }),
  list("env-file", "Read in a file of environment variables"),
  list("expose", "Expose a port or a range of ports"),
  list("group-add", "Add additional groups to join"),
  str("health-cmd", "Command to run to check health"),
  duration("health-interval", "Time between running the check (ms|s|m|h)"),
  int("health-retries", "Consecutive failures needed to report unhealthy"),
  duration("health-start-interval", "Time between running the check during the start period (ms|s|m|h)"),
  duration("health-start-period", "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h)"),
  duration("health-timeout", "Maximum time to allow one check to run (ms|s|m|h)"),
  str("hostname", "Container host name", { short: "h" }),
  bool("init", "Run an init inside the container that forwards signals and reaps processes"),
  bool("interactive", "Keep STDIN open even if not attached", { short: "i" }),
  str("ip", "IPv4 address (e.g., 172.30.100.104)"),
  str("ip6", "IPv6 address (e.g., 2001:db8::33)"),
  str("ipc", "IPC mode to use"),
  str("isolation", "Container isolation technology"),
  list("label", "Set meta data on a container", { short: "l", validate: validateLabel }),
  list("label-file", "Read in a line delimited file of labels"),
  list("link", "Add link to another container"),
  str("log-driver", "Logging driver for the container"),
  list("log-opt", "Log driver options"),
  str("mac-address", "Container MAC address (e.g., 92:d0:c6:0a:29:33)"),
  bytes("memory", "Memory limit", { short: "m" }),
  bytes("memory-reservation", "Memory soft limit"),
  bytes("memory-swap", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", {
    validate: swapValidator,
  }),
  int("memory-swappiness", "Tune container memory swappiness (0 to 100)", { defaultText: "-1" }),
  { name: "mount", type: "mount", repeat: true, description: "Attach a filesystem mount to the container", validate: mountValidator },
  str("name", "Assign a name to the container"),
  str("network", "Connect a container to a network", { type: "network" }),
  str("net", "Connect a container to a network", { hidden: true }),
  list("network-alias", "Add network-scoped alias for the container"),
  list("net-alias", "Add network-scoped alias for the container", { hidden: true }),
  bool("no-healthcheck", "Disable any container-specified HEALTHCHECK"),
  bool("oom-kill-disable", "Disable OOM Killer"),
  int("oom-score-adj", "Tune host's OOM preferences (-1000 to 1000)"),
  str("pid", "PID namespace to use"),
  int("pids-limit", "Tune container pids limit (set -1 for unlimited)"),
  str("platform", "Set platform if server is multi-platform capable"),
  bool("privileged", "Give extended privileges to this container"),
  list("publish", "Publish a container's port(s) to the host", { short: "p" }),
  bool("publish-all", "Publish all exposed ports to random ports", { short: "P" }),
  str("pull", 'Pull image before running ("always", "missing", "never")', { defaultText: '"missing"' }),
  bool("quiet", "Suppress the pull output", { short: "q" }),
  bool("read-only", "Mount the container's root filesystem as read only"),
  str("restart", "Restart policy to apply when a container exits", { defaultText: '"no"' }),
  bool("rm", "Automatically remove the container and its associated anonymous volumes when it exits"),
  str("runtime", "Runtime to use for this container"),
  list("security-opt", "Security Options"),
  bytes("shm-size", "Size of /dev/shm"),
  str("stop-signal", "Signal to stop the container"),
  int("stop-timeout", "Timeout (in seconds) to stop a container"),
  list("storage-opt", "Storage driver options for the container"),
  list("sysctl", "Sysctl options", { type: "map" }),
  list("tmpfs", "Mount a tmpfs directory"),
  bool("tty", "Allocate a pseudo-TTY", { short: "t" }),
  { name: "ulimit", type: "ulimit", repeat: true, description: "Ulimit options", validate: ulimitValidator },
  str("user", "Username or UID (format: <name|uid>[:<group|gid>])", { short: "u" }),
  str("userns", "User namespace to use"),
  str("uts", "UTS namespace to use"),
  list("volume", "Bind mount a volume", { short: "v" }),
  str("volume-driver", "Optional volume driver for the container"),
  list("volumes-from", "Mount volumes from the specified container(s)"),
  str("workdir", "Working directory inside the container", { short: "w" }),
];

/** Options only `run` has. */
const RUN_ONLY_FLAGS: FlagSpec[] = [
  bool("detach", "Run container in background and print container ID", { short: "d" }),
  str("detach-keys", "Override the key sequence for detaching a container"),
  bool("sig-proxy", "Proxy received signals to the process", { defaultText: "true" }),
];

export function containerFlags(command: "run" | "create"): FlagSpec[] {
  return command === "run" ? [...CONTAINER_FLAGS, ...RUN_ONLY_FLAGS] : CONTAINER_FLAGS;
}
