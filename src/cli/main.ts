/**
 * Entry of the `wharf` command: global options, dispatch to a command module (loaded only
 * when used, to keep startup short), and the mapping of errors to docker's messages and
 * exit statuses.
 */
import { ApiClient } from "./api-client";
import { checkArgs, CliIO, CommandContext, flush, helpText } from "./command";
import { messageOf, StatusError } from "./errors";
import { FlagError, parseFlags } from "./flags";
import { Entry, GLOBAL_FLAGS, GROUPS, groupHelp, rootHelp, TOP_LEVEL } from "./registry";

export const DEFAULT_HOST = "unix:///run/wharf.sock";

/** -H, else WHARF_HOST, else DOCKER_HOST, else the default socket. */
export function resolveHost(flagHosts: string[], env: NodeJS.ProcessEnv): string {
  if (flagHosts.length > 1) throw new StatusError("Please specify only one -H", 1);
  return flagHosts[0] || env.WHARF_HOST || env.DOCKER_HOST || DEFAULT_HOST;
}

/** The root command's usage line in flag errors (cobra's UseLine for `docker`). */
const ROOT_USAGE = "wharf [OPTIONS] COMMAND [ARG...]";

const HELP_HELP = "Usage:  wharf help [command]\n\nHelp about the command\n";

/** docker 28's text for a command it does not know (cobra's "unknown command"), exit 1. */
function unknownCommand(words: string, group?: string): StatusError {
  const usage = group ? `\n\nUsage:  wharf ${group}` : "";
  const help = group ? `wharf ${group}` : "wharf";
  return new StatusError(`wharf: unknown command: wharf ${words}${usage}\n\nRun '${help} --help' for more information`, 1);
}

/**
 * `wharf help [COMMAND...]`: the help of the named command, as `wharf COMMAND --help`
 * prints it; docker's "unknown help topic" (exit 1) for words that name no command.
 */
async function helpTopic(words: string[], io: CliIO): Promise<number> {
  if (words.length === 0) {
    io.stdout.write(rootHelp());
    return 0;
  }
  const [name, ...rest] = words;
  if (name === "help") {
    if (rest.length > 0) throw new StatusError(`unknown help topic: ${rest.join(" ")}`, 1);
    io.stdout.write(HELP_HELP);
    return 0;
  }
  const group = GROUPS[name];
  if (group) {
    if (rest.length === 0) {
      io.stdout.write(groupHelp(name, group));
      return 0;
    }
    const entry = group.commands[rest[0]];
    if (!entry) throw new StatusError(`unknown help topic: ${rest.join(" ")}`, 1);
    if (rest.length > 1) throw new StatusError(`unknown help topic: ${rest.slice(1).join(" ")}`, 1);
    io.stdout.write(helpText(`${name} ${rest[0]}`, await entry.load()));
    return 0;
  }
  const entry = TOP_LEVEL[name];
  if (!entry) throw new StatusError(`unknown help topic: ${words.join(" ")}`, 1);
  if (rest.length > 0) throw new StatusError(`unknown help topic: ${rest.join(" ")}`, 1);
  io.stdout.write(helpText(name, await entry.load()));
  return 0;
}

/** Runs the CLI against the given streams; returns the exit status. */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  let client: ApiClient | undefined;
  let path = "";
  let usage = ROOT_USAGE;
  try {
    const globals = parseFlags(argv, GLOBAL_FLAGS, { stopAtFirstPositional: true });
    if (globals.flags.bool("version")) {
      const { clientVersion } = await import("./commands/system-common");
      io.stdout.write(`Wharf version ${clientVersion()}\n`);
      return 0;
    }
    const [name, ...rest] = globals.args;
    if (globals.help || name === undefined) {
      io.stdout.write(rootHelp());
      return 0;
    }
    if (name === "help") {
      path = "help";
      usage = "wharf help [command]";
      const topic = parseFlags(rest, []);
      if (topic.help) {
        io.stdout.write(HELP_HELP);
        return 0;
      }
      return await helpTopic(topic.args, io);
    }
    const host = resolveHost(globals.flags.list("host"), io.env);

    let entry: Entry | undefined = TOP_LEVEL[name];
    let args = rest;
    path = name;
    const group = GROUPS[name];
    if (group) {
      // A group takes no flags of its own but --help; `container --help ls` is ls's help.
      usage = `wharf ${name}`;
      const own = parseFlags(rest, [], { stopAtFirstPositional: true });
      const sub = own.args[0];
      // `container --help nosuch` is the group's help, as with docker.
      if (sub === undefined || (own.help && !group.commands[sub])) {
        io.stdout.write(groupHelp(name, group));
        return 0;
      }
      entry = group.commands[sub];
      if (!entry) throw unknownCommand(`${name} ${sub}`, name);
      path = `${name} ${sub}`;
      args = own.help ? ["--help", ...own.args.slice(1)] : own.args.slice(1);
    }
    if (!entry) throw unknownCommand(name);

    const def = await entry.load();
    usage = `wharf ${path} ${def.usage}`.trimEnd();
    const parsed = parseFlags(args, def.flags, { stopAtFirstPositional: def.stopAtFirstPositional });
    if (parsed.help) {
      io.stdout.write(helpText(path, def));
      return 0;
    }
    checkArgs(path, def, parsed.args);
    const ctx: CommandContext = {
      io,
      host,
      path,
      client: () => {
        client ??= new ApiClient(host, io.env.WHARF_API_VERSION || io.env.DOCKER_API_VERSION || undefined);
        return client;
      },
    };
    return await def.run(ctx, parsed.flags, parsed.args);
  } catch (err) {
    return report(io, err, path, usage);
  } finally {
    client?.close();
    await Promise.all([flush(io.stdout), flush(io.stderr)]);
  }
}

/** Prints an error the way docker does and returns the exit status. */
function report(io: CliIO, err: unknown, path: string, usage: string | undefined): number {
  if (err instanceof StatusError) {
    if (err.message) io.stderr.write(`${err.message}\n`);
    return err.exitCode;
  }
  if (err instanceof FlagError) {
    // docker 28's layout for a flag error: message, usage line, pointer to --help.
    const see = path ? `wharf ${path}` : "wharf";
    const usageBlock = usage ? `\nUsage:  ${usage}\n` : "";
    io.stderr.write(`${err.message}\n${usageBlock}\nRun '${see} --help' for more information\n`);
    return 125;
  }
  // Daemon errors ("Error response from daemon: ..."), connection errors and the rest.
  io.stderr.write(`${messageOf(err)}\n`);
  return 1;
}

/** `bin/wharf` calls this with process.argv.slice(2) and exits with the result. */
export async function main(argv: string[]): Promise<number> {
  // A closed pipe (`wharf ps | head -1`) is not an error worth a stack trace.
  const ignoreEpipe = (err: NodeJS.ErrnoException): void => {
    if (err.code !== "EPIPE") throw err;
  };
  process.stdout.on("error", ignoreEpipe);
  process.stderr.on("error", ignoreEpipe);
  return runCli(argv, {
    // A getter: node builds process.stdin on first use (~4 ms), and most commands never read it.
    get stdin() {
      return process.stdin;
    },
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    proc: process,
  });
}
