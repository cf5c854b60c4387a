/** tag, rmi, import, load, save, image prune. */
import * as fs from "node:fs";
import type { Readable } from "node:stream";
import type { CommandContext, CommandDef } from "../command";
import { isNotFound, messageOf, StatusError } from "../errors";
import { pathSegment } from "../api-client";
import { displayJsonMessages } from "../jsonstream";
import { filtersFrom, filtersQuery, validateFilter } from "../list-output";
import { goFileError } from "../opts/values";
import { copyStream } from "../stdcopy";
import { AtomicFile, createAtomicFile } from "../atomic-file";
import { fullName, parseAnyReference, parseNormalizedNamed, tagNameOnly } from "../../lib/reference";
import { humanSize } from "../../lib/units";

export const tagCommand: CommandDef = {
  usage: "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
  short: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
  aliases: ["image tag", "tag"],
  flags: [],
  args: { min: 2, max: 2 },
  run: async (ctx, _flags, [source, target]) => {
    const invalid = (name: string, err: unknown): StatusError =>
      new StatusError(`Error parsing reference: "${name}" is not a valid repository/tag: ${messageOf(err)}`, 1);
    try {
      parseAnyReference(source);
    } catch (err) {
      throw invalid(source, err);
    }
    let ref;
    try {
      ref = parseNormalizedNamed(target);
    } catch (err) {
      throw invalid(target, err);
    }
    if (ref.digest) throw new StatusError("refusing to create a tag with a digest reference", 1);
    const tagged = tagNameOnly(ref);
    await ctx.client().call("POST", `/images/${pathSegment(source)}/tag`, {
      query: { repo: fullName(tagged), tag: tagged.tag },
    });
    return 0;
  },
};

interface DeleteItem {
  Untagged?: string;
  Deleted?: string;
}

export const rmiCommand: CommandDef = {
  usage: "[OPTIONS] IMAGE [IMAGE...]",
  short: "Remove one or more images",
  aliases: ["image rm", "image remove", "rmi"],
  flags: [
    { name: "force", short: "f", bool: true, description: "Force removal of the image" },
    { name: "no-prune", bool: true, description: "Do not delete untagged parents" },
  ],
  args: { min: 1 },
  run: async (ctx, flags, images) => {
    const force = flags.bool("force");
    const errors: string[] = [];
    let fatal = false;
    for (const image of images) {
      try {
        const items = await ctx.client().json<DeleteItem[]>("DELETE", `/images/${pathSegment(image)}`, {
          query: { force: force || undefined, noprune: flags.bool("no-prune") || undefined },
        });
        for (const item of items ?? []) {
          if (item.Deleted) ctx.io.stdout.write(`Deleted: ${item.Deleted}\n`);
          else ctx.io.stdout.write(`Untagged: ${item.Untagged ?? ""}\n`);
        }
      } catch (err) {
        if (!isNotFound(err)) fatal = true;
        errors.push(messageOf(err));
      }
    }
    if (errors.length > 0) {
      // -f tolerates images that do not exist: report them, succeed.
      if (!force || fatal) throw new StatusError(errors.join("\n"), 1);
      ctx.io.stderr.write(`${errors.join("\n")}\n`);
    }
    return 0;
  },
};

function openInput(file: string): Readable {
  try {
    const fd = fs.openSync(file, "r");
    return fs.createReadStream("", { fd });
  } catch (err) {
    throw new StatusError(goFileError(err, file), 1);
  }
}

export const importCommand: CommandDef = {
  usage: "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
  short: "Import the contents from a tarball to create a filesystem image",
  aliases: ["image import", "import"],
  flags: [
    { name: "change", short: "c", type: "list", repeat: true, description: "Apply Dockerfile instruction to the created image" },
    { name: "message", short: "m", type: "string", description: "Set commit message for imported image" },
    { name: "platform", type: "string", description: "Set platform if server is multi-platform capable" },
  ],
  // docker's import takes RequiresMinArgs(1) and ignores words after REPOSITORY[:TAG].
  args: { min: 1 },
  run: async (ctx, flags, [source, reference]) => {
    if (reference) {
      try {
        parseNormalizedNamed(reference);
      } catch (err) {
        throw new StatusError(messageOf(err), 1);
      }
    }
    let body: Readable | undefined;
    let fromSrc = "-";
    if (source === "-") body = ctx.io.stdin;
    else if (/^https?:\/\//.test(source)) fromSrc = source;
    else body = openInput(source);
    const res = await ctx.client().request("POST", "/images/create", {
      query: {
        fromSrc,
        repo: reference,
        message: flags.string("message") || undefined,
        platform: flags.string("platform") || undefined,
        changes: flags.list("change"),
      },
      rawBody: body,
    });
    await displayJsonMessages(res, ctx.io.stdout);
    return 0;
  },
};

export const loadCommand: CommandDef = {
  usage: "[OPTIONS]",
  short: "Load an image from a tar archive or STDIN",
  aliases: ["image load", "load"],
  flags: [
    { name: "input", short: "i", type: "string", description: "Read from tar archive file, instead of STDIN" },
    { name: "quiet", short: "q", bool: true, description: "Suppress the load output" },
  ],
  args: { max: 0 },
  run: async (ctx, flags) => {
    const file = flags.string("input");
    let body: Readable;
    if (file === "") {
      if (ctx.io.stdin.isTTY) throw new StatusError("requested load from stdin, but stdin is empty", 1);
      body = ctx.io.stdin;
    } else {
      body = openInput(file);
    }
    const res = await ctx.client().request("POST", "/images/load", {
      query: { quiet: flags.bool("quiet") || !ctx.io.stdout.isTTY || undefined },
      rawBody: body,
      contentType: "application/x-tar",
    });
    await displayJsonMessages(res, ctx.io.stdout);
    return 0;
  },
};

export const saveCommand: CommandDef = {
  usage: "[OPTIONS] IMAGE [IMAGE...]",
  short: "Save one or more images to a tar archive (streamed to STDOUT by default)",
  aliases: ["image save", "save"],
  flags: [{ name: "output", short: "o", type: "string", description: "Write to a file, instead of STDOUT" }],
  args: { min: 1 },
  run: async (ctx, flags, images) => {
    await writeDownload(ctx, flags.string("output"), "failed to save image", () =>
      ctx.client().request("GET", "/images/get", { query: { names: images } }),
    );
    return 0;
  },
};

/**
 * Streams a download (save, export) to `-o FILE` — written atomically — or to stdout, which
 * must not be a terminal (docker's rule).
 */
export async function writeDownload(ctx: CommandContext, output: string, failure: string, fetch: () => Promise<Readable>): Promise<void> {
  if (output === "" && ctx.io.stdout.isTTY) {
    throw new StatusError("cowardly refusing to save to a terminal. Use the -o flag or redirect", 1);
  }
  if (output === "") {
    await copyStream(await fetch(), ctx.io.stdout);
    return;
  }
  let file: AtomicFile;
  try {
    file = createAtomicFile(output);
  } catch (err) {
    throw new StatusError(`${failure}: ${messageOf(err)}`, 1);
  }
  try {
    await copyStream(await fetch(), file.stream);
    await file.commit();
  } finally {
    file.abort();
  }
}

/** Reads one line of the user's answer; EOF counts as "no". */
export async function confirm(stdin: Readable, stdout: NodeJS.WritableStream, message: string): Promise<boolean> {
  stdout.write(`${message} [y/N] `);
  let line = "";
  for await (const chunk of stdin) {
    line += (chunk as Buffer).toString("utf8");
    if (line.includes("\n")) break;
  }
  stdin.pause();
  return line.split("\n")[0].trim().toLowerCase() === "y";
}

export const imagePruneCommand: CommandDef = {
  usage: "[OPTIONS]",
  short: "Remove unused images",
  flags: [
    { name: "all", short: "a", bool: true, description: "Remove all unused images, not just dangling ones" },
    {
      name: "filter",
      type: "filter",
      repeat: true,
      description: 'Provide filter values (e.g. "until=<timestamp>")',
      validate: validateFilter,
    },
    { name: "force", short: "f", bool: true, description: "Do not prompt for confirmation" },
  ],
  args: { max: 0 },
  run: async (ctx, flags) => {
    const all = flags.bool("all");
    if (!flags.bool("force")) {
      const warning = all
        ? "WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?"
        : "WARNING! This will remove all dangling images.\nAre you sure you want to continue?";
      if (!(await confirm(ctx.io.stdin, ctx.io.stdout, warning))) return 0;
    }
    const filters = filtersFrom(flags.list("filter"));
    filters.dangling = { [String(!all)]: true };
    const report = await ctx.client().json<{
      ImagesDeleted?: DeleteItem[] | null;
      SpaceReclaimed?: number;
    }>("POST", "/images/prune", { query: { filters: filtersQuery(filters) } });
    const deleted = report?.ImagesDeleted ?? [];
    let reclaimed = 0;
    if (deleted.length > 0) {
      let text = "Deleted Images:\n";
      for (const item of deleted) {
        text += item.Untagged ? `untagged: ${item.Untagged}\n` : `deleted: ${item.Deleted ?? ""}\n`;
      }
      ctx.io.stdout.write(`${text}\n`);
      reclaimed = report?.SpaceReclaimed ?? 0;
    }
    ctx.io.stdout.write(`Total reclaimed space: ${humanSize(reclaimed, 4)}\n`);
    return 0;
  },
};
