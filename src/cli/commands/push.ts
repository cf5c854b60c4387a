/** `push`: upload an image (or every tag of a repository) to its registry through the daemon. */
import type { CommandDef } from "../command";
import { StatusError } from "../errors";
import { transferReference } from "../pull";
import { pathSegment } from "../api-client";
import { registryAuthHeader } from "../docker-config";
import { displayJsonMessages } from "../jsonstream";
import { familiarName, fullName, fullString } from "../../lib/reference";

export const pushCommand: CommandDef = {
  usage: "[OPTIONS] NAME[:TAG]",
  short: "Upload an image to a registry",
  aliases: ["image push", "push"],
  flags: [
    { name: "all-tags", short: "a", bool: true, description: "Push all tags of an image to the repository" },
    { name: "disable-content-trust", bool: true, defaultText: "true", description: "Skip image signing" },
    { name: "platform", type: "string", description: "Push a platform-specific manifest as a single-platform image to the registry." },
    { name: "quiet", short: "q", bool: true, description: "Suppress verbose output" },
  ],
  args: { min: 1, max: 1 },
  run: async (ctx, flags, [name]) => {
    const all = flags.bool("all-tags");
    const ref = transferReference(name, all);
    if (ref.digest) throw new StatusError("cannot push a digest reference", 1);
    // docker sends X-Registry-Auth on every push, "{}" when it has nothing.
    const auth = registryAuthHeader(ctx.io.env, ref.domain) ?? Buffer.from("{}").toString("base64url");
    const res = await ctx.client().request("POST", `/images/${pathSegment(familiarName(ref))}/push`, {
      query: { tag: all ? undefined : ref.tag },
      headers: { "X-Registry-Auth": auth },
    });
    await displayJsonMessages(res, flags.bool("quiet") ? undefined : ctx.io.stdout);
    if (flags.bool("quiet")) ctx.io.stdout.write(`${all ? fullName(ref) : fullString(ref)}\n`);
    return 0;
  },
};
