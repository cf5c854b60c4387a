/** `ps` / `container ls`: GET /containers/json shown with docker's columns and formats. */
import type { CommandDef } from "../command";
import { validateInt } from "../flags";
import { messageOf, StatusError } from "../errors";
import { CONTAINER_HEADERS, ContainerRow, ContainerSummary, psFormat } from "../display/containers";
import { filterFlag, filtersFrom, filtersQuery, formatFlag, writeRows } from "../list-output";

/** docker checks a --format template before asking the daemon, against an empty row. */
async function validateTemplate(format: string): Promise<void> {
  const { parseTemplate } = await import("../format/template");
  let tmpl;
  try {
    tmpl = parseTemplate(format);
  } catch (err) {
    throw new StatusError(`failed to parse template: ${messageOf(err)}`, 1);
  }
  try {
    tmpl.execute(new ContainerRow({ Id: "" }, true, Date.now()));
  } catch (err) {
    throw new StatusError(`failed to execute template: ${messageOf(err)}`, 1);
  }
}

export const psCommand: CommandDef = {
  usage: "[OPTIONS]",
  short: "List containers",
  aliases: ["container ls", "container list", "container ps", "ps"],
  flags: [
    { name: "all", short: "a", bool: true, description: "Show all containers (default shows just running)" },
    filterFlag(),
    formatFlag(true),
    { name: "last", short: "n", type: "int", description: "Show n last created containers (includes all states)", defaultText: "-1", validate: validateInt },
    { name: "latest", short: "l", bool: true, description: "Show the latest created container (includes all states)" },
    { name: "no-trunc", bool: true, description: "Don't truncate output" },
    { name: "quiet", short: "q", bool: true, description: "Only display container IDs" },
    { name: "size", short: "s", bool: true, description: "Display total file sizes" },
  ],
  args: { max: 0 },
  run: async (ctx, flags) => {
    const quiet = flags.bool("quiet");
    const format = flags.string("format");
    if (format !== "" && quiet) {
      ctx.io.stderr.write("WARNING: Ignoring custom format, because both --format and --quiet are set.\n");
    }
    if (format !== "") await validateTemplate(format);
    let limit = flags.int("last", -1);
    if (flags.bool("latest") && limit === -1) limit = 1;
    // A template that shows .Size needs the sizes computed, unless --size=false was given.
    const size = flags.bool("size") || (!quiet && !flags.changed("size") && format.includes(".Size"));

    const containers = await ctx.client().json<ContainerSummary[]>("GET", "/containers/json", {
      query: {
        all: flags.bool("all") || undefined,
        limit: limit > 0 ? limit : undefined,
        size: size || undefined,
        filters: filtersQuery(filtersFrom(flags.list("filter"))),
      },
    });
    const now = Date.now();
    const trunc = !flags.bool("no-trunc");
    const rows = (containers ?? []).map((c) => new ContainerRow(c, trunc, now));
    await writeRows(ctx.io, psFormat(format, quiet, size), rows, CONTAINER_HEADERS);
    return 0;
  },
};
