/** `events`: GET /events, printed as docker prints them or through --format. */
import type { CommandDef } from "../command";
import { jsonValues } from "../api-client";
import { filterFlag, filtersFrom, filtersQuery, formatFlag } from "../list-output";
import { parseTemplate } from "../format/template";
import { apiTimestamp } from "./logs";

interface EventMessage {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
  time: number;
  timeNano: number;
}

/** docker's line: RFC 3339 time with nine digits, type, action, id, (sorted attributes). */
export function eventLine(event: EventMessage): string {
  const ms = Math.floor(event.timeNano / 1e6);
  const nanos = String(event.timeNano % 1e9).padStart(9, "0");
  const time = `${new Date(ms).toISOString().slice(0, 19)}.${nanos}Z`;
  const attrs = Object.entries(event.Actor.Attributes ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`);
  return `${time} ${event.Type} ${event.Action} ${event.Actor.ID}${attrs.length ? ` (${attrs.join(", ")})` : ""}`;
}

export const eventsCommand: CommandDef = {
  usage: "[OPTIONS]",
  short: "Get real time events from the server",
  aliases: ["system events", "events"],
  flags: [
    filterFlag(),
    formatFlag(false),
    { name: "since", type: "string", description: "Show all events created since timestamp" },
    { name: "until", type: "string", description: "Stream events until this timestamp" },
  ],
  args: { max: 0 },
  run: async (ctx, flags) => {
    const now = Date.now();
    const format = flags.string("format");
    const template = format && format !== "json" ? parseTemplate(format.replace(/\\t/g, "\t").replace(/\\n/g, "\n")) : undefined;
    const res = await ctx.client().request("GET", "/events", {
      query: {
        since: apiTimestamp("since", flags.string("since"), now),
        until: apiTimestamp("until", flags.string("until"), now),
        filters: filtersQuery(filtersFrom(flags.list("filter"))),
      },
    });
    for await (const value of jsonValues(res)) {
      const event = value as EventMessage;
      if (format === "json") ctx.io.stdout.write(JSON.stringify(event) + "\n");
      else if (template) ctx.io.stdout.write(template.execute(event) + "\n");
      else ctx.io.stdout.write(eventLine(event) + "\n");
    }
    return 0;
  },
};
