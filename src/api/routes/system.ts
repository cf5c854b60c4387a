import * as os from "node:os";
import type { Router } from "../router";
import { sendJson } from "../router";
import { API_VERSION, MIN_API_VERSION } from "../version";

export interface SystemInfoSource {
  version: string;
  dataRoot: string;
  defaultRuntime: string;
  /** status: what Docker 25+ reports per runtime (the vm runtime's accelerator). */
  runtimes: Record<string, { path: string; status?: Record<string, string> }>;
  initBinary: string;
  containerCounts(): { total: number; running: number; paused: number; stopped: number };
  imageCount(): number;
  cgroupVersion: "1" | "2";
  /** Rootless mode (docs/rootless.md): no cgroup limits, and clients are told so. */
  rootless?: boolean;
  /** New containers get a user namespace unless they ask for the host's (--userns-remap, --userns-default=auto). */
  usernsByDefault?: boolean;
}

const ARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm" };

function pingHeaders(): Record<string, string> {
  return {
    "Content-Type": "text/plain; charset=utf-8",
    "Cache-Control": "no-cache, no-store, must-revalidate",
    Pragma: "no-cache",
    "Builder-Version": "1",
  };
}

function osRelease(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const text = require("node:fs").readFileSync("/etc/os-release", "utf8") as string;
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1] ?? "Linux";
  } catch {
    return "Linux";
  }
}

export function registerSystemRoutes(router: Router, source: SystemInfoSource): void {
  router.get("/_ping", async ({ res }) => {
    res.writeHead(200, { ...pingHeaders(), "Content-Length": 2 });
    res.end("OK");
  });
  router.head("/_ping", async ({ res }) => {
    res.writeHead(200, { ...pingHeaders(), "Content-Length": 0 });
    res.end();
  });

  router.get("/version", async ({ res }) => {
    const arch = ARCH[process.arch] ?? process.arch;
    sendJson(res, 200, {
      Platform: { Name: "wharf" },
      Components: [
        {
          Name: "Engine",
          Version: source.version,
          Details: {
            ApiVersion: API_VERSION,
            Arch: arch,
            BuildTime: "",
            Experimental: "false",
            GitCommit: "",
            GoVersion: `node${process.versions.node}`,
            KernelVersion: os.release(),
            MinAPIVersion: MIN_API_VERSION,
            Os: "linux",
          },
        },
        { Name: source.defaultRuntime, Version: "", Details: { GitCommit: "" } },
      ],
      Version: source.version,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: "",
      GoVersion: `node${process.versions.node}`,
      Os: "linux",
      Arch: arch,
      KernelVersion: os.release(),
      BuildTime: "",
    });
  });

  router.get("/info", async ({ res }) => {
    const counts = source.containerCounts();
    sendJson(res, 200, {
      ID: "",
      Containers: counts.total,
      ContainersRunning: counts.running,
      ContainersPaused: counts.paused,
      ContainersStopped: counts.stopped,
      Images: source.imageCount(),
      Driver: "overlay2",
      DriverStatus: [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]],
      Plugins: { Volume: ["local"], Network: ["host", "null"], Authorization: null, Log: ["k8s-file"] },
      MemoryLimit: !source.rootless,
      SwapLimit: false,
      CpuCfsPeriod: !source.rootless,
      CpuCfsQuota: !source.rootless,
      CPUShares: !source.rootless,
      CPUSet: !source.rootless,
      PidsLimit: !source.rootless,
      IPv4Forwarding: true,
      Debug: false,
      NFd: 0,
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: "k8s-file",
      CgroupDriver: "cgroupfs",
      CgroupVersion: source.cgroupVersion,
      NEventsListener: 0,
      KernelVersion: os.release(),
      OperatingSystem: osRelease(),
      OSVersion: "",
      OSType: "linux",
      Architecture: os.machine(),
      IndexServerAddress: "https://index.docker.io/v1/",
      RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: ["127.0.0.0/8"], Mirrors: [] },
      NCPU: os.cpus().length,
      MemTotal: os.totalmem(),
      DockerRootDir: source.dataRoot,
      HttpProxy: "",
      HttpsProxy: "",
      NoProxy: "",
      Name: os.hostname(),
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: source.version,
      Runtimes: source.runtimes,
      DefaultRuntime: source.defaultRuntime,
      Swarm: { NodeID: "", NodeAddr: "", LocalNodeState: "inactive", ControlAvailable: false, Error: "", RemoteManagers: null },
      LiveRestoreEnabled: true,
      Isolation: "",
      InitBinary: source.initBinary,
      ContainerdCommit: { ID: "" },
      RuncCommit: { ID: "" },
      InitCommit: { ID: "" },
      SecurityOptions: ["name=seccomp,profile=builtin", ...(source.usernsByDefault ? ["name=userns"] : []), ...(source.rootless ? ["name=rootless"] : [])],
      // rootless dockerd's words on a cgroup v1 host.
      Warnings: source.rootless ? ["WARNING: Running in rootless-mode without cgroups. To enable cgroups in rootless-mode, you need to boot the system in cgroup v2 mode."] : null,
    });
  });
}
