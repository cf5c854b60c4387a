/** diff, export, commit: a container's filesystem as changes, as a tar, as an image. */
import type { CommandDef } from "../command";
import { StatusError } from "../errors";
import { writeDownload } from "./image-ops";
import { containerPath } from "./lifecycle";

const KIND = ["C", "A", "D"];

export const diffCommand: CommandDef = {
  usage: "CONTAINER",
  short: "Inspect changes to files or directories on a container's filesystem",
  aliases: ["container diff", "diff"],
  flags: [],
  args: { min: 1, max: 1 },
  run: async (ctx, _flags, [name]) => {
    const changes = await ctx.client().json<Array<{ Path: string; Kind: number }> | null>("GET", containerPath(name, "/changes"));
    for (const change of changes ?? []) ctx.io.stdout.write(`${KIND[change.Kind] ?? "?"} ${change.Path}\n`);
    return 0;
  },
};

export const exportCommand: CommandDef = {
  usage: "[OPTIONS] CONTAINER",
  short: "Export a container's filesystem as a tar archive",
  aliases: ["container export", "export"],
  flags: [{ name: "output", short: "o", type: "string", description: "Write to a file, instead of STDOUT" }],
  args: { min: 1, max: 1 },
  run: async (ctx, flags, [name]) => {
    await writeDownload(ctx, flags.string("output"), "failed to export container", () => ctx.client().request("GET", containerPath(name, "/export")));
    return 0;
  },
};

export const commitCommand: CommandDef = {
  usage: "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
  short: "Create a new image from a container's changes",
  aliases: ["container commit", "commit"],
  flags: [
    { name: "author", short: "a", type: "string", description: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")' },
    { name: "change", short: "c", type: "list", repeat: true, description: "Apply Dockerfile instruction to the created image" },
    { name: "message", short: "m", type: "string", description: "Commit message" },
    { name: "pause", short: "p", bool: true, description: "Pause container during commit", defaultText: "true" },
  ],
  args: { min: 1, max: 2 },
  run: async (ctx, flags, [name, reference]) => {
    let repo = "";
    let tag = "";
    if (reference) {
      // The tag is what follows the last colon after the last slash (a registry port is not a tag).
      const slash = reference.lastIndexOf("/");
      const colon = reference.lastIndexOf(":");
      if (colon > slash) {
        repo = reference.slice(0, colon);
        tag = reference.slice(colon + 1);
      } else repo = reference;
      if (!repo) throw new StatusError(`invalid reference format`, 1);
    }
    const res = await ctx.client().json<{ Id: string }>("POST", "/commit", {
      query: {
        container: name,
        repo: repo || undefined,
        tag: tag || undefined,
        comment: flags.string("message") || undefined,
        author: flags.string("author") || undefined,
        pause: flags.changed("pause") ? flags.bool("pause") : true,
        changes: flags.list("change").length ? flags.list("change") : undefined,
      },
      body: {},
    });
    ctx.io.stdout.write(`${res.Id}\n`);
    return 0;
  },
};
