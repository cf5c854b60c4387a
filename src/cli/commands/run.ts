/**
 * `run` and `create`, following docker/cli's flow: create (pulling a missing image), then
 * for run: attach, register the exit wait, start, stream until the container's output
 * ends, and exit with the container's status.
 */
import * as fs from "node:fs";
import type { CliIO, CommandContext, CommandDef } from "../command";
import { ApiError, isNotFound, messageOf, runFailureCode, StatusError, withHelp } from "../errors";
import type { ParsedFlags } from "../flags";
import { buildCreateRequest, CreateRequest, defaultDeps } from "../run-options";
import { containerFlags } from "../run-flags";
import { attachStartAndWait, StartError } from "../attach";
import { detachKeysOption, terminalSize } from "../terminal";
import { pullImage } from "../pull";
import { familiarString, parseAnyReference, tagNameOnly } from "../../lib/reference";
import { ApiClient, pathSegment } from "../api-client";

/** The familiar, tagged form docker prints in "Unable to find image ... locally". */
function displayRef(image: string): string | undefined {
  try {
    const any = parseAnyReference(image);
    return any.kind === "named" ? familiarString(tagNameOnly(any.ref)) : undefined;
  } catch {
    return undefined;
  }
}

function openCidFile(file: string): number {
  if (fs.existsSync(file)) {
    throw new Error(`container ID file found, make sure the other container isn't running or delete ${file}`);
  }
  try {
    return fs.openSync(file, "wx");
  } catch (err) {
    throw new Error(`failed to create the container ID file: ${messageOf(err)}`);
  }
}

/** POST /containers/create, pulling the image first or on "No such image" as --pull says. */
async function createContainer(ctx: CommandContext, req: CreateRequest): Promise<string> {
  const client = ctx.client();
  const progress = req.quiet ? undefined : ctx.io.stderr;
  const cidFd = req.cidfile ? openCidFile(req.cidfile) : undefined;
  try {
    if (req.pull === "always") await pullImage(client, req.body.Image, req.platform, progress, ctx.io.env);
    const create = (): Promise<{ Id: string; Warnings?: string[] | null }> =>
      client.json("POST", "/containers/create", { query: { name: req.name, platform: req.platform }, body: req.body });
    let created: { Id: string; Warnings?: string[] | null };
    try {
      created = await create();
    } catch (err) {
      const ref = displayRef(req.body.Image);
      if (
        req.pull !== "missing" ||
        !ref ||
        !isNotFound(err) ||
        !/no such image/i.test((err as ApiError).daemonMessage)
      ) {
        throw err;
      }
      if (!req.quiet) ctx.io.stderr.write(`Unable to find image '${ref}' locally\n`);
      await pullImage(client, req.body.Image, req.platform, progress, ctx.io.env);
      created = await create();
    }
    for (const warning of created.Warnings ?? []) ctx.io.stderr.write(`WARNING: ${warning}\n`);
    if (cidFd !== undefined) fs.writeSync(cidFd, created.Id);
    return created.Id;
  } finally {
    if (cidFd !== undefined) fs.closeSync(cidFd);
  }
}

function parseRequest(ctx: CommandContext, flags: ParsedFlags, args: string[]): CreateRequest {
  let req: CreateRequest;
  try {
    req = buildCreateRequest(flags, args, defaultDeps(ctx.io.env));
  } catch (err) {
    throw withHelp(messageOf(err), ctx.path);
  }
  // The pty has the client's size from its first instant (docker sends ConsoleSize too).
  const size = req.body.Tty ? terminalSize(ctx.io) : undefined;
  if (size) req.body.HostConfig.ConsoleSize = size;
  return req;
}

async function runCreate(ctx: CommandContext, flags: ParsedFlags, args: string[]): Promise<number> {
  const req = parseRequest(ctx, flags, args);
  // docker 28's `create` reports a daemon error plainly and exits 1 (only `run` says 125).
  const id = await createContainer(ctx, req);
  ctx.io.stdout.write(`${id}\n`);
  return 0;
}

function checkTty(io: CliIO, req: CreateRequest): void {
  if (!req.detach && req.body.AttachStdin && req.body.Tty && !io.stdin.isTTY) {
    throw new StatusError("the input device is not a TTY", 1);
  }
}

async function runRun(ctx: CommandContext, flags: ParsedFlags, args: string[]): Promise<number> {
  // docker reports this one plainly (exit 1), not as a usage error.
  if (flags.bool("detach") && flags.list("attach").length > 0) {
    throw new StatusError("conflicting options: cannot specify both --attach and --detach", 1);
  }
  const req = parseRequest(ctx, flags, args);
  checkTty(ctx.io, req);
  // Refused before anything exists (docker's CLI only learns it from the attach, after create).
  if (req.detachKeys) detachKeysOption(req.detachKeys);
  const client = ctx.client();
  const { body } = req;

  let id: string;
  try {
    id = await createContainer(ctx, req);
  } catch (err) {
    throw withHelp(messageOf(err), ctx.path);
  }

  const attach = body.AttachStdin || body.AttachStdout || body.AttachStderr;
  if (!attach) {
    // Detached: docker prints the id before start returns, and keeps it on failure.
    ctx.io.stdout.write(`${id}\n`);
    await startOrFail(client, id, ctx.path);
    return 0;
  }

  try {
    return await attachStartAndWait(
      client,
      id,
      {
        stdin: body.AttachStdin,
        stdout: body.AttachStdout,
        stderr: body.AttachStderr,
        tty: body.Tty,
        detachKeys: req.detachKeys,
        autoRemove: body.HostConfig.AutoRemove,
        proxySignals: req.sigProxy,
      },
      ctx.io,
    );
  } catch (err) {
    if (err instanceof StartError) throw withHelp(err.message, ctx.path, runFailureCode(err.message));
    throw err;
  }
}

async function startOrFail(client: ApiClient, id: string, path: string): Promise<void> {
  try {
    await client.call("POST", `/containers/${pathSegment(id)}/start`);
  } catch (err) {
    throw withHelp(messageOf(err), path, runFailureCode(messageOf(err)));
  }
}

export const runCommand: CommandDef = {
  usage: "[OPTIONS] IMAGE [COMMAND] [ARG...]",
  short: "Create and run a new container from an image",
  aliases: ["container run", "run"],
  flags: containerFlags("run"),
  stopAtFirstPositional: true,
  args: { min: 1 },
  run: runRun,
};

export const createCommand: CommandDef = {
  usage: "[OPTIONS] IMAGE [COMMAND] [ARG...]",
  short: "Create a new container",
  aliases: ["container create", "create"],
  flags: containerFlags("create"),
  stopAtFirstPositional: true,
  args: { min: 1 },
  run: runCreate,
};
