import type { Readable, Writable } from "node:stream";
import type { IdMapping } from "../lib/id-mapping";

/**
 * The OCI runtime boundary as the container engine sees it. The implementation runs the
 * OCI runtime (runc, or crun where it works) under conmon, so containers are not children of
 * the daemon and outlive it.
 */

/** Everything needed to write config.json for one container. Built by the container engine. */
export interface SpecInput {
  containerId: string;
  rootfsPath: string;
  readonlyRootfs: boolean;
  args: string[];
  env: string[];
  cwd: string;
  user: { uid: number; gid: number; additionalGids: number[] };
  terminal: boolean;
  /** Docker's HostConfig.ConsoleSize: the terminal size from the first instant (TTY only). */
  consoleSize?: { height: number; width: number };
  hostname: string;
  /** Files the engine wrote that are bind-mounted into the container (hosts, hostname, resolv.conf). */
  etcFiles: { hostname: string; hosts: string; resolvConf: string };
  /** Extra mounts (volumes, binds, tmpfs) in OCI form; later issues fill this. */
  extraMounts: Array<{ destination: string; type: string; source: string; options: string[] }>;
  privileged: boolean;
  capAdd: string[];
  capDrop: string[];
  noNewPrivileges: boolean;
  /** "default" = Docker-like default profile; "unconfined"; or the JSON text of a profile file. */
  seccomp: "default" | "unconfined" | { profileJson: string };
  /** "none" | "host" | a netns path to join. */
  network: "none" | "host" | { netnsPath: string };
  /** --pid/--ipc/--uts: absent = a namespace of its own; "host"; or another container's namespace file. */
  pidNamespace?: "host" | { nsPath: string };
  /** "none": a namespace of its own without /dev/shm. */
  ipcNamespace?: "host" | "none" | { nsPath: string };
  /** A host directory bound at /dev/shm instead of a tmpfs of the container's own (shared IPC). */
  shmSource?: string;
  utsNamespace?: "host";
  resources: {
    memory?: number;
    memorySwap?: number;
    cpuShares?: number;
    cpuQuota?: number;
    cpuPeriod?: number;
    /** Docker's NanoCpus (--cpus x 1e9); becomes quota/period 100000. Excludes cpuQuota/cpuPeriod. */
    nanoCpus?: number;
    cpusetCpus?: string;
    cpusetMems?: string;
    pidsLimit?: number;
  };
  /** Docker form: { Name: "nofile", Soft: 1024, Hard: 2048 }. */
  ulimits: Array<{ Name: string; Soft: number; Hard: number }>;
  /** cgroups path relative to the hierarchy roots, e.g. "/wharf/<id>". */
  cgroupsPath: string;
  /** Path of the init binary on the host when --init is set (bind-mounted as /sbin/docker-init... see spec.ts). */
  initPath?: string;
  shmSize?: number;
  sysctls?: Record<string, string>;
  /** A user namespace with this mapping (--userns=auto or the daemon's remap); absent = the host's ids. */
  idMapping?: IdMapping;
}

export interface CreateOptions {
  containerId: string;
  /** Directory for config.json, pid files and conmon's files. */
  bundleDir: string;
  spec: SpecInput;
  /** k8s-file log written by conmon. */
  logPath: string;
  /** --log-driver none: conmon keeps no log file (attach still works). */
  noLogFile?: boolean;
  openStdin: boolean;
  /**
   * Docker's StdinOnce: the attached client's end of stdin closes the container's stdin. Without
   * it stdin stays open across attaches (conmon --leave-stdin-open).
   */
  stdinOnce?: boolean;
  tty: boolean;
  /** HostConfig.Runtime: one of the runtimes the daemon offers; unset = its default. */
  runtime?: string;
}

export interface RuntimeState {
  status: "created" | "running" | "paused" | "stopped";
  pid: number;
}

export interface ExitInfo {
  exitCode: number;
  /** ISO 8601 time the exit file was written. */
  finishedAt: string;
  oomKilled: boolean;
}

/** Output of an attach: stdout and stderr separate; stdin when the container was opened with it. */
export interface AttachStreams {
  stdout: Readable;
  stderr: Readable;
  /** Writes go to the container's stdin; end() closes it. Undefined without OpenStdin. */
  stdin?: Writable;
  /** Detaches without touching the container. */
  close(): void;
}

/** What an exec changes from the container's own process (docker exec's options). */
export interface ExecOptions {
  args: string[];
  /** Added to the container's environment (KEY=V replaces the same KEY). */
  env: string[];
  cwd?: string;
  user?: { uid: number; gid: number; additionalGids: number[] };
  privileged: boolean;
  stdin: boolean;
  /** Run on a pty (exec -t): output is one stream, stdin goes to the terminal. */
  tty: boolean;
  consoleSize?: { height: number; width: number };
}

/** A running exec: its stdio, and its exit (or the runtime's refusal to start it). */
export interface ExecProcess {
  stdout: Readable;
  stderr: Readable;
  stdin?: Writable;
  /** Resolves with the host pid once the process runs (0 when it never started). */
  pid: Promise<number>;
  exit: Promise<{ exitCode: number; error?: string }>;
  kill(signal: number): void;
  /** Sets the pty's size (exec -t); a no-op without a TTY. */
  resize(height: number, width: number): void;
}

export interface ContainerRuntime {
  /** Writes the bundle, starts conmon, which runs `<runtime> create`. Resolves when the container exists. */
  create(opts: CreateOptions): Promise<{ pid: number }>;
  start(containerId: string): Promise<void>;
  kill(containerId: string, signal: number): Promise<void>;
  /** Freezes every process of the container (cgroup freezer). */
  pause(containerId: string): Promise<void>;
  resume(containerId: string): Promise<void>;
  /** Changes the cgroup limits of a running container (docker update). */
  update(containerId: string, resources: SpecInput["resources"]): Promise<void>;
  /** Runs another process in a running container (its namespaces, cgroups and confinement). */
  exec(containerId: string, opts: ExecOptions): Promise<ExecProcess>;
  /** Sets the size of the container's pty (TTY containers; conmon's control fifo). */
  resize(containerId: string, height: number, width: number): Promise<void>;
  /** Host pids of every process in the container. */
  pids(containerId: string): Promise<number[]>;
  /** Removes runtime state, cgroups and the bundle. Idempotent; force kills first. */
  delete(containerId: string, force: boolean): Promise<void>;
  /** null when the runtime does not know the container. */
  state(containerId: string): Promise<RuntimeState | null>;
  /** The exit conmon recorded, or null while the container has not exited. */
  readExit(containerId: string): Promise<ExitInfo | null>;
  /** Calls back once per container exit (watches conmon's exit dir). */
  onExit(listener: (containerId: string, exit: ExitInfo) => void): void;
  /** Connects to conmon's attach socket. Must be called before start to see all output. */
  attach(containerId: string, opts: { stdin: boolean }): Promise<AttachStreams>;
  /** Whether conmon for this container is still alive. */
  monitorAlive(containerId: string): Promise<boolean>;
  /** Asks the monitor to close its log file and open `logPath` anew (after a rotation renamed it). */
  reopenLog(containerId: string): Promise<void>;
}
