/** `pull`: download an image (or every tag of a repository) from its registry through the daemon. */
import type { CommandDef } from "../command";
import { pullImage, transferReference } from "../pull";
import { fullName, fullString } from "../../lib/reference";

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
    const all = flags.bool("all-tags");
    const ref = transferReference(name, all);
    const shown = all ? fullName(ref) : fullString(ref);
    const quiet = flags.bool("quiet");
    await pullImage(ctx.client(), shown, flags.string("platform") || undefined, quiet ? undefined : ctx.io.stdout, ctx.io.env, all);
    // As docker: the reference pulled, fully qualified, last (and alone with -q).
    ctx.io.stdout.write(`${shown}\n`);
    return 0;
  },
};
