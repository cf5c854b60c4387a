/** `exec`: create an exec instance, start it attached (hijacked) or detached, exit with its code. */
import * as fs from "node:fs";
import type { CommandDef } from "../command";
import { StatusError, messageOf } from "../errors";
import { goFileError, parseKvFile, resolveEnv } from "../opts/values";
import { containerFlags } from "../run-flags";
import { demuxStream } from "../stdcopy";
import { delay } from "../attach";
import { containerPath } from "./lifecycle";

const EXEC_FLAGS = ["detach", "env", "env-file", "interactive", "privileged", "tty", "user", "workdir", "detach-keys"];

interface ExecInspect {
  Running: boolean;
  ExitCode: number | null;
}

export const execCommand: CommandDef = {
  usage: "[OPTIONS] CONTAINER COMMAND [ARG...]",
  short: "Execute a command in a running container",
  aliases: ["container exec", "exec"],
  flags: containerFlags("run").filter((f) => EXEC_FLAGS.includes(f.name)),
  stopAtFirstPositional: true,
  args: { min: 2 },
  run: async (ctx, flags, [container, ...cmd]) => {
    const env: string[] = [];
    for (const file of flags.list("env-file")) {
      let text: string;
      try {
        text = fs.readFileSync(file, "utf8");
      } catch (err) {
        throw new StatusError(goFileError(err, file), 125);
      }
      env.push(...parseKvFile(file, text, (k) => ctx.io.env[k]));
    }
    env.push(...flags.list("env").map((e) => resolveEnv(e, ctx.io.env)));
    const detach = flags.bool("detach");
    const interactive = flags.bool("interactive");
    const client = ctx.client();
    const { Id: execId } = await client.json<{ Id: string }>("POST", containerPath(container, "/exec"), {
      body: {
        AttachStdin: interactive && !detach,
        AttachStdout: !detach,
        AttachStderr: !detach,
        Tty: flags.bool("tty"),
        Env: env.length ? env : undefined,
        Cmd: cmd,
        Privileged: flags.bool("privileged"),
        User: flags.string("user") || undefined,
        WorkingDir: flags.string("workdir") || undefined,
        DetachKeys: flags.string("detach-keys") || undefined,
      },
    });
    if (detach) {
      await client.call("POST", `/exec/${execId}/start`, { body: { Detach: true, Tty: false } });
      return 0;
    }
    const socket = await client.hijack(`/exec/${execId}/start`, {}, { Detach: false, Tty: false });
    if (interactive) ctx.io.stdin.pipe(socket);
    try {
      await demuxStream(socket, ctx.io.stdout, ctx.io.stderr);
    } catch (err) {
      throw new StatusError(messageOf(err), 1);
    } finally {
      if (interactive) ctx.io.stdin.unpipe(socket);
      socket.destroy();
    }
    // docker/cli reads the exit code from the exec's inspect once it stops running.
    for (let i = 0; i < 200; i++) {
      const state = await client.json<ExecInspect>("GET", `/exec/${execId}/json`);
      if (!state.Running && state.ExitCode !== null) return state.ExitCode;
      await delay(25);
    }
    return 1;
  },
};
