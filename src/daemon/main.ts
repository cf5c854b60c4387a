import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { registerContainerRoutes } from "../api/routes/containers";
import { registerDiskUsageRoutes } from "../api/routes/disk-usage";
import { registerBuildCacheRoutes } from "../api/routes/build-cache";
import { registerBuildRoutes } from "../api/routes/build";
import { Builder } from "../engine/build/builder";
import { registerEventRoutes } from "../api/routes/events";
import { registerExecRoutes } from "../api/routes/exec";
import { registerContainerFsRoutes } from "../api/routes/container-fs";
import { registerImageRoutes } from "../api/routes/images";
import { registerAuthRoutes } from "../api/routes/auth";
import { LayerDigests } from "../engine/distribution/layer-digests";
import { registerNetworkRoutes } from "../api/routes/networks";
import { registerSystemRoutes } from "../api/routes/system";
import { registerVolumeRoutes } from "../api/routes/volumes";
import { Router } from "../api/router";
import { ApiServer, type TlsOptions } from "../api/server";
import { Authorization } from "../api/authorization";
import { ContainerService } from "../engine/containers/container-service";
import { ContainerStore } from "../engine/containers/container-store";
import { ExecService } from "../engine/containers/exec-service";
import { ContainerFilesystem } from "../engine/containers/filesystem";
import { ContainerArchive } from "../engine/containers/archive";
import { HealthMonitor } from "../engine/containers/health";
import { LogRotator } from "../engine/containers/log-rotator";
import { EventLog } from "../engine/events";
import { ImageService } from "../engine/images/image-service";
import { hostArchitecture } from "../engine/images/config";
import type { RegistryCredentials } from "../engine/distribution/auth";
import { pullImage } from "../engine/distribution/pull";
import type { Distribution } from "../engine/distribution/registries";
import { parseNormalizedNamed, tagNameOnly } from "../lib/reference";
import { EmbeddedDns } from "../engine/networks/dns";
import { NetworkService } from "../engine/networks/network-service";
import { NetworkStore } from "../engine/networks/network-store";
import { VolumeService } from "../engine/volumes/volume-service";
import { VolumeStore } from "../engine/volumes/volume-store";
import { ConmonRuntime } from "../runtime/conmon-runtime";
import { detectRuntimes, findConmon, findInitBinary } from "../runtime/detect";
import { setupVmRuntime } from "../runtime/vm/setup";
import { VM_RUNTIME_NAME } from "../runtime/vm/vm-limits";
import { resolveUser } from "../runtime/user";
import { ContentStore } from "../store/content";
import { Metadata } from "../store/metadata";
import { SnapshotStore } from "../store/snapshots";
import { UsernsPolicy } from "../engine/containers/userns-mode";
import { lockDataRoot } from "./data-root-lock";
import { detectRootless } from "./rootless";
import { RootlessKitPorts } from "../engine/networks/rootlesskit-ports";
import { type DaemonOptions, parseDaemonOptions } from "./options";

export const VERSION = "0.1.0";

function groupId(name: string): number | undefined {
  try {
    const line = fs.readFileSync("/etc/group", "utf8").split("\n").find((l) => l.split(":")[0] === name);
    return line ? Number(line.split(":")[2]) : undefined;
  } catch {
    return undefined;
  }
}

function cgroupVersion(): "1" | "2" {
  try {
    return fs.existsSync("/sys/fs/cgroup/cgroup.controllers") ? "2" : "1";
  } catch {
    return "1";
  }
}

/** Wires the layers together: the only place that knows every constructor. */
export async function startDaemon(opts: DaemonOptions): Promise<{ shutdown(): Promise<void> }> {
  // Until the API listens nothing else holds the process open, and start-up waits on work whose
  // timers and watches are unref'd (a leftover build container killed by recover(), say):
  // without this, Node would find its loop empty and exit 0 half-way through.
  const holdOpenUntilListening = setInterval(() => undefined, 1000);
  try {
    return await startDaemonHeld(opts);
  } finally {
    clearInterval(holdOpenUntilListening);
  }
}

async function startDaemonHeld(opts: DaemonOptions): Promise<{ shutdown(): Promise<void> }> {
  if (process.getuid && process.getuid() !== 0) {
    throw new Error("wharfd must run as root; an ordinary user starts it with wharfd-rootless (docs/rootless.md)");
  }
  const log = pino({ level: opts.logLevel, base: { pid: process.pid } }, pino.destination(2));
  const rootless = detectRootless();
  if (rootless) log.info({ portApi: rootless.portApiSocket ?? null }, "rootless mode: no cgroup limits, ports forwarded by rootlesskit");
  if (rootless && !rootless.portApiSocket) log.warn({}, "rootless mode without rootlesskit: published ports are reachable only inside the daemon's network namespace");
  fs.mkdirSync(opts.dataRoot, { recursive: true, mode: 0o710 });
  fs.mkdirSync(opts.execRoot, { recursive: true, mode: 0o700 });
  const unlock = lockDataRoot(opts.dataRoot);

  const metadata = new Metadata(opts.dataRoot);
  const content = new ContentStore(opts.dataRoot);
  const snapshots = new SnapshotStore({ dataRoot: opts.dataRoot, metadata, content, layerSharing: opts.userns.layers });
  if (opts.userns.remap && opts.userns.defaultMode === "auto") throw new Error("--userns-remap and --userns-default=auto cannot be used together");
  const userns = new UsernsPolicy({ remap: opts.userns.remap, defaultMode: opts.userns.defaultMode, poolUser: opts.userns.poolUser }, metadata);
  const ociRuntimes = detectRuntimes(opts.runtime, { rootless: rootless !== undefined });
  const vm = setupVmRuntime({ root: path.join(opts.execRoot, VM_RUNTIME_NAME), kernel: opts.vmKernel, initrd: opts.vmInitrd, log });
  const runtimeChoices = [...ociRuntimes, { name: VM_RUNTIME_NAME, path: vm.runtimePath, command: [vm.runtimePath] }];
  const runtimeNames = runtimeChoices.map((r) => r.name);
  const defaultRuntime = opts.defaultRuntime || runtimeNames[0]!;
  if (!runtimeNames.includes(defaultRuntime)) {
    throw new Error(`--default-runtime ${defaultRuntime}: not a runtime of this daemon (${runtimeNames.join(", ")})`);
  }
  log.info({ runtimes: runtimeChoices.map((r) => r.command.join(" ")), default: defaultRuntime }, "runtimes");
  const runtime = new ConmonRuntime({
    runtimes: runtimeChoices,
    execRoot: opts.execRoot,
    conmonPath: findConmon(),
    logger: log,
    rootless: rootless !== undefined,
  });
  const store = new ContainerStore(metadata);
  const eventLog = new EventLog();
  let containers: ContainerService | undefined;
  const images = new ImageService({
    dataRoot: opts.dataRoot,
    metadata,
    content,
    snapshots,
    isImageInUse: (imageId) => containers?.containerUsingImage(imageId),
    isImageInUseByRunning: (imageId) => containers?.containerUsingImage(imageId, { running: true }),
    eventLog,
  });
  // Layers a crash left without an owner.
  await images.gc();
  // A static init: it runs inside images that have no libc (busybox).
  const initPath = findInitBinary() ?? undefined;
  // Names on a user network: container name, short id and aliases of running members.
  const dns = new EmbeddedDns((networkId, name) => {
    for (const c of store.all()) {
      const ep = Object.values(c.NetworkSettings?.Networks ?? {}).find((e) => e.NetworkID === networkId);
      if (!ep || !c.State.Running) continue;
      const names = [c.Name.slice(1), c.Id.slice(0, 12), ...(ep.Aliases ?? [])].map((n) => n.toLowerCase());
      if (names.includes(name)) return ep.IPAddress;
    }
    return undefined;
  }, log);
  const networks = new NetworkService({
    dns,
    dataRoot: opts.dataRoot,
    execRoot: opts.execRoot,
    store: new NetworkStore(metadata),
    bridgeName: opts.bridge,
    bip: opts.bip,
    defaultAddressPool: opts.defaultAddressPool,
    hostPorts: rootless?.portApiSocket ? new RootlessKitPorts(rootless.portApiSocket) : undefined,
    log,
  });
  networks.init();
  // Before containers reconcile: attachments of containers not running by their records (a
  // crash during CNI ADD) go; exits found by reconcile tear down the rest.
  await networks.reconcile((id) => store.get(id)?.State.Running === true);
  // A volume's references are the containers whose records mount it (as Docker counts them).
  const volumes = new VolumeService({
    dataRoot: opts.dataRoot,
    store: new VolumeStore(metadata),
    eventLog,
    usersOf: (name) => store.all().filter((c) => c.MountPoints?.some((m) => m.Type === "volume" && m.Name === name)).map((c) => c.Id),
    log,
  });
  containers = new ContainerService({
    volumes,
    apiSockets: opts.hosts.filter((h) => h.startsWith("unix://")).map((h) => h.slice("unix://".length)),
    dataRoot: opts.dataRoot,
    execRoot: opts.execRoot,
    store,
    images,
    rootfs: snapshots,
    runtime,
    limits: { ncpu: os.cpus().length, runtimes: runtimeNames, hasNetwork: (name) => networks.has(name) },
    networks,
    defaultRuntime,
    cgroupParent: opts.cgroupParent,
    initPath,
    resolveUser,
    eventLog,
    userns,
    noCgroupLimits: rootless !== undefined,
    log,
  });
  const health = new HealthMonitor({ containers, runtime });
  const logRotator = new LogRotator({ containers, runtime, log });
  await containers.reconcile();
  // Containers adopted from before the restart keep being checked.
  for (const record of containers.list()) if (record.State.Running) health.begin(record, { keepState: true });
  for (const record of containers.list()) if (record.State.Running) logRotator.begin(record);

  const router = new Router();
  const containerService = containers;
  registerSystemRoutes(router, {
    version: VERSION,
    dataRoot: opts.dataRoot,
    defaultRuntime,
    runtimes: Object.fromEntries(runtimeChoices.map((r) => [r.name, r.name === VM_RUNTIME_NAME ? { path: r.path, status: vm.status } : { path: r.path }])),
    initBinary: initPath ? path.basename(initPath) : "",
    cgroupVersion: cgroupVersion(),
    usernsByDefault: Boolean(opts.userns.remap) || opts.userns.defaultMode === "auto",
    rootless: rootless !== undefined,
    containerCounts: () => {
      const all = containerService.list();
      const running = all.filter((c) => c.State.Running && !c.State.Paused).length;
      const paused = all.filter((c) => c.State.Paused).length;
      return { total: all.length, running, paused, stopped: all.length - running - paused };
    },
    imageCount: () => images.list({ all: true }).length,
  });
  // Loaded before anything listens: a bad rules file stops the daemon.
  const authorization = opts.authorizationRules ? Authorization.load(opts.authorizationRules) : undefined;
  registerContainerRoutes(router, { containers, images, rootfs: snapshots, authorization });
  // Per-registry CAs as Docker keeps them, and wharf's own directory beside them.
  const registries = { insecureRegistries: opts.insecureRegistries, certsDirs: ["/etc/docker/certs.d", "/etc/wharf/certs.d"], mirror: opts.registryMirror };
  const distribution = { ...registries, layerDigests: new LayerDigests(metadata) };
  registerImageRoutes(router, images, distribution);
  registerAuthRoutes(router, registries);
  registerNetworkRoutes(router, { networks, containers });
  registerVolumeRoutes(router, volumes);
  const builder = new Builder({
    dataRoot: opts.dataRoot,
    metadata,
    images,
    containers,
    snapshots,
    authorize: authorization ? (hostConfig) => authorization.checkContainer(hostConfig) : undefined,
    pull: (ref, out, credentials) => pullForBuild(images, distribution, ref, out, credentials),
  });
  // RUN --mount=type=cache dirs are the build cache `system df` counts.
  registerDiskUsageRoutes(router, { containers, images, snapshots, volumes, buildCache: () => builder.cacheMountUsage() });
  await builder.recover();
  registerBuildRoutes(router, builder);
  registerBuildCacheRoutes(router, builder);
  registerEventRoutes(router, eventLog);
  registerExecRoutes(router, new ExecService({ containers, runtime, rootfs: snapshots, resolveUser }), authorization);
  registerContainerFsRoutes(router, new ContainerFilesystem({ containers, images, snapshots }), new ContainerArchive({ containers, images, snapshots }));

  const server = new ApiServer(router, log);
  const sockets: string[] = [];
  for (const host of opts.hosts) {
    if (host.startsWith("unix://")) {
      const socketPath = host.slice("unix://".length);
      fs.mkdirSync(path.dirname(socketPath), { recursive: true });
      // Rootless: the socket stays the user's (the wharf group is not mapped in the namespace).
      await server.listenUnix(socketPath, { gid: rootless ? undefined : groupId(opts.group) });
      sockets.push(socketPath);
    } else {
      const { hostname, port } = tcpAddress(host);
      await server.listenTcp(hostname, port, tcpTls(opts, log));
    }
  }
  fs.writeFileSync(opts.pidfile, `${process.pid}\n`);
  log.info({ hosts: opts.hosts, dataRoot: opts.dataRoot, runtime: defaultRuntime }, "wharfd is ready");

  return {
    async shutdown() {
      // Containers keep running: they are conmon's, not ours. Rootless ones would not survive
      // the launcher's namespaces, so they are stopped properly first.
      await server.close();
      if (rootless) {
        // The exit watcher's timers and watch do not hold the process open; this does meanwhile.
        const holdOpen = setInterval(() => undefined, 1000);
        try {
          await containerService.stopAllForShutdown();
        } finally {
          clearInterval(holdOpen);
        }
      }
      logRotator.close();
      dns.closeAll();
      for (const socketPath of sockets) fs.rmSync(socketPath, { force: true });
      fs.rmSync(opts.pidfile, { force: true });
      metadata.close();
      unlock();
      log.info("wharfd stopped");
      log.flush();
    },
  };
}

export async function main(argv: string[]): Promise<void> {
  let opts: DaemonOptions;
  try {
    opts = parseDaemonOptions(argv);
  } catch (err) {
    // commander already printed the usage error or the version/help text
    const code = (err as { exitCode?: number }).exitCode ?? 1;
    process.exit(code);
  }
  const daemon = await startDaemon(opts);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    daemon.shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`wharfd: shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

/** "tcp://127.0.0.1:2376" -> host and port (Docker's default ports: 2376 with TLS, 2375 without). */
function tcpAddress(host: string): { hostname: string; port: number } {
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]*)(?::(\d+))?\/?$/.exec(host);
  if (!m) throw new Error(`invalid -H ${host}: want unix:///path or tcp://host:port`);
  const port = m[2] ? Number(m[2]) : 2376;
  if (port < 1 || port > 65535) throw new Error(`invalid -H ${host}: bad port`);
  return { hostname: (m[1] || "0.0.0.0").replace(/^\[|\]$/g, ""), port };
}

/**
 * The TLS a tcp:// listener gets. Without TLS it is refused unless --insecure-tcp says
 * otherwise (then with a loud warning): an API port is root on the host for whoever reaches it.
 */
function tcpTls(opts: DaemonOptions, log: { warn(obj: object, msg?: string): void }): TlsOptions | undefined {
  if (!opts.tls.enabled) {
    if (!opts.insecureTcp) {
      throw new Error("refusing to serve the API on tcp:// without TLS: use --tlsverify with --tlscacert, --tlscert and --tlskey (or --insecure-tcp to accept the risk)");
    }
    log.warn({}, "SERVING THE API ON PLAIN TCP WITHOUT TLS: anyone who can reach the port has root on this host");
    return undefined;
  }
  const read = (file: string, what: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new Error(`could not read the TLS ${what} ${file}: ${(err as Error).message}`);
    }
  };
  if (!opts.tls.verify) log.warn({}, "--tls without --tlsverify: any client can use the API over TLS; use --tlsverify to require client certificates");
  return { key: read(opts.tls.key, "key"), cert: read(opts.tls.cert, "certificate"), ca: opts.tls.verify ? read(opts.tls.caCert, "CA certificate") : undefined };
}

/**
 * A build's FROM pull, with the credentials the client sent for that registry (X-Registry-Config)
 * and the pull's status lines in the build output as the classic builder shows them.
 */
async function pullForBuild(images: ImageService, distribution: Distribution, ref: string, out: (line: string) => void, credentials?: RegistryCredentials): Promise<void> {
  const named = parseNormalizedNamed(ref);
  await pullImage(images, {
    ...distribution,
    credentials,
    ref: named.digest ? named : tagNameOnly(named),
    platform: { os: "linux", architecture: hostArchitecture() },
    progress: (m) => {
      // Byte counts are for terminals; the build stream gets the steps.
      if (m.progressDetail) return;
      out(`${m.id ? `${m.id}: ` : ""}${m.status}\n`);
    },
  });
}
