/** `images` / `image ls` and `history`: image listings in docker's columns and formats. */
import type { CommandDef } from "../command";
import { pathSegment } from "../api-client";
import {
  HISTORY_HEADERS,
  historyFormat,
  HistoryItem,
  HistoryRow,
  IMAGE_HEADERS,
  imageRows,
  imagesFormat,
  ImageSummary,
} from "../display/images";
import { filterFlag, filtersFrom, filtersQuery, formatFlag, writeRows } from "../list-output";

export const imagesCommand: CommandDef = {
  usage: "[OPTIONS] [REPOSITORY[:TAG]]",
  short: "List images",
  aliases: ["image ls", "image list", "images"],
  flags: [
    { name: "all", short: "a", bool: true, description: "Show all images (default hides intermediate images)" },
    { name: "digests", bool: true, description: "Show digests" },
    filterFlag(),
    formatFlag(true),
    { name: "no-trunc", bool: true, description: "Don't truncate output" },
    { name: "quiet", short: "q", bool: true, description: "Only show image IDs" },
  ],
  args: { max: 1 },
  run: async (ctx, flags, args) => {
    const filters = filtersFrom(flags.list("filter"));
    if (args[0]) (filters.reference ??= {})[args[0]] = true;
    const quiet = flags.bool("quiet");
    const digests = flags.bool("digests");
    const format = imagesFormat(flags.string("format"), quiet, digests);
    const images = await ctx.client().json<ImageSummary[]>("GET", "/images/json", {
      query: {
        all: flags.bool("all") || undefined,
        filters: filtersQuery(filters),
        "shared-size": /SharedSize|UniqueSize/.test(format) || undefined,
      },
    });
    const rows = imageRows(images ?? [], {
      trunc: !flags.bool("no-trunc"),
      showDigests: digests || format.includes("{{.Digest}}"),
      nowMs: Date.now(),
    });
    await writeRows(ctx.io, format, rows, IMAGE_HEADERS);
    // `wharf images ls` lists images named "ls": say what was probably meant.
    if (args[0] && rows.length === 0 && ctx.path === "images" && IMAGE_SUBCOMMANDS.has(args[0])) {
      ctx.io.stderr.write(`No images found matching "${args[0]}": did you mean "wharf image ${args[0]}"?\n`);
    }
    return 0;
  },
};

const IMAGE_SUBCOMMANDS = new Set(["build", "history", "import", "inspect", "list", "load", "ls", "prune", "pull", "push", "rm", "save", "tag"]);

export const historyCommand: CommandDef = {
  usage: "[OPTIONS] IMAGE",
  short: "Show the history of an image",
  aliases: ["image history", "history"],
  flags: [
    formatFlag(true),
    { name: "human", short: "H", bool: true, description: "Print sizes and dates in human readable format", defaultText: "true" },
    { name: "no-trunc", bool: true, description: "Don't truncate output" },
    { name: "platform", type: "string", description: 'Show history for the given platform. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")' },
    { name: "quiet", short: "q", bool: true, description: "Only show image IDs" },
  ],
  args: { min: 1, max: 1 },
  run: async (ctx, flags, [image]) => {
    const platform = flags.string("platform");
    const items = await ctx.client().json<HistoryItem[]>("GET", `/images/${pathSegment(image)}/history`, {
      query: { platform: platform ? JSON.stringify(platformObject(platform)) : undefined },
    });
    const human = flags.bool("human", true);
    const now = Date.now();
    const trunc = !flags.bool("no-trunc");
    const rows = (items ?? []).map((h) => new HistoryRow(h, trunc, human, now));
    await writeRows(ctx.io, historyFormat(flags.string("format"), flags.bool("quiet"), human), rows, HISTORY_HEADERS);
    return 0;
  },
};

/** "linux/amd64/v8" -> the OCI platform object the API takes as JSON. */
function platformObject(value: string): { os: string; architecture?: string; variant?: string } {
  const [os, architecture, variant] = value.split("/");
  return { os, architecture, variant };
}
