import { EventEmitter } from "node:events";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { ConflictError, InvalidParameterError, NotFoundError, NotModifiedError, SystemError, WharfError, errorMessage } from "../../lib/errors";
import { newId, randomName, shortId } from "../../lib/ids";
import { KeyedLock } from "../../lib/keyed-lock";
import type { EventLog } from "../events";
import { SIGKILL, SIGTERM, parseSignal } from "../../lib/signals";
import { CAPABILITY_NAMES, hostFacts } from "../../runtime/host-facts";
import type { AttachStreams, ContainerRuntime, ExitInfo, SpecInput } from "../../runtime/types";
import type { ContainerRootfs, ImageProvider } from "../images/types";
import type { ContainerStore } from "./container-store";
import { buildContainerConfig, type HostLimits } from "./create-config";
import type { CreateContainerRequest } from "./create-request";
import { writeEtcFiles } from "./etc-files";
import { RestartBackoff, shouldRestart, startsWithDaemon } from "./restart-policy";
import { newState, startFailureExitCode } from "./status";
import type { ContainerRecord } from "./types";
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

  constructor(private readonly deps: ContainerServiceDeps) {
    this.events.setMaxListeners(0);
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

  async create(req: CreateContainerRequest, name?: string): Promise<{ Id: string; Warnings: string[] }> {
    if (name !== undefined && name !== "" && !NAME_PATTERN.test(name)) {
      throw new InvalidParameterError(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    if (!req.Image) throw new InvalidParameterError("Config.Image must be set");
    const image = this.deps.images.resolve(req.Image);
    const id = newId();
    const built = buildContainerConfig(req, image, id, this.deps.limits, this.deps.defaultRuntime);
    const fullName = `/${(name || this.uniqueRandomName()).replace(/^\//, "")}`;
    this.assertNameFree(fullName);

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
    };
    await fs.mkdir(dir, { recursive: true, mode: 0o710 });
    try {
      await this.deps.rootfs.create(id);
      await writeEtcFiles(dir, {
        hostname: built.config.Hostname,
        domainname: built.config.Domainname,
        networkMode: built.hostConfig.NetworkMode,
        dns: (built.hostConfig.Dns as string[] | null) ?? [],
        dnsSearch: (built.hostConfig.DnsSearch as string[] | null) ?? [],
        dnsOptions: (built.hostConfig.DnsOptions as string[] | null) ?? [],
        extraHosts: (built.hostConfig.ExtraHosts as string[] | null) ?? [],
      });
      await this.lock.run("names", async () => {
        this.assertNameFree(fullName);
        this.deps.store.save(record);
      });
    } catch (err) {
      await this.deps.rootfs.remove(id).catch(() => undefined);
      await fs.rm(dir, { recursive: true, force: true });
      throw err;
    }
    this.emit("create", record);
    return { Id: id, Warnings: this.createWarnings(record) };
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
      const rootfsPath = await rootfs.mount(id, images.layerDirs(image));
      const spec = await this.specFor(record, rootfsPath);
      await fs.mkdir(this.bundleDir(id), { recursive: true, mode: 0o700 });
      const { pid } = await runtime.create({
        containerId: id,
        bundleDir: this.bundleDir(id),
        spec,
        logPath: record.LogPath,
        openStdin: record.Config.OpenStdin,
        stdinOnce: record.Config.StdinOnce,
        tty: record.Config.Tty,
      });
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
      await rootfs.unmount(id).catch(() => undefined);
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

  /** Translates the stored record into the runtime's spec input. */
  private async specFor(record: ContainerRecord, rootfsPath: string): Promise<SpecInput> {
    const hc = record.HostConfig;
    const cfg = record.Config;
    const securityOpts = hc.SecurityOpt ?? [];
    const seccompOpt = securityOpts.find((o) => o.startsWith("seccomp=") || o.startsWith("seccomp:"));
    const seccompValue = seccompOpt?.slice("seccomp=".length);
    const noNewPrivileges = securityOpts.some((o) => /^no-new-privileges(?:[:=]true)?$/.test(o));
    const user = await this.deps.resolveUser(rootfsPath, cfg.User);
    let memorySwap: number | undefined;
    if (hc.MemorySwap !== 0) memorySwap = hc.MemorySwap;
    else if (hc.Memory > 0) memorySwap = hc.Memory * 2; // Docker's default: as much swap as memory
    const period = hc.NanoCpus > 0 ? 100000 : hc.CpuPeriod || undefined;
    const quota = hc.NanoCpus > 0 ? Math.round((hc.NanoCpus * 100000) / 1e9) : hc.CpuQuota || undefined;
    const initPath = hc.Init ? this.deps.initPath : undefined;
    if (hc.Init && !initPath) throw new SystemError("--init: no init binary (tini or catatonit) is installed");
    return {
      containerId: record.Id,
      rootfsPath,
      readonlyRootfs: hc.ReadonlyRootfs,
      args: [record.Path, ...record.Args],
      env: cfg.Env.some((e) => e.startsWith("PATH=")) ? cfg.Env : ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", ...cfg.Env],
      cwd: cfg.WorkingDir || "/",
      user,
      terminal: cfg.Tty,
      hostname: cfg.Hostname,
      etcFiles: { hostname: record.HostnamePath, hosts: record.HostsPath, resolvConf: record.ResolvConfPath },
      extraMounts: [],
      privileged: hc.Privileged,
      capAdd: hc.CapAdd ?? [],
      capDrop: hc.CapDrop ?? [],
      noNewPrivileges,
      seccomp: seccompValue === undefined ? "default" : seccompValue === "unconfined" ? "unconfined" : { profileJson: seccompValue },
      network: hc.NetworkMode === "host" ? "host" : "none",
      resources: {
        memory: hc.Memory > 0 ? hc.Memory : undefined,
        memorySwap,
        cpuShares: hc.CpuShares > 0 ? hc.CpuShares : undefined,
        cpuQuota: quota,
        cpuPeriod: period,
        cpusetCpus: hc.CpusetCpus || undefined,
        cpusetMems: hc.CpusetMems || undefined,
        pidsLimit: hc.PidsLimit && hc.PidsLimit > 0 ? hc.PidsLimit : undefined,
      },
      ulimits: hc.Ulimits ?? [],
      cgroupsPath: `${this.deps.cgroupParent}/${record.Id}`,
      initPath,
      shmSize: hc.ShmSize,
      sysctls: (hc.Sysctls as Record<string, string> | null) ?? undefined,
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
    if (!record.State.Running) throw new NotModifiedError("container already stopped");
    record.ManuallyStopped = true;
    this.deps.store.save(record);
    const signal = opts.signal ? parseSignal(opts.signal) : record.Config.StopSignal ? parseSignal(record.Config.StopSignal) : SIGTERM;
    const timeout = opts.timeoutSeconds ?? record.Config.StopTimeout ?? 10;
    const exited = this.waitFor(record.Id, "not-running");
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
    this.emit("kill", record, { signal: String(signal) });
    if (signal === SIGKILL) await this.settleExit(record.Id, exited);
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
      await this.releaseRuntime(id);
      this.emit("die", record, { exitCode: String(exit.exitCode) });
      if (exit.oomKilled) this.emit("oom", record);
      if (record.HostConfig.AutoRemove) await this.removeLocked(record);
      else if (shouldRestart(record, exit.exitCode, record.ManuallyStopped === true)) this.scheduleRestart(record);
    });
  }

  /** Frees what only a running container needs: runtime state, cgroups, the mounted rootfs. */
  private async releaseRuntime(id: string): Promise<void> {
    await this.deps.runtime.delete(id, true).catch((err: unknown) => this.deps.log.warn({ id, err: errorMessage(err) }, "runtime delete failed"));
    await this.deps.rootfs.unmount(id).catch((err: unknown) => this.deps.log.warn({ id, err: errorMessage(err) }, "rootfs unmount failed"));
    await fs.rm(this.bundleDir(id), { recursive: true, force: true });
  }

  /**
   * After a daemon restart: containers that exited while it was down get their exit recorded
   * (and --rm ones removed); ones whose monitor died without an exit file are marked dead-exited.
   */
  async reconcile(): Promise<void> {
    await this.adoptOrRecordExits();
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

  async remove(idOrName: string, opts: { force: boolean }): Promise<void> {
    const record = this.get(idOrName);
    if (record.State.Running) {
      if (!opts.force) {
        throw new ConflictError(
          `cannot remove container "${record.Name}": container is running: stop the container before removing or force remove`,
        );
      }
      const exited = this.waitFor(record.Id, "not-running");
      await this.deps.runtime.kill(record.Id, SIGKILL).catch(() => undefined);
      await this.settleExit(record.Id, exited);
    }
    await this.lock.run(record.Id, async () => {
      const current = this.deps.store.get(record.Id);
      if (current) await this.removeLocked(current);
    });
  }

  private async removeLocked(record: ContainerRecord): Promise<void> {
    this.cancelRestart(record);
    this.backoffs.delete(record.Id);
    record.State = { ...record.State, Status: "removing" };
    this.deps.store.save(record);
    this.cancelPendingAttach(record.Id);
    await this.releaseRuntime(record.Id);
    await this.deps.rootfs.remove(record.Id);
    await fs.rm(this.containerDir(record.Id), { recursive: true, force: true });
    this.deps.store.delete(record.Id);
    this.emit("destroy", record);
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
