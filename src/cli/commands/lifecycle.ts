/** start, stop, kill, restart, wait, rename, rm: the container lifecycle verbs. */
import type { CommandContext, CommandDef } from "../command";
import { isNotFound, messageOf, runFailureCode, StatusError } from "../errors";
import { ParsedFlags, validateInt } from "../flags";
import { attachStartAndWait, StartError } from "../attach";
import { pathSegment, Query } from "../api-client";

export function containerPath(name: string, suffix = ""): string {
  return `/containers/${pathSegment(name)}${suffix}`;
}

/**
 * Runs `op` for every name at once, then prints each name that succeeded (in order) and
 * every error; exit status 1 when any failed, as docker's multi-container commands do.
 */
async function forEachName(
  ctx: CommandContext,
  names: string[],
  op: (name: string) => Promise<void>,
  /** Errors that are printed but do not fail the command. */
  tolerate: (err: unknown) => boolean = () => false,
): Promise<number> {
  const results = names.map((name) => op(name).then(
    () => undefined,
    (err: unknown) => err,
  ));
  const errors: string[] = [];
  for (let i = 0; i < names.length; i++) {
    const err = await results[i];
    if (err === undefined) ctx.io.stdout.write(`${names[i]}\n`);
    else if (tolerate(err)) ctx.io.stderr.write(`${messageOf(err)}\n`);
    else errors.push(messageOf(err));
  }
  if (errors.length > 0) throw new StatusError(errors.join("\n"), 1);
  return 0;
}

function stopQuery(flags: ParsedFlags): Query {
  if (flags.changed("time") && flags.changed("timeout")) {
    throw new StatusError("conflicting options: cannot specify both --timeout and --time", 1);
  }
  const timeoutFlag = flags.changed("timeout") ? "timeout" : flags.changed("time") ? "time" : undefined;
  return {
    t: timeoutFlag ? flags.string(timeoutFlag) : undefined,
    signal: flags.string("signal") || undefined,
  };
}

const signalFlag = { name: "signal", short: "s", type: "string", description: "Signal to send to the container" };
const timeoutFlags = [
  { name: "timeout", short: "t", type: "int", description: "Seconds to wait before killing the container", validate: validateInt },
  { name: "time", type: "int", description: "Seconds to wait before killing the container", validate: validateInt, hidden: true },
];

export const stopCommand: CommandDef = {
  usage: "[OPTIONS] CONTAINER [CONTAINER...]",
  short: "Stop one or more running containers",
  aliases: ["container stop", "stop"],
  flags: [signalFlag, ...timeoutFlags],
  args: { min: 1 },
  run: (ctx, flags, names) => {
    const query = stopQuery(flags);
    return forEachName(ctx, names, (name) => ctx.client().call("POST", containerPath(name, "/stop"), { query }));
  },
};

export const restartCommand: CommandDef = {
  usage: "[OPTIONS] CONTAINER [CONTAINER...]",
  short: "Restart one or more containers",
  aliases: ["container restart", "restart"],
  flags: [signalFlag, ...timeoutFlags],
  args: { min: 1 },
  run: (ctx, flags, names) => {
    const query = stopQuery(flags);
    return forEachName(ctx, names, (name) => ctx.client().call("POST", containerPath(name, "/restart"), { query }));
  },
};

export const killCommand: CommandDef = {
  usage: "[OPTIONS] CONTAINER [CONTAINER...]",
  short: "Kill one or more running containers",
  aliases: ["container kill", "kill"],
  flags: [signalFlag],
  args: { min: 1 },
  run: (ctx, flags, names) =>
    forEachName(ctx, names, (name) =>
      ctx.client().call("POST", containerPath(name, "/kill"), { query: { signal: flags.string("signal") || undefined } }),
    ),
};

export const rmCommand: CommandDef = {
  usage: "[OPTIONS] CONTAINER [CONTAINER...]",
  short: "Remove one or more containers",
  aliases: ["container rm", "container remove", "rm"],
  flags: [
    { name: "force", short: "f", bool: true, description: "Force the removal of a running container (uses SIGKILL)" },
    { name: "link", short: "l", bool: true, description: "Remove the specified link" },
    { name: "volumes", short: "v", bool: true, description: "Remove anonymous volumes associated with the container" },
  ],
  args: { min: 1 },
  run: (ctx, flags, names) => {
    const force = flags.bool("force");
    return forEachName(
      ctx,
      names,
      async (raw) => {
        const name = raw.replace(/^\/+|\/+$/g, "");
        if (name === "") throw new Error("container name cannot be empty");
        await ctx.client().call("DELETE", containerPath(name), {
          query: { force: force || undefined, v: flags.bool("volumes") || undefined, link: flags.bool("link") || undefined },
        });
      },
      // docker rm -f reports containers that are already gone, but succeeds
      (err) => force && isNotFound(err),
    );
  },
};

export const waitCommand: CommandDef = {
  usage: "CONTAINER [CONTAINER...]",
  short: "Block until one or more containers stop, then print their exit codes",
  aliases: ["container wait", "wait"],
  flags: [],
  args: { min: 1 },
  run: async (ctx, _flags, names) => {
    const errors: string[] = [];
    for (const name of names) {
      try {
        const res = await ctx.client().json<{ StatusCode?: number; Error?: { Message?: string } | null }>(
          "POST",
          containerPath(name, "/wait"),
        );
        if (res?.Error?.Message) errors.push(res.Error.Message);
        else ctx.io.stdout.write(`${res?.StatusCode ?? 0}\n`);
      } catch (err) {
        errors.push(messageOf(err));
      }
    }
    if (errors.length > 0) throw new StatusError(errors.join("\n"), 1);
    return 0;
  },
};

export const renameCommand: CommandDef = {
  usage: "CONTAINER NEW_NAME",
  short: "Rename a container",
  aliases: ["container rename", "rename"],
  flags: [],
  args: { min: 2, max: 2 },
  run: async (ctx, _flags, [oldName, newName]) => {
    const from = oldName.trim();
    const to = newName.trim();
    if (from === "" || to === "") throw new StatusError("Error: Neither old nor new names may be empty", 1);
    try {
      await ctx.client().call("POST", containerPath(from, "/rename"), { query: { name: to } });
    } catch (err) {
      ctx.io.stderr.write(`${messageOf(err)}\n`);
      throw new StatusError(`Error: failed to rename container named ${oldName}`, 1);
    }
    return 0;
  },
};

interface InspectedContainer {
  Id: string;
  Config: { Tty?: boolean; OpenStdin?: boolean };
  HostConfig: { AutoRemove?: boolean };
}

/** start -a/-i: attached start; a failed start exits 127/126 as docker's run rule says, else 1. */
async function startAttached(ctx: CommandContext, flags: ParsedFlags, name: string): Promise<number> {
  const client = ctx.client();
  const c = await client.json<InspectedContainer>("GET", containerPath(name, "/json"));
  try {
    return await attachStartAndWait(
      client,
      c.Id,
      {
        stdin: flags.bool("interactive") && !!c.Config.OpenStdin,
        stdout: true,
        stderr: true,
        tty: !!c.Config.Tty,
        detachKeys: flags.string("detach-keys") || undefined,
        autoRemove: !!c.HostConfig.AutoRemove,
        proxySignals: true,
      },
      ctx.io,
    );
  } catch (err) {
    if (!(err instanceof StartError)) throw err;
    const code = runFailureCode(err.message);
    throw new StatusError(err.message, code === 125 ? 1 : code);
  }
}

export const startCommand: CommandDef = {
  usage: "[OPTIONS] CONTAINER [CONTAINER...]",
  short: "Start one or more stopped containers",
  aliases: ["container start", "start"],
  flags: [
    { name: "attach", short: "a", bool: true, description: "Attach STDOUT/STDERR and forward signals" },
    { name: "detach-keys", type: "string", description: "Override the key sequence for detaching a container" },
    { name: "interactive", short: "i", bool: true, description: "Attach container's STDIN" },
  ],
  args: { min: 1 },
  run: async (ctx, flags, names) => {
    if (flags.bool("attach") || flags.bool("interactive")) {
      if (names.length > 1) throw new StatusError("you cannot start and attach multiple containers at once", 1);
      return startAttached(ctx, flags, names[0]);
    }
    const failed: string[] = [];
    for (const name of names) {
      try {
        await ctx.client().call("POST", containerPath(name, "/start"));
        ctx.io.stdout.write(`${name}\n`);
      } catch (err) {
        ctx.io.stderr.write(`${messageOf(err)}\n`);
        failed.push(name);
      }
    }
    if (failed.length > 0) throw new StatusError(`Error: failed to start containers: ${failed.join(", ")}`, 1);
    return 0;
  },
};

export const pauseCommand: CommandDef = {
  usage: "CONTAINER [CONTAINER...]",
  short: "Pause all processes within one or more containers",
  aliases: ["container pause", "pause"],
  flags: [],
  args: { min: 1 },
  run: (ctx, _flags, names) => forEachName(ctx, names, (name) => ctx.client().call("POST", containerPath(name, "/pause"))),
};

export const unpauseCommand: CommandDef = {
  usage: "CONTAINER [CONTAINER...]",
  short: "Unpause all processes within one or more containers",
  aliases: ["container unpause", "unpause"],
  flags: [],
  args: { min: 1 },
  run: (ctx, _flags, names) => forEachName(ctx, names, (name) => ctx.client().call("POST", containerPath(name, "/unpause"))),
};
