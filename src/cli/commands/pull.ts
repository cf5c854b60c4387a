/** `pull`: download an image (or every tag of a repository) from its registry through the daemon. */
import type { CommandDef } from "../command";
import { StatusError, messageOf } from "../errors";
import { pullImage } from "../pull";
import { fullName, fullString, parseNormalizedNamed, tagNameOnly, type Reference } from "../../lib/reference";

export const pullCommand: CommandDef = {
  usage: "[OPTIONS] NAME[:TAG|@DIGEST]",
  short: "Download an image from a registry",
  aliases: ["image pull", "pull"],
  flags: [
    { name: "all-tags", short: "a", bool: true, description: "Download all tagged images in the repository" },
    { name: "disable-content-trust", bool: true, defaultText: "true", description: "Skip image verification" },
    { name: "platform", type: "string", description: "Set platform if server is multi-platform capable" },
    { name: "quiet", short: "q", bool: true, description: "Suppress verbose output" },
  ],
  args: { min: 1, max: 1 },
  run: async (ctx, flags, [name]) => {
    let ref: Reference;
    try {
      ref = parseNormalizedNamed(name);
    } catch (err) {
      throw new StatusError(messageOf(err), 1);
    }
    const all = flags.bool("all-tags");
    if (all && (ref.tag || ref.digest)) throw new StatusError("tag can't be used with --all-tags/-a", 1);
    const quiet = flags.bool("quiet");
    await pullImage(ctx.client(), all ? fullName(ref) : fullString(ref.digest ? ref : tagNameOnly(ref)), flags.string("platform") || undefined, quiet ? undefined : ctx.io.stdout, ctx.io.env, all);
    // As docker: the reference pulled, fully qualified, last (and alone with -q).
    ctx.io.stdout.write(`${all ? fullName(ref) : fullString(ref.digest ? ref : tagNameOnly(ref))}\n`);
    return 0;
  },
};
