/** `attach`: connect the terminal to a running container's stdio, as docker attach does. */
import type { CommandDef } from "../command";
import { StatusError, messageOf } from "../errors";
import { attachContainer, forwardSignals, waitForExit } from "../attach";
import { detachKeysOption, monitorTerminalSize } from "../terminal";
import { containerPath } from "./lifecycle";

interface AttachInspect {
  Id: string;
  State: { Running: boolean; Paused: boolean; Restarting: boolean };
  Config: { Tty: boolean; OpenStdin: boolean };
}

export const attachCommand: CommandDef = {
  usage: "[OPTIONS] CONTAINER",
  short: "Attach local standard input, output, and error streams to a running container",
  aliases: ["container attach", "attach"],
  flags: [
    { name: "detach-keys", type: "string", description: "Override the key sequence for detaching a container" },
    { name: "no-stdin", bool: true, description: "Do not attach STDIN" },
    { name: "sig-proxy", bool: true, defaultText: "true", description: "Proxy all received signals to the process" },
  ],
  args: { min: 1, max: 1 },
  run: async (ctx, flags, [name]) => {
    const client = ctx.client();
    const c = await client.json<AttachInspect>("GET", containerPath(name, "/json"));
    if (!c.State.Running) throw new StatusError("You cannot attach to a stopped container, start it first", 1);
    if (c.State.Paused) throw new StatusError("You cannot attach to a paused container, unpause it first", 1);
    if (c.State.Restarting) throw new StatusError("You cannot attach to a restarting container, wait until it is running", 1);
    const stdin = c.Config.OpenStdin && !flags.bool("no-stdin");
    if (stdin && c.Config.Tty && !ctx.io.stdin.isTTY) throw new StatusError("the input device is not a TTY", 1);
    const detachKeys = flags.string("detach-keys") || undefined;
    detachKeysOption(detachKeys, 1);

    const exit = waitForExit(client, c.Id, "not-running", ctx.io);
    const stopSignals = !c.Config.Tty && flags.bool("sig-proxy", true) && ctx.io.proc ? forwardSignals(client, c.Id, ctx.io.proc, ctx.io) : () => undefined;
    let stopResizing = (): void => undefined;
    try {
      const session = await attachContainer(client, c.Id, { stdin, stdout: true, stderr: true, tty: c.Config.Tty, detachKeys }, ctx.io);
      if (c.Config.Tty) stopResizing = monitorTerminalSize(client, containerPath(c.Id, "/resize"), ctx.io);
      let ended: "ended" | "detached";
      try {
        ended = await session.done;
      } catch (err) {
        throw new StatusError(messageOf(err), 1);
      }
      // docker attach reports a detach as an error: the container did not end.
      if (ended === "detached") {
        exit.abandon();
        throw new StatusError("read escape sequence", 1);
      }
      return await exit.status;
    } finally {
      stopResizing();
      stopSignals();
    }
  },
};
