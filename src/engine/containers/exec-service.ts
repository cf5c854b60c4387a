import { z } from "zod";
import { ConflictError, InvalidParameterError, NotFoundError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import type { ContainerRuntime, ExecProcess } from "../../runtime/types";
import type { ContainerRootfs } from "../images/types";
import { parseDetachKeys } from "../../lib/detach-keys";
import { MAX_TERMINAL_SIDE, type ContainerService } from "./container-service";
import { startFailureExitCode } from "./status";

const nullish = <T extends z.ZodTypeAny>(t: T) => t.nullable().optional();

/** The body of POST /containers/{id}/exec. */
export const execCreateSchema = z
  .object({
    AttachStdin: nullish(z.boolean()),
    AttachStdout: nullish(z.boolean()),
    AttachStderr: nullish(z.boolean()),
    Tty: nullish(z.boolean()),
    Env: nullish(z.array(z.string())),
    Cmd: nullish(z.array(z.string())),
    Privileged: nullish(z.boolean()),
    User: nullish(z.string()),
    WorkingDir: nullish(z.string()),
    DetachKeys: nullish(z.string()),
    ConsoleSize: nullish(z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()])),
  })
  .passthrough();

export type ExecCreateRequest = z.infer<typeof execCreateSchema>;

function sizeOf(value: [number, number] | null | undefined): { height: number; width: number } | undefined {
  if (!value || value[0] <= 0 || value[1] <= 0) return undefined;
  return { height: Math.min(value[0], MAX_TERMINAL_SIDE), width: Math.min(value[1], MAX_TERMINAL_SIDE) };
}

interface ExecRecord {
  id: string;
  containerId: string;
  request: ExecCreateRequest;
  running: boolean;
  exitCode: number | null;
  pid: number;
  process?: ExecProcess;
}

/**
 * exec sessions (Docker keeps them in memory too: they do not outlive the daemon, the
 * container does). Each runs through the runtime's `exec`, in the container's namespaces.
 */
export class ExecService {
  private readonly execs = new Map<string, ExecRecord>();

  constructor(
    private readonly deps: {
      containers: ContainerService;
      runtime: ContainerRuntime;
      rootfs: ContainerRootfs;
      resolveUser(rootfs: string, user: string): Promise<{ uid: number; gid: number; additionalGids: number[] }>;
    },
  ) {
    // A removed container takes its exec records with it.
    deps.containers.events.on("destroy", (record: { Id: string }) => {
      for (const [id, exec] of this.execs) if (exec.containerId === record.Id) this.execs.delete(id);
    });
  }

  create(containerIdOrName: string, req: ExecCreateRequest): { Id: string } {
    const container = this.deps.containers.get(containerIdOrName);
    if (!req.Cmd || req.Cmd.length === 0) throw new InvalidParameterError("No exec command specified");
    if (req.DetachKeys) parseDetachKeys(req.DetachKeys);
    this.assertRunnable(container.Id);
    const id = newId();
    this.execs.set(id, { id, containerId: container.Id, request: req, running: false, exitCode: null, pid: 0 });
    this.deps.containers.publish("exec_create", container.Id, { execID: id });
    return { Id: id };
  }

  private assertRunnable(containerId: string): void {
    const container = this.deps.containers.get(containerId);
    if (!container.State.Running) throw new ConflictError(`container ${container.Id} is not running`);
    if (container.State.Paused) throw new ConflictError(`container ${container.Id} is paused, unpause the container before exec`);
  }

  get(execId: string): ExecRecord {
    const exec = this.execs.get(execId);
    if (!exec) throw new NotFoundError(`No such exec instance: ${execId}`);
    return exec;
  }

  /** Sets an exec's terminal size (exec -t); Docker answers 404 for an unknown exec. */
  resize(execId: string, height: number, width: number): void {
    const exec = this.get(execId);
    exec.process?.resize(Math.min(height, MAX_TERMINAL_SIDE), Math.min(width, MAX_TERMINAL_SIDE));
  }

  /**
   * Starts the process; the caller pumps its stdio. Start failures come back as an exit with
   * an error. `consoleSize` (the start body's, API 1.42+) wins over the create body's.
   */
  async start(execId: string, consoleSize?: [number, number] | null): Promise<ExecProcess> {
    const exec = this.get(execId);
    if (exec.running) throw new ConflictError(`Exec command ${execId} is already running`);
    if (exec.exitCode !== null) throw new ConflictError(`Exec command ${execId} has already run`);
    this.assertRunnable(exec.containerId);
    // A process joining a cgroup frozen for a copy would freeze half-started
    await this.deps.containers.hostAccess.settled(exec.containerId);
    const req = exec.request;
    const user = req.User ? await this.deps.resolveUser(this.deps.rootfs.mergedPath(exec.containerId), req.User) : undefined;
    const proc = await this.deps.runtime.exec(exec.containerId, {
      args: req.Cmd ?? [],
      env: req.Env ?? [],
      cwd: req.WorkingDir || undefined,
      user,
      privileged: req.Privileged ?? false,
      stdin: req.AttachStdin ?? false,
      tty: req.Tty ?? false,
      consoleSize: sizeOf(consoleSize ?? req.ConsoleSize),
    });
    exec.running = true;
    exec.process = proc;
    this.deps.containers.publish("exec_start", exec.containerId, { execID: execId });
    void proc.pid.then((pid) => (exec.pid = pid));
    void proc.exit.then(({ exitCode, error }) => {
      exec.running = false;
      exec.exitCode = error ? startFailureExitCode(error) : exitCode;
      exec.process = undefined;
      this.deps.containers.publish("exec_die", exec.containerId, { execID: execId, exitCode: String(exec.exitCode) });
    });
    return proc;
  }

  /** Docker's /exec/{id}/json. */
  inspect(execId: string): Record<string, unknown> {
    const exec = this.get(execId);
    const req = exec.request;
    const cmd = req.Cmd ?? [];
    return {
      CanRemove: false,
      ContainerID: exec.containerId,
      DetachKeys: req.DetachKeys ?? "",
      ExitCode: exec.exitCode,
      ID: exec.id,
      OpenStderr: req.AttachStderr ?? false,
      OpenStdin: req.AttachStdin ?? false,
      OpenStdout: req.AttachStdout ?? false,
      ProcessConfig: { arguments: cmd.slice(1), entrypoint: cmd[0] ?? "", privileged: req.Privileged ?? false, tty: req.Tty ?? false, user: req.User ?? "" },
      Running: exec.running,
      Pid: exec.pid,
    };
  }
}
