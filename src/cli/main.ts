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

/** Runs the CLI against the given streams; returns the exit status. */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  let client: ApiClient | undefined;
  let path = "";
  let usage: string | undefined;
  try {
    const globals = parseFlags(argv, GLOBAL_FLAGS, { stopAtFirstPositional: true });
    if (globals.flags.bool("version")) {
      const { clientVersion } = await import("./commands/system-common");
      io.stdout.write(`Wharf version ${clientVersion()}\n`);
      return 0;
    }
    const [name, ...rest] = globals.args;
    if (globals.help || name === undefined || name === "help") {
      io.stdout.write(rootHelp());
      return 0;
    }
    const host = resolveHost(globals.flags.list("host"), io.env);

    let entry: Entry | undefined = TOP_LEVEL[name];
    let args = rest;
    path = name;
    const group = GROUPS[name];
    if (group) {
      const sub = rest[0];
      if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
        io.stdout.write(groupHelp(name, group));
        return 0;
      }
      entry = group.commands[sub];
      if (!entry) {
        throw new StatusError(`wharf: '${name} ${sub}' is not a wharf command.\nSee 'wharf ${name} --help'`, 1);
      }
      path = `${name} ${sub}`;
      args = rest.slice(1);
    }
    if (!entry) throw new StatusError(`wharf: '${name}' is not a wharf command.\nSee 'wharf --help'`, 1);

    const def = await entry.load();
    usage = `wharf ${path} ${def.usage}`;
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
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    proc: process,
  });
}
