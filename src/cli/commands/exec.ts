/** `exec`: create an exec instance, start it attached (hijacked) or detached, exit with its code. */
import * as fs from "node:fs";
import type { CommandDef } from "../command";
import { StatusError, messageOf } from "../errors";
import { goFileError, parseKvFile, resolveEnv } from "../opts/values";
import { containerFlags } from "../run-flags";
import { copyStream, demuxStream } from "../stdcopy";
import { delay, forwardTerminalInput } from "../attach";
import { detachKeysOption, monitorTerminalSize, terminalSize } from "../terminal";
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
    const tty = flags.bool("tty");
    if (interactive && tty && !detach && !ctx.io.stdin.isTTY) throw new StatusError("the input device is not a TTY", 1);
    const detachKeys = flags.string("detach-keys") || undefined;
    const keys = detachKeysOption(detachKeys, 1);
    const consoleSize = tty ? terminalSize(ctx.io) : undefined;
    const client = ctx.client();
    const { Id: execId } = await client.json<{ Id: string }>("POST", containerPath(container, "/exec"), {
      body: {
        AttachStdin: interactive && !detach,
        AttachStdout: !detach,
        AttachStderr: !detach,
        Tty: tty,
        ConsoleSize: consoleSize,
        Env: env.length ? env : undefined,
        Cmd: cmd,
        Privileged: flags.bool("privileged"),
        User: flags.string("user") || undefined,
        WorkingDir: flags.string("workdir") || undefined,
        DetachKeys: detachKeys,
      },
    });
    if (detach) {
      await client.call("POST", `/exec/${execId}/start`, { body: { Detach: true, Tty: false } });
      return 0;
    }
    const socket = await client.hijack(`/exec/${execId}/start`, {}, { Detach: false, Tty: tty, ConsoleSize: consoleSize });
    let detached = false;
    let stopInput = (): void => undefined;
    if (interactive && tty) {
      stopInput = forwardTerminalInput(ctx.io, socket, keys, () => {
        detached = true;
        socket.destroy();
      });
    } else if (interactive) {
      ctx.io.stdin.pipe(socket);
      stopInput = () => ctx.io.stdin.unpipe(socket);
    }
    const stopResizing = tty ? monitorTerminalSize(client, `/exec/${execId}/resize`, ctx.io) : () => undefined;
    try {
      await (tty ? copyStream(socket, ctx.io.stdout) : demuxStream(socket, ctx.io.stdout, ctx.io.stderr));
    } catch (err) {
      if (!detached) throw new StatusError(messageOf(err), 1);
    } finally {
      stopResizing();
      stopInput();
      socket.destroy();
    }
    // As docker exec: the process goes on, the client reports the detach as an error.
    if (detached) throw new StatusError("read escape sequence", 1);
    // docker/cli reads the exit code from the exec's inspect once it stops running.
    for (let i = 0; i < 200; i++) {
      const state = await client.json<ExecInspect>("GET", `/exec/${execId}/json`);
      if (!state.Running && state.ExitCode !== null) return state.ExitCode;
      await delay(25);
    }
    return 1;
  },
};
