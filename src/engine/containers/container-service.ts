import { execFile } from "node:child_process";
import { EventEmitter } from "node:events";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { ConflictError, ForbiddenError, InvalidParameterError, NotFoundError, NotModifiedError, SystemError, WharfError, errorMessage } from "../../lib/errors";
import { newId, randomName, shortId } from "../../lib/ids";
import { KeyedLock } from "../../lib/keyed-lock";
import { dirSize } from "../../lib/dir-size";
import type { EventLog } from "../events";
import { SIGKILL, SIGTERM, parseSignal } from "../../lib/signals";
import { CAPABILITY_NAMES, hostFacts } from "../../runtime/host-facts";
import { DEFAULT_SHM_SIZE } from "../../runtime/spec";
import type { AttachStreams, ContainerRuntime, ExitInfo, SpecInput } from "../../runtime/types";
import type { ContainerRootfs, ImageProvider } from "../images/types";
import type { ContainerStore } from "./container-store";
import { adaptResources, buildContainerConfig, type HostLimits, validateResources, validateRestartPolicy } from "./create-config";
import type { CreateContainerRequest, UpdateContainerRequest } from "./create-request";
import { hostsFor, resolvConfFor, writeEtcFiles } from "./etc-files";
import type { NetworkService } from "../networks/network-service";
import { wantedBindings, type PortBindingsRequest } from "../networks/ports";
import { validateEndpointsConfig } from "../networks/endpoint-config";
import { validateNetworkModeOptions } from "./network-mode";
import { type NamespaceOwner, namespacesFor } from "./namespace-modes";
import { mountShareableShm, shareableShmPath, unmountShareableShm } from "./shareable-shm";
import { RestartBackoff, shouldRestart, startsWithDaemon } from "./restart-policy";
import { type StatsPoint, takeStatsPoint } from "./stats";
import { newState, startFailureExitCode } from "./status";
import type { ContainerRecord, HealthState, HostConfig } from "./types";
import { HostAccessFreezer } from "./host-access-freezer";
import { ContainerVolumes } from "./container-volumes";
import { discardCgroupLimits } from "./rootless-limits";
import { chownEtcFiles, prepareMappedContainerDirs } from "./mapped-ownership";
import type { UsernsChoice, UsernsPolicy } from "./userns-mode";
import type { VolumeService } from "../volumes/volume-service";
import { ZERO_TIME } from "./types";

export interface ContainerServiceDeps {
  dataRoot: string;
  execRoot: string;
  store: ContainerStore;
  images: ImageProvider;
  rootfs: ContainerRootfs;
  runtime: ContainerRuntime;
  limits: HostLimits;
  defaultRuntime: string;
  cgroupParent: string;
  /** The init binary for --init (tini or catatonit), when one is installed. */
  initPath?: string;
  /** Where container events go for `events` clients. */
  eventLog?: EventLog;
  /** CNI networking; without it containers get only "none" or "host". */
  networks?: NetworkService;
  /** Named and anonymous volumes; without it only binds and tmpfs mounts work. */
  volumes?: VolumeService;
  /** The API's unix sockets (binding one into a container is warned about). */
  apiSockets?: string[];
  /** User namespaces (--userns, the daemon's --userns-remap/--userns-default); without it every container uses the host's. */
  userns?: UsernsPolicy;
  /**
   * Rootless mode (docs/rootless.md): containers get no cgroups of ours (cgroups v1 cannot be
   * delegated); limits are discarded with Docker's warnings.
   */
  noCgroupLimits?: boolean;
  resolveUser(rootfs: string, user: string): Promise<{ uid: number; gid: number; additionalGids: number[] }>;
  log: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
}

export type WaitCondition = "not-running" | "next-exit" | "removed";

/** An attach that waits for the container to start (docker run attaches before it starts). */
interface PendingAttach {
  stdin: boolean;
  deliver(streams: AttachStreams): void;
  fail(err: Error): void;
}

const NAME_PATTERN = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
/** conmon ignores window sizes beyond 1000 rows or columns; clamp rather than lose the resize. */
export const MAX_TERMINAL_SIDE = 1000;

/**
 * The container lifecycle: create, start, stop, kill, wait, rename, remove, and the exit path.
 * The daemon is not the containers' parent: exits arrive from the runtime's exit watcher, and
 * `reconcile` catches up after a daemon restart.
 */
export class ContainerService {
  readonly events = new EventEmitter();
  private readonly lock = new KeyedLock();
  private readonly pendingAttaches = new Map<string, PendingAttach[]>();
  /** Restart timers of containers waiting out their back-off, and each container's back-off. */
  private readonly restartTimers = new Map<string, NodeJS.Timeout>();
  private readonly backoffs = new Map<string, RestartBackoff>();
  /** Environment given at create by the daemon itself (build secrets): in the spec, never in the record. */
  private readonly runtimeEnv = new Map<string, string[]>();
  /** Freezes a running container while cp or export walk its root from the host. */
  readonly hostAccess: HostAccessFreezer;

  private readonly mounts: ContainerVolumes;

  constructor(private readonly deps: ContainerServiceDeps) {
    this.events.setMaxListeners(0);
    this.hostAccess = new HostAccessFreezer({
      runtime: deps.runtime,
      runsUnpaused: (id) => {
        const state = deps.store.get(id)?.State;
        return Boolean(state?.Running && !state.Paused);
      },
      log: deps.log,
    });
    this.mounts = new ContainerVolumes({
      volumes: deps.volumes,
      images: deps.images,
      rootfs: deps.rootfs,
      log: deps.log,
      mountContext: {
        dataRoot: deps.dataRoot,
        execRoot: deps.execRoot,
        apiSockets: deps.apiSockets ?? [],
        mountPointsOf: (ref) => {
          const other = this.get(ref);
          return { id: other.Id, mounts: other.MountPoints ?? [] };
        },
      },
    });
    deps.runtime.onExit((id, exit) => {
      this.handleExit(id, exit).catch((err: unknown) => deps.log.error({ id, err: errorMessage(err) }, "exit handling failed"));
    });
  }

  // ---- lookup -----------------------------------------------------------------------------

  /** By full id, name (with or without "/"), or unique id prefix, as Docker resolves them. */
  get(idOrName: string): ContainerRecord {
    const { store } = this.deps;
    const exact = store.get(idOrName) ?? store.byName(idOrName);
    if (exact) return exact;
    if (/^[0-9a-f]+$/.test(idOrName)) {
      const matches = store.all().filter((c) => c.Id.startsWith(idOrName));
      if (matches.length === 1) return matches[0];
      if (matches.length > 1) throw new InvalidParameterError(`multiple IDs found with provided prefix: ${idOrName}`);
    }
    throw new NotFoundError(`No such container: ${idOrName}`);
  }

  list(): ContainerRecord[] {
    return this.deps.store.all();
  }

  /** The id of a container using this image, if any (image removal asks). */
  containerUsingImage(imageId: string, opts: { running?: boolean } = {}): string | undefined {
    return this.deps.store.all().find((c) => c.Image === imageId && (!opts.running || c.State.Running))?.Id;
  }

  containerDir(id: string): string {
    return path.join(this.deps.dataRoot, "containers", id);
  }

  bundleDir(id: string): string {
    return path.join(this.deps.execRoot, "containers", id);
  }

  // ---- create -----------------------------------------------------------------------------

  /**
   * `internal.mounts`: mounts the daemon itself sets up (a build's RUN --mount): trusted, so not
   * checked by the bind guards; pass them `hidden` to keep them out of inspect. `internal.env`:
   * variables (a build's secrets) that go into the runtime spec only, never into the stored record.
   */
  async create(req: CreateContainerRequest, name?: string, internal?: { mounts?: import("./mounts").MountPoint[]; env?: string[] }): Promise<{ Id: string; Warnings: string[] }> {
    if (name !== undefined && name !== "" && !NAME_PATTERN.test(name)) {
      throw new InvalidParameterError(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    if (!req.Image) throw new InvalidParameterError("Config.Image must be set");
    const image = this.deps.images.resolve(req.Image);
    const id = newId();
    const built = buildContainerConfig(req, image, id, this.deps.limits, this.deps.defaultRuntime);
    const limitWarnings = this.deps.noCgroupLimits ? discardCgroupLimits(built.hostConfig) : [];
    validateEndpointsConfig(req.NetworkingConfig as ContainerRecord["NetworkingConfig"]);
    validateNetworkModeOptions(req);
    const usernsChoice = this.chooseUserns(built.hostConfig);
    const hcReq = req.HostConfig ?? {};
    // Mounts are validated before anything exists (bad input changes nothing).
    const mountPlan = this.mounts.plan({ Binds: hcReq.Binds, Mounts: hcReq.Mounts, Tmpfs: hcReq.Tmpfs, VolumesFrom: hcReq.VolumesFrom, VolumeDriver: typeof hcReq.VolumeDriver === "string" ? hcReq.VolumeDriver : undefined, Volumes: built.config.Volumes });
    if (internal?.mounts) mountPlan.mounts.push(...internal.mounts);
    let fullName = `/${(name || this.uniqueRandomName()).replace(/^\//, "")}`;
    if (name) this.assertNameFree(fullName);

    const dir = this.containerDir(id);
    const record: ContainerRecord = {
      Id: id,
      Name: fullName,
      Created: new Date().toISOString(),
      Path: built.path,
      Args: built.args,
      State: newState(),
      Image: image.id,
      ResolvConfPath: path.join(dir, "resolv.conf"),
      HostnamePath: path.join(dir, "hostname"),
      HostsPath: path.join(dir, "hosts"),
      LogPath: path.join(dir, "container.log"),
      RestartCount: 0,
      Driver: "overlay2",
      Platform: "linux",
      Config: built.config,
      HostConfig: built.hostConfig,
      // --network-alias and --ip, applied when the container joins its network at start.
      ...(req.NetworkingConfig ? { NetworkingConfig: req.NetworkingConfig as ContainerRecord["NetworkingConfig"] } : {}),
    };
    await fs.mkdir(dir, { recursive: true, mode: 0o710 });
    try {
      // The range is taken (and persisted) before anything else exists; the catch gives it back.
      const idMapping = this.deps.userns?.mappingFor(id, usernsChoice);
      if (idMapping) {
        record.IdMapping = idMapping;
        prepareMappedContainerDirs(this.deps.dataRoot, dir, idMapping);
      }
      await this.deps.rootfs.create(id, idMapping);
      await this.mounts.realize(record, mountPlan.mounts);
      if (mountPlan.mounts.length) record.MountPoints = mountPlan.mounts;
      await writeEtcFiles(dir, {
        hostname: built.config.Hostname,
        domainname: built.config.Domainname,
        networkMode: built.hostConfig.NetworkMode,
        dns: (built.hostConfig.Dns as string[] | null) ?? [],
        dnsSearch: (built.hostConfig.DnsSearch as string[] | null) ?? [],
        dnsOptions: (built.hostConfig.DnsOptions as string[] | null) ?? [],
        extraHosts: (built.hostConfig.ExtraHosts as string[] | null) ?? [],
      });
      if (idMapping) chownEtcFiles(dir, idMapping);
      await this.lock.run("names", async () => {
        // A generated name taken meanwhile by a concurrent create is simply drawn again.
        if (!name && this.deps.store.byName(fullName)) {
          fullName = `/${this.uniqueRandomName()}`;
          record.Name = fullName;
        }
        this.assertNameFree(fullName);
        this.deps.store.save(record);
      });
    } catch (err) {
      this.mounts.settle(id);
      await this.mounts.removeAnonymous({ ...record, MountPoints: mountPlan.mounts });
      await this.deps.rootfs.remove(id).catch(() => undefined);
      await fs.rm(dir, { recursive: true, force: true });
      this.deps.userns?.pool.release(id);
      throw err;
    }
    this.mounts.settle(id);
    if (internal?.env?.length) this.runtimeEnv.set(id, internal.env);
    this.emit("create", record);
    return { Id: id, Warnings: [...limitWarnings, ...this.createWarnings(record), ...mountPlan.warnings] };
  }

  /** Validates --userns; `auto` (asked for or the daemon's default) is written into the HostConfig inspect shows. */
  private chooseUserns(hostConfig: HostConfig): UsernsChoice {
    if (!this.deps.userns) {
      if (hostConfig.UsernsMode && hostConfig.UsernsMode !== "host") throw new InvalidParameterError(`invalid USER mode: ${String(hostConfig.UsernsMode)}`);
      return { kind: "host" };
    }
    const choice = this.deps.userns.choose(hostConfig);
    if (choice.kind === "auto") hostConfig.UsernsMode = "auto";
    return choice;
  }

  /** Docker fails `--privileged` where the bounding set is short; wharf grants the rest and says so. */
  private createWarnings(record: ContainerRecord): string[] {
    if (!record.HostConfig.Privileged) return [];
    const bounding = hostFacts().boundingCaps;
    const missing = CAPABILITY_NAMES.filter((cap) => !bounding.has(cap));
    if (!missing.length) return [];
    return [`--privileged: the daemon's capability bounding set lacks ${missing.join(", ")}; the container gets every other capability`];
  }

  private uniqueRandomName(): string {
    for (let i = 0; i < 10; i++) {
      const candidate = randomName();
      if (!this.deps.store.byName(candidate)) return candidate;
    }
    return `${randomName()}${Math.floor(Math.random() * 10)}`;
  }

  private assertNameFree(fullName: string): void {
    const holder = this.deps.store.byName(fullName);
    if (holder) {
      throw new ConflictError(
        `Conflict. The container name "${fullName}" is already in use by container "${holder.Id}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
  }

  // ---- start ------------------------------------------------------------------------------

  async start(idOrName: string): Promise<void> {
    const id = this.get(idOrName).Id;
    await this.lock.run(id, async () => {
      const record = this.get(id);
      if (record.State.Running) throw new NotModifiedError("container already started");
      this.cancelRestart(record);
      record.ManuallyStopped = false;
      if (record.State.Status === "removing") throw new ConflictError(`container ${id} is marked for removal and cannot be started`);
      await this.startLocked(record);
    });
  }

  private async startLocked(record: ContainerRecord): Promise<void> {
    const { runtime, rootfs, images } = this.deps;
    const id = record.Id;
    try {
      const image = images.resolve(record.Image);
      const rootfsPath = await rootfs.mount(id, images.layerDirs(image), { volatile: record.HostConfig.AutoRemove === true });
      const spec = await this.specFor(record, rootfsPath);
      spec.extraMounts = this.mounts.attach(record);
      await fs.mkdir(this.bundleDir(id), { recursive: true, mode: 0o700 });
      if (record.HostConfig.IpcMode === "shareable") spec.shmSource = mountShareableShm(this.bundleDir(id), spec.shmSize || DEFAULT_SHM_SIZE);
      const { pid } = await runtime.create({
        containerId: id,
        bundleDir: this.bundleDir(id),
        spec,
        logPath: record.LogPath,
        noLogFile: (record.HostConfig.LogConfig as { Type?: string } | undefined)?.Type === "none",
        openStdin: record.Config.OpenStdin,
        stdinOnce: record.Config.StdinOnce,
        tty: record.Config.Tty,
        runtime: record.HostConfig.Runtime,
      });
      await this.connectNetwork(record, pid);
      await this.connectPendingAttaches(id);
      await runtime.start(id);
      record.State = {
        ...record.State,
        Status: "running",
        Running: true,
        Paused: false,
        Restarting: false,
        OOMKilled: false,
        Dead: false,
        Pid: pid,
        ExitCode: 0,
        Error: "",
        StartedAt: new Date().toISOString(),
        FinishedAt: ZERO_TIME,
      };
      this.deps.store.save(record);
      this.emit("start", record);
    } catch (err) {
      const message = errorMessage(err);
      this.failPendingAttaches(id, err instanceof Error ? err : new Error(message));
      await runtime.delete(id, true).catch(() => undefined);
      await this.deps.networks?.detach(id).catch(() => undefined);
      delete record.NetworkSettings;
      await rootfs.unmount(id).catch(() => undefined);
      this.mounts.release(id);
      unmountShareableShm(this.bundleDir(id));
      await fs.rm(this.bundleDir(id), { recursive: true, force: true });
      record.State = { ...record.State, Error: message, ExitCode: startFailureExitCode(message) };
      this.deps.store.save(record);
      if (record.HostConfig.AutoRemove) {
        // Docker removes an --rm container whose start failed; nothing of it may stay behind.
        await this.removeLocked(record);
      }
      throw err instanceof WharfError ? err : new SystemError(message);
    }
  }

  private namespaceOwner(idOrName: string): NamespaceOwner {
    const other = this.get(idOrName);
    return {
      Id: other.Id,
      State: other.State,
      HostConfig: { PidMode: other.HostConfig.PidMode ?? "", IpcMode: other.HostConfig.IpcMode ?? "" },
      shmPath: shareableShmPath(this.bundleDir(other.Id)),
    };
  }

  /** The network namespace runc gives the container: a new one, the host's, or another container's. */
  private namespaceFor(mode: string): SpecInput["network"] {
    if (mode === "host") return "host";
    if (!mode.startsWith("container:")) return "none"; // a new namespace; CNI fills it for bridge networks
    const other = this.get(mode.slice("container:".length));
    if (!other.State.Running) throw new ConflictError(`cannot join network of a non running container: ${other.Id}`);
    if (other.HostConfig.NetworkMode === "host") return "host";
    return { netnsPath: other.NetworkSettings?.SandboxKey || `/proc/${other.State.Pid}/ns/net` };
  }

  /** CNI ADD into the namespace runc created, before the process starts; then /etc/hosts gets the address. */
  private async connectNetwork(record: ContainerRecord, pid: number): Promise<void> {
    const mode = record.HostConfig.NetworkMode;
    const networks = this.deps.networks;
    if (!networks || mode === "none" || mode === "host" || mode.startsWith("container:")) return;
    const bindings = wantedBindings(
      (record.HostConfig.PortBindings as PortBindingsRequest | null) ?? {},
      record.HostConfig.PublishAllPorts === true,
      record.Config.ExposedPorts ?? {},
    );
    const endpoints = record.NetworkingConfig?.EndpointsConfig ?? {};
    const wanted = endpoints[mode] ?? endpoints.default ?? Object.values(endpoints)[0];
    record.NetworkSettings = await networks.attach({
      containerId: record.Id,
      pid,
      network: mode,
      portBindings: bindings,
      ip: wanted?.IPAMConfig?.IPv4Address || undefined,
      aliases: wanted?.Aliases ?? undefined,
      mac: wanted?.MacAddress || undefined,
    });
    const dnsServer = networks.dnsServerFor(mode);
    const hc = record.HostConfig;
    if (dnsServer && !((hc.Dns as string[] | null) ?? []).length) {
      // User networks resolve names through the embedded DNS, as Docker's 127.0.0.11.
      const opts = { hostname: record.Config.Hostname, domainname: record.Config.Domainname, networkMode: mode, extraHosts: [] };
      const dnsSearch = (hc.DnsSearch as string[] | null) ?? [];
      const dnsOptions = (hc.DnsOptions as string[] | null) ?? [];
      await fs.writeFile(record.ResolvConfPath, await resolvConfFor({ ...opts, dns: [dnsServer], dnsSearch, dnsOptions }));
    }
    for (const [name, extra] of Object.entries(record.ExtraNetworks ?? {})) {
      const endpoint = await networks.connect(record.Id, name, { ip: extra.IPv4Address, aliases: extra.Aliases });
      record.NetworkSettings.Networks[networks.resolve(name).Name] = endpoint;
    }
    await this.writeHosts(record);
  }

  /** /etc/hosts with one line per address the container has (rewritten in place: it is bind-mounted). */
  private async writeHosts(record: ContainerRecord): Promise<void> {
    const networks = this.deps.networks;
    const [first, ...others] = Object.values(record.NetworkSettings?.Networks ?? {});
    const text = hostsFor({
      hostname: record.Config.Hostname,
      domainname: record.Config.Domainname,
      networkMode: record.HostConfig.NetworkMode,
      dns: [],
      dnsSearch: [],
      dnsOptions: [],
      // --add-host NAME:host-gateway means the default bridge's gateway, as in Docker.
      extraHosts: ((record.HostConfig.ExtraHosts as string[] | null) ?? []).map((h) => (networks ? h.replace(/([:=])host-gateway$/, `$1${networks.hostGateway()}`) : h)),
      address: first?.IPAddress,
    });
    await fs.writeFile(record.HostsPath, text + others.map((ep) => `${ep.IPAddress}\t${record.Config.Hostname}\n`).join(""));
  }

  private async disconnectNetwork(id: string): Promise<void> {
    await this.deps.networks?.detach(id).catch((err: unknown) => this.deps.log.warn({ id, err: errorMessage(err) }, "network detach failed"));
    const record = this.deps.store.get(id);
    if (record?.NetworkSettings) {
      delete record.NetworkSettings;
      this.deps.store.save(record);
    }
  }

  /**
   * `network connect`: a running container gets one more interface in its namespace at once;
   * a stopped one joins at its next start. Either way the connection lasts across restarts.
   */
  async connectToNetwork(idOrName: string, network: string, opts: { ip?: string; aliases?: string[] }): Promise<void> {
    const networks = this.deps.networks;
    if (!networks) throw new SystemError("networking is not available");
    const id = this.get(idOrName).Id;
    await this.lock.run(id, async () => {
      const record = this.get(id);
      const target = networks.resolve(network);
      const mode = record.HostConfig.NetworkMode;
      if (mode === "host" || target.Driver === "host") throw new ForbiddenError("container cannot be disconnected from host network or connected to host network");
      if (mode === "none") throw new ForbiddenError("container cannot be connected to multiple networks with one of the networks in private (none) mode");
      if (mode.startsWith("container:")) throw new ForbiddenError("container sharing network namespace with another container or host cannot be connected to any other network");
      const primary = networks.resolve(mode).Name;
      if (target.Name === primary || record.ExtraNetworks?.[target.Name]) {
        throw new ForbiddenError(`endpoint with name ${record.Name.slice(1)} already exists in network ${target.Name}`);
      }
      if (record.State.Running && record.NetworkSettings) {
        record.NetworkSettings.Networks[target.Name] = await networks.connect(id, target.Id, opts);
      } else if (opts.ip) {
        networks.checkAddress(target.Id, opts.ip);
      }
      record.ExtraNetworks = { ...record.ExtraNetworks, [target.Name]: { ...(opts.aliases?.length ? { Aliases: opts.aliases } : {}), ...(opts.ip ? { IPv4Address: opts.ip } : {}) } };
      this.deps.store.save(record);
      if (record.State.Running) await this.writeHosts(record);
    });
  }

  /** `network disconnect`: the container leaves one network. */
  async disconnectNetworkOf(idOrName: string, network: string): Promise<void> {
    const networks = this.deps.networks;
    if (!networks) throw new SystemError("networking is not available");
    const id = this.get(idOrName).Id;
    await this.lock.run(id, async () => {
      const record = this.get(id);
      const target = networks.resolve(network);
      if (!record.State.Running) {
        // A stopped container only forgets the connection it would make at start.
        if (!record.ExtraNetworks?.[target.Name]) throw new ForbiddenError(`container ${id} is not connected to network ${target.Name}`);
        const { [target.Name]: _dropped, ...rest } = record.ExtraNetworks;
        record.ExtraNetworks = rest;
        this.deps.store.save(record);
        return;
      }
      const removed = await networks.disconnect(id, network);
      if (record.ExtraNetworks?.[removed.Name]) {
        const { [removed.Name]: _dropped, ...rest } = record.ExtraNetworks;
        record.ExtraNetworks = rest;
      }
      if (record.NetworkSettings) delete record.NetworkSettings.Networks[removed.Name];
      this.deps.store.save(record);
      await this.writeHosts(record);
    });
  }

  /**
   * `--network container:X` shares X's network and, as in Docker, its view of it: X's
   * hostname, /etc/hosts and /etc/resolv.conf (taken at each start, as X may have changed).
   */
  private adoptNetworkContainerFiles(record: ContainerRecord): void {
    const mode = record.HostConfig.NetworkMode;
    if (!mode.startsWith("container:")) return;
    const other = this.get(mode.slice("container:".length));
    record.HostnamePath = other.HostnamePath;
    record.HostsPath = other.HostsPath;
    record.ResolvConfPath = other.ResolvConfPath;
    record.Config = { ...record.Config, Hostname: other.Config.Hostname, Domainname: other.Config.Domainname };
    this.deps.store.save(record);
  }

  /** Translates the stored record into the runtime's spec input. */
  private async specFor(record: ContainerRecord, rootfsPath: string): Promise<SpecInput> {
    this.adoptNetworkContainerFiles(record);
    const hc = record.HostConfig;
    const cfg = record.Config;
    const securityOpts = hc.SecurityOpt ?? [];
    const seccompOpt = securityOpts.find((o) => o.startsWith("seccomp=") || o.startsWith("seccomp:"));
    const seccompValue = seccompOpt?.slice("seccomp=".length);
    const noNewPrivileges = securityOpts.some((o) => /^no-new-privileges(?:[:=]true)?$/.test(o));
    const user = await this.deps.resolveUser(rootfsPath, cfg.User);
    const initPath = hc.Init ? this.deps.initPath : undefined;
    if (hc.Init && !initPath) throw new SystemError("--init: no init binary (tini or catatonit) is installed");
    return {
      containerId: record.Id,
      rootfsPath,
      readonlyRootfs: hc.ReadonlyRootfs,
      args: [record.Path, ...record.Args],
      env: [...(cfg.Env.some((e) => e.startsWith("PATH=")) ? cfg.Env : ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", ...cfg.Env]), ...(this.runtimeEnv.get(record.Id) ?? [])],
      cwd: cfg.WorkingDir || "/",
      user,
      terminal: cfg.Tty,
      consoleSize: consoleSizeOf(hc.ConsoleSize),
      hostname: cfg.Hostname,
      etcFiles: { hostname: record.HostnamePath, hosts: record.HostsPath, resolvConf: record.ResolvConfPath },
      extraMounts: [],
      privileged: hc.Privileged,
      capAdd: hc.CapAdd ?? [],
      capDrop: hc.CapDrop ?? [],
      noNewPrivileges,
      seccomp: seccompValue === undefined ? "default" : seccompValue === "unconfined" ? "unconfined" : { profileJson: seccompValue },
      network: this.namespaceFor(hc.NetworkMode),
      ...namespacesFor({ pid: hc.PidMode ?? "", ipc: hc.IpcMode ?? "", uts: hc.UTSMode ?? "" }, (idOrName) => this.namespaceOwner(idOrName)),
      resources: this.deps.noCgroupLimits ? {} : resourcesOf(hc),
      ulimits: hc.Ulimits ?? [],
      // Rootless: no path, so that runc (--rootless) skips the cgroups it may not create.
      cgroupsPath: this.deps.noCgroupLimits ? "" : `${this.deps.cgroupParent}/${record.Id}`,
      initPath,
      shmSize: hc.ShmSize,
      sysctls: (hc.Sysctls as Record<string, string> | null) ?? undefined,
      ...(record.IdMapping ? { idMapping: record.IdMapping } : {}),
    };
  }

  // ---- attach -----------------------------------------------------------------------------

  /**
   * Attaches to a container's stdio. A running container is attached at once (output from now
   * on); a created one when it starts, so `docker run` sees every byte.
   */
  async attach(idOrName: string, opts: { stdin: boolean }): Promise<AttachStreams> {
    const record = this.get(idOrName);
    const stdin = opts.stdin && record.Config.OpenStdin;
    if (record.State.Running) return this.deps.runtime.attach(record.Id, { stdin });
    return new Promise<AttachStreams>((resolve, reject) => {
      const list = this.pendingAttaches.get(record.Id) ?? [];
      list.push({ stdin, deliver: resolve, fail: reject });
      this.pendingAttaches.set(record.Id, list);
    });
  }

  /** Whether the container still exists (for callbacks that outlive a request). */
  exists(id: string): boolean {
    return this.deps.store.get(id) !== undefined;
  }

  /** Gives up a pending attach whose client went away before the container started. */
  cancelPendingAttach(id: string): void {
    const list = this.pendingAttaches.get(id);
    if (!list) return;
    this.pendingAttaches.delete(id);
    for (const pending of list) pending.fail(new Error("attach cancelled"));
  }

  private async connectPendingAttaches(id: string): Promise<void> {
    const list = this.pendingAttaches.get(id);
    if (!list) return;
    this.pendingAttaches.delete(id);
    for (const pending of list) {
      try {
        pending.deliver(await this.deps.runtime.attach(id, { stdin: pending.stdin }));
      } catch (err) {
        pending.fail(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  private failPendingAttaches(id: string, err: Error): void {
    const list = this.pendingAttaches.get(id);
    if (!list) return;
    this.pendingAttaches.delete(id);
    for (const pending of list) pending.fail(err);
  }

  // ---- stop, kill, restart ----------------------------------------------------------------

  async stop(idOrName: string, opts: { timeoutSeconds?: number; signal?: string } = {}): Promise<void> {
    const record = this.get(idOrName);
    if (record.State.Restarting && !record.State.Running) {
      await this.lock.run(record.Id, async () => {
        record.ManuallyStopped = true;
        this.cancelRestart(record);
        this.deps.store.save(record);
      });
      return;
    }
    if (!record.State.Running) {
      // A policy restart may be starting it right now, under the lock (CNI ADD takes a while):
      // wait for that start to finish, then stop what it started.
      await this.lock.run(record.Id, async () => undefined);
      if (!record.State.Running) throw new NotModifiedError("container already stopped");
    }
    record.ManuallyStopped = true;
    this.deps.store.save(record);
    const signal = opts.signal ? parseSignal(opts.signal) : record.Config.StopSignal ? parseSignal(record.Config.StopSignal) : SIGTERM;
    const timeout = opts.timeoutSeconds ?? record.Config.StopTimeout ?? 10;
    const exited = this.waitFor(record.Id, "not-running");
    await this.thawForSignal(record);
    await this.deps.runtime.kill(record.Id, signal).catch(() => undefined);
    this.emit("kill", record, { signal: String(signal) });
    const timedOut = timeout >= 0 ? await Promise.race([exited.then(() => false), sleep(timeout * 1000).then(() => true)]) : true;
    if (timedOut) {
      this.deps.log.info({ id: record.Id, timeout }, "container did not stop in time; sending SIGKILL");
      await this.deps.runtime.kill(record.Id, SIGKILL).catch(() => undefined);
      this.emit("kill", record, { signal: String(SIGKILL) });
      await this.settleExit(record.Id, exited);
    }
    this.emit("stop", record);
  }

  /**
   * Rootless mode's shutdown: the containers would die with the daemon's namespaces, so they are
   * stopped first, each with its stop signal and timeout, as dockerd stops them without
   * live-restore; not marked manually stopped, so restart policies bring them back next start.
   */
  async stopAllForShutdown(): Promise<void> {
    const running = this.deps.store.all().filter((r) => r.State.Running);
    await Promise.all(
      running.map(async (record) => {
        // --rm ones are removed by their exit: let that finish before the store closes.
        const removed = record.HostConfig.AutoRemove ? this.waitFor(record.Id, "removed").catch(() => 0) : Promise.resolve(0);
        await this.stop(record.Id).catch((err: unknown) => this.deps.log.warn({ id: record.Id, err: errorMessage(err) }, "stop at shutdown failed"));
        await Promise.race([removed, sleep(10_000)]);
        const after = this.deps.store.get(record.Id);
        if (after) {
          after.ManuallyStopped = false;
          this.deps.store.save(after);
        }
      }),
    );
  }

  /** Waits for an exit after SIGKILL; if the exit watcher is slow, asks the runtime directly. */
  private async settleExit(id: string, exited: Promise<number>): Promise<void> {
    const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
    if (done) return;
    const exit = await this.deps.runtime.readExit(id);
    if (exit) await this.handleExit(id, exit);
    else throw new SystemError(`container ${id} did not exit after SIGKILL`);
  }

  async kill(idOrName: string, signalName?: string): Promise<void> {
    const record = this.get(idOrName);
    const signal = signalName ? parseSignal(signalName) : SIGKILL;
    if (!record.State.Running) {
      throw new ConflictError(`cannot kill container: ${idOrName}: container ${record.Id} is not running`);
    }
    // Registered before the signal goes out: a fast exit must not be missed.
    const exited = this.waitFor(record.Id, "not-running");
    await this.deps.runtime.kill(record.Id, signal);
    if (signal === SIGKILL) await this.thawForSignal(record);
    this.emit("kill", record, { signal: String(signal) });
    if (signal === SIGKILL) await this.settleExit(record.Id, exited);
  }

  // ---- pause, unpause, top ---------------------------------------------------------------

  async pause(idOrName: string): Promise<void> {
    const id = this.get(idOrName).Id;
    await this.lock.run(id, async () => {
      const record = this.get(id);
      if (!record.State.Running) throw new ConflictError(`Container ${id} is not running`);
      if (record.State.Paused) throw new ConflictError(`Container ${id} is already paused`);
      await this.deps.runtime.pause(id);
      record.State = { ...record.State, Paused: true, Status: "paused" };
      this.deps.store.save(record);
      this.emit("pause", record);
    });
  }

  async unpause(idOrName: string): Promise<void> {
    const id = this.get(idOrName).Id;
    await this.lock.run(id, async () => {
      const record = this.get(id);
      if (!record.State.Paused) throw new ConflictError(`Container ${id} is not paused`);
      await this.deps.runtime.resume(id);
      record.State = { ...record.State, Paused: false, Status: "running" };
      this.deps.store.save(record);
      this.emit("unpause", record);
    });
  }

  /** Sets a TTY container's window size (docker resizes at start and on every SIGWINCH). */
  async resize(idOrName: string, height: number, width: number): Promise<void> {
    const record = this.get(idOrName);
    if (!record.State.Running) throw new ConflictError(`Container ${record.Id} is not running`);
    // Without a TTY there is no terminal to size; Docker's runtime shrugs too.
    if (!record.Config.Tty) return;
    await this.deps.runtime.resize(record.Id, Math.min(height, MAX_TERMINAL_SIDE), Math.min(width, MAX_TERMINAL_SIDE));
    this.emit("resize", record, { height: String(height), width: String(width) });
  }

  /** A frozen process only acts on a signal once thawed: signals to a paused container thaw it. */
  private async thawForSignal(record: ContainerRecord): Promise<void> {
    await this.hostAccess.breakFreeze(record.Id);
    if (!record.State.Paused) return;
    await this.deps.runtime.resume(record.Id).catch(() => undefined);
    record.State = { ...record.State, Paused: false, Status: "running" };
    this.deps.store.save(record);
  }

  /** A point of the container's resource usage (docker stats). */
  async statsPoint(idOrName: string): Promise<StatsPoint> {
    return takeStatsPoint(this.get(idOrName), this.deps.cgroupParent);
  }

  /** The container's processes as the host's `ps` shows them (Docker's /top). */
  async top(idOrName: string, psArgs: string): Promise<{ Titles: string[]; Processes: string[][] }> {
    const record = this.get(idOrName);
    if (!record.State.Running) throw new ConflictError(`Container ${record.Id} is not running`);
    const pids = new Set(await this.deps.runtime.pids(record.Id));
    return topTable(await hostPs(psArgs), pids);
  }

  /** docker update: new limits (applied live to a running container) and restart policy. */
  async update(idOrName: string, req: UpdateContainerRequest): Promise<{ Warnings: string[] }> {
    const id = this.get(idOrName).Id;
    return this.lock.run(id, async () => {
      const record = this.get(id);
      const current = record.HostConfig;
      const next: HostConfig = { ...current };
      const numeric = ["Memory", "MemorySwap", "MemoryReservation", "NanoCpus", "CpuShares", "CpuPeriod", "CpuQuota", "BlkioWeight"] as const;
      for (const key of numeric) {
        const value = req[key];
        if (value !== null && value !== undefined) next[key] = value;
      }
      if (req.CpusetCpus != null) next.CpusetCpus = req.CpusetCpus;
      if (req.CpusetMems != null) next.CpusetMems = req.CpusetMems;
      if (req.PidsLimit != null) next.PidsLimit = req.PidsLimit;
      if (req.NanoCpus != null && req.NanoCpus > 0) {
        next.CpuPeriod = 0;
        next.CpuQuota = 0;
      }
      if (req.Memory != null && req.MemorySwap == null && current.MemorySwap > 0 && req.Memory > current.MemorySwap) {
        throw new InvalidParameterError("Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time");
      }
      if (req.RestartPolicy) {
        next.RestartPolicy = {
          Name: ((req.RestartPolicy.Name || "no") as HostConfig["RestartPolicy"]["Name"]),
          MaximumRetryCount: req.RestartPolicy.MaximumRetryCount ?? 0,
        };
        validateRestartPolicy(next.RestartPolicy, next.AutoRemove);
      }
      adaptResources(next);
      validateResources(next, this.deps.limits);
      const warnings = this.deps.noCgroupLimits ? discardCgroupLimits(next) : [];
      if (record.State.Running && !this.deps.noCgroupLimits) {
        try {
          await this.deps.runtime.update(id, resourcesOf(next));
        } catch (err) {
          throw new SystemError(`Cannot update container ${id}: ${errorMessage(err)}`);
        }
      }
      record.HostConfig = next;
      this.deps.store.save(record);
      this.emit("update", record);
      return { Warnings: warnings };
    });
  }

  async restart(idOrName: string, opts: { timeoutSeconds?: number; signal?: string } = {}): Promise<void> {
    const record = this.get(idOrName);
    if (record.State.Running) await this.stop(record.Id, opts).catch((err: unknown) => {
      if (!(err instanceof NotModifiedError)) throw err;
    });
    await this.start(record.Id);
  }

  // ---- exits ------------------------------------------------------------------------------

  private async handleExit(id: string, exit: ExitInfo): Promise<void> {
    await this.lock.run(id, async () => {
      const record = this.deps.store.get(id);
      if (!record || !record.State.Running) return;
      record.State = {
        ...record.State,
        Status: "exited",
        Running: false,
        Paused: false,
        Restarting: false,
        Pid: 0,
        ExitCode: exit.exitCode,
        OOMKilled: exit.oomKilled,
        FinishedAt: exit.finishedAt,
      };
      this.deps.store.save(record);
      const released = await this.releaseRuntime(id);
      // Docker reports the OOM kill before the exit it causes.
      if (exit.oomKilled) this.emit("oom", record);
      this.emit("die", record, { exitCode: String(exit.exitCode) });
      // releaseRuntime just ran: removal does it again only if part of it failed.
      if (record.HostConfig.AutoRemove) await this.removeLocked(record, false, released);
      else if (shouldRestart(record, exit.exitCode, record.ManuallyStopped === true)) this.scheduleRestart(record);
    });
  }

  /**
   * Frees what only a running container needs: runtime state, cgroups, network, the mounted
   * rootfs. False when the runtime or the rootfs refused (logged; a later call tries again).
   */
  private async releaseRuntime(id: string): Promise<boolean> {
    let clean = true;
    await this.deps.runtime.delete(id, true).catch((err: unknown) => {
      clean = false;
      this.deps.log.warn({ id, err: errorMessage(err) }, "runtime delete failed");
    });
    await this.disconnectNetwork(id);
    await this.deps.rootfs.unmount(id).catch((err: unknown) => {
      clean = false;
      this.deps.log.warn({ id, err: errorMessage(err) }, "rootfs unmount failed");
    });
    this.mounts.release(id);
    unmountShareableShm(this.bundleDir(id));
    await fs.rm(this.bundleDir(id), { recursive: true, force: true });
    return clean;
  }

  /**
   * After a daemon restart: containers that exited while it was down get their exit recorded
   * (and --rm ones removed); ones whose monitor died without an exit file are marked dead-exited.
   */
  async reconcile(): Promise<void> {
    const released = this.deps.userns?.pool.releaseAllBut(new Set(this.deps.store.all().map((r) => r.Id))) ?? [];
    if (released.length) this.deps.log.info({ released }, "user namespace ranges of containers that were never created released");
    await this.adoptOrRecordExits();
    // Volumes of adopted containers count as mounted; ones a crash left mounted for nobody go.
    this.mounts.restore(this.deps.store.all());
    for (const record of this.deps.store.all()) {
      if (record.State.Running || record.State.Status === "removing") continue;
      if (record.State.Restarting || startsWithDaemon(record, record.ManuallyStopped === true)) {
        await this.start(record.Id).catch((err: unknown) => this.deps.log.warn({ id: record.Id, err: errorMessage(err) }, "restart at daemon start failed"));
      }
    }
  }

  private async adoptOrRecordExits(): Promise<void> {
    for (const record of this.deps.store.all()) {
      if (!record.State.Running) {
        if (record.State.Status === "removing") await this.lock.run(record.Id, () => this.removeLocked(record));
        continue;
      }
      const exit = await this.deps.runtime.readExit(record.Id);
      if (exit) {
        await this.handleExit(record.Id, exit);
      } else if (!(await this.deps.runtime.monitorAlive(record.Id))) {
        this.deps.log.warn({ id: record.Id }, "container monitor is gone and left no exit code; marking exited (255)");
        await this.handleExit(record.Id, { exitCode: 255, finishedAt: new Date().toISOString(), oomKilled: false });
      }
    }
  }

  /** Waits out the back-off, then starts the container again (State.Restarting meanwhile). */
  private scheduleRestart(record: ContainerRecord): void {
    const backoff = this.backoffs.get(record.Id) ?? new RestartBackoff();
    this.backoffs.set(record.Id, backoff);
    const ranFor = Date.parse(record.State.FinishedAt) - Date.parse(record.State.StartedAt);
    const delay = backoff.next(Number.isFinite(ranFor) ? ranFor : 0);
    record.State = { ...record.State, Status: "restarting", Restarting: true };
    this.deps.store.save(record);
    const timer = setTimeout(() => {
      this.restartTimers.delete(record.Id);
      void this.lock
        .run(record.Id, async () => {
          const current = this.deps.store.get(record.Id);
          if (!current || !current.State.Restarting) return;
          current.RestartCount += 1;
          current.State = { ...current.State, Restarting: false };
          await this.startLocked(current);
        })
        .catch((err: unknown) => {
          this.deps.log.warn({ id: record.Id, err: errorMessage(err) }, "restart failed");
          const current = this.deps.store.get(record.Id);
          if (current && shouldRestart(current, current.State.ExitCode, current.ManuallyStopped === true)) this.scheduleRestart(current);
        });
    }, delay);
    timer.unref();
    this.restartTimers.set(record.Id, timer);
  }

  private cancelRestart(record: ContainerRecord): void {
    const timer = this.restartTimers.get(record.Id);
    if (timer) clearTimeout(timer);
    this.restartTimers.delete(record.Id);
    if (record.State.Restarting) record.State = { ...record.State, Status: "exited", Restarting: false };
  }

  // ---- wait -------------------------------------------------------------------------------

  /**
   * Resolves with the exit code when the condition holds. Registration is synchronous, so a
   * caller that registers before `start` cannot miss a fast exit.
   */
  waitFor(id: string, condition: WaitCondition): Promise<number> {
    const record = this.deps.store.get(id);
    if (!record) return Promise.reject(new NotFoundError(`No such container: ${id}`));
    if (condition === "not-running" && !record.State.Running) return Promise.resolve(record.State.ExitCode);
    return new Promise<number>((resolve) => {
      const event = condition === "removed" ? "destroy" : "die";
      const listener = (ended: ContainerRecord): void => {
        if (ended.Id !== id) return;
        this.events.off(event, listener);
        resolve(ended.State.ExitCode);
      };
      this.events.on(event, listener);
    });
  }

  // ---- rename, remove ---------------------------------------------------------------------

  async rename(idOrName: string, newName: string): Promise<void> {
    if (!newName) throw new InvalidParameterError("Neither old nor new names may be empty");
    if (!NAME_PATTERN.test(newName)) {
      throw new InvalidParameterError(`Invalid container name (${newName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    const record = this.get(idOrName);
    const fullName = `/${newName.replace(/^\//, "")}`;
    if (record.Name === fullName) {
      throw new InvalidParameterError("Renaming a container with the same name as its current name");
    }
    const oldName = record.Name.slice(1);
    await this.lock.run("names", async () => {
      this.assertNameFree(fullName);
      record.Name = fullName;
      this.deps.store.save(record);
    });
    this.emit("rename", record, { oldName });
  }

  /** `volumes` (rm -v) also removes the container's anonymous volumes, as --rm does. */
  /**
   * POST /containers/prune: removes the stopped containers `wanted` accepts (by creation time and
   * labels), reporting their writable layers' size, then one `prune` event as Docker emits.
   */
  async prune(wanted: (createdMs: number, labels: Record<string, string>) => boolean): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }> {
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const record of this.list()) {
      if (record.State.Running || record.State.Paused || record.State.Restarting) continue;
      if (!wanted(Date.parse(record.Created), record.Config.Labels ?? {})) continue;
      const size = await dirSize(this.deps.rootfs.upperPath(record.Id)).catch(() => 0);
      try {
        await this.remove(record.Id, { force: false });
      } catch (err) {
        if (err instanceof NotFoundError) continue; // removed meanwhile (--rm, another prune)
        throw err;
      }
      deleted.push(record.Id);
      reclaimed += size;
    }
    this.deps.eventLog?.publish("container", "prune", "", { reclaimed: String(reclaimed) });
    return { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  }

  async remove(idOrName: string, opts: { force: boolean; volumes?: boolean }): Promise<void> {
    const record = this.get(idOrName);
    if (record.State.Running) {
      if (!opts.force) {
        throw new ConflictError(
          `cannot remove container "${record.Name}": container is running: stop the container before removing or force remove`,
        );
      }
      const exited = this.waitFor(record.Id, "not-running");
      await this.deps.runtime.kill(record.Id, SIGKILL).catch(() => undefined);
      await this.thawForSignal(record);
      await this.settleExit(record.Id, exited);
    }
    await this.lock.run(record.Id, async () => {
      const current = this.deps.store.get(record.Id);
      if (current) await this.removeLocked(current, opts.volumes === true);
    });
  }

  private async removeLocked(record: ContainerRecord, removeVolumes = false, runtimeReleased = false): Promise<void> {
    this.cancelRestart(record);
    this.backoffs.delete(record.Id);
    this.runtimeEnv.delete(record.Id);
    record.State = { ...record.State, Status: "removing" };
    this.deps.store.save(record);
    this.cancelPendingAttach(record.Id);
    if (!runtimeReleased) await this.releaseRuntime(record.Id);
    await this.deps.rootfs.remove(record.Id);
    await fs.rm(this.containerDir(record.Id), { recursive: true, force: true });
    this.deps.store.delete(record.Id);
    // After the record: a crash in between leaves an allocation without a container, freed at start.
    this.deps.userns?.pool.release(record.Id);
    this.emit("destroy", record);
    if (removeVolumes || record.HostConfig.AutoRemove) await this.mounts.removeAnonymous(record);
  }

  /** Records a healthcheck result; a change of status is Docker's `health_status: …` event. */
  setHealth(id: string, health: HealthState): void {
    const record = this.deps.store.get(id);
    if (!record) return;
    const previous = record.State.Health?.Status;
    record.State = { ...record.State, Health: health };
    this.deps.store.save(record);
    if (previous !== health.Status && health.Status !== "starting") this.emit(`health_status: ${health.Status}`, record);
  }

  /** Publishes an event about a container from another module (exec sessions). */
  publish(action: string, containerId: string, attributes: Record<string, string> = {}): void {
    const record = this.deps.store.get(containerId);
    if (record) this.emit(action, record, attributes);
  }

  private emit(action: string, record: ContainerRecord, attributes: Record<string, string> = {}): void {
    this.events.emit(action, record);
    this.deps.eventLog?.publish("container", action, record.Id, {
      ...record.Config.Labels,
      image: record.Config.Image,
      name: record.Name.slice(1),
      ...attributes,
    });
    this.deps.log.info({ id: shortId(record.Id), name: record.Name, action }, "container event");
  }
}

/** The cgroup limits a HostConfig asks for, in the runtime's terms. */
/** HostConfig.ConsoleSize [height, width]; [0, 0] (or anything unset) leaves the pty's default. */
function consoleSizeOf(value: unknown): SpecInput["consoleSize"] {
  if (!Array.isArray(value) || value.length !== 2) return undefined;
  const [height, width] = value as unknown[];
  if (typeof height !== "number" || typeof width !== "number" || height <= 0 || width <= 0) return undefined;
  return { height: Math.min(height, MAX_TERMINAL_SIDE), width: Math.min(width, MAX_TERMINAL_SIDE) };
}

function resourcesOf(hc: HostConfig): SpecInput["resources"] {
  let memorySwap: number | undefined;
  if (hc.MemorySwap !== 0) memorySwap = hc.MemorySwap;
  else if (hc.Memory > 0) memorySwap = hc.Memory * 2; // Docker's default: as much swap as memory
  return {
    memory: hc.Memory > 0 ? hc.Memory : undefined,
    memorySwap,
    cpuShares: hc.CpuShares > 0 ? hc.CpuShares : undefined,
    cpuQuota: hc.NanoCpus > 0 ? Math.round((hc.NanoCpus * 100000) / 1e9) : hc.CpuQuota || undefined,
    cpuPeriod: hc.NanoCpus > 0 ? 100000 : hc.CpuPeriod || undefined,
    cpusetCpus: hc.CpusetCpus || undefined,
    cpusetMems: hc.CpusetMems || undefined,
    pidsLimit: hc.PidsLimit && hc.PidsLimit > 0 ? hc.PidsLimit : undefined,
  };
}

/** Runs the host's ps with the caller's options (no shell: the words are passed as they are). */
function hostPs(psArgs: string): Promise<string> {
  if (psArgs.includes("\0")) return Promise.reject(new InvalidParameterError("Error running ps: an option contains a NUL byte"));
  const args = psArgs.trim() === "" ? ["-ef"] : psArgs.trim().split(/\s+/);
  return new Promise((resolve, reject) => {
    execFile("ps", args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      // ps refusing the caller's options is the caller's error (Docker answers 500 for it).
      const refused = typeof err.code === "number";
      const why = stderr.trim().split("\n")[0] || err.message;
      reject(refused ? new InvalidParameterError(`Error running ps: ${why}`) : new SystemError(`Error running ps: ${why}`));
    });
  });
}

/** Keeps the rows of `ps` output whose PID column names a process of the container. */
export function topTable(output: string, pids: Set<number>): { Titles: string[]; Processes: string[][] } {
  const lines = output.split("\n").filter((l) => l.trim() !== "");
  const titles = (lines[0] ?? "").trim().split(/\s+/);
  const pidColumn = titles.indexOf("PID");
  if (pidColumn < 0) throw new InvalidParameterError(`Couldn't find PID field in ps output`);
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    // The last column (the command) keeps its spaces.
    const row = [...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(" ")];
    if (pids.has(Number(row[pidColumn]))) processes.push(row);
  }
  return { Titles: titles, Processes: processes };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
