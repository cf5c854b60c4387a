/**
 * What the listing commands (ps, images, history, system df) share: --filter values as the
 * API's `filters` JSON, and rendering rows through the shared template engine.
 */
import type { CliIO } from "./command";
import { messageOf, StatusError } from "./errors";
import type { FlagSpec } from "./flags";
import type { HeaderValue } from "./format/table";

/** docker's FilterOpt.Set: "name=value", name lower-cased, both trimmed. */
export function validateFilter(value: string): string {
  const eq = value.indexOf("=");
  if (eq === -1) throw new Error("bad format of filter (expected name=value)");
  const name = value.slice(0, eq).trim().toLowerCase();
  const val = value.slice(eq + 1).trim();
  return `${name}=${val}`;
}

export type Filters = Record<string, Record<string, boolean>>;

/** ["status=running", "label=a"] -> {"status": {"running": true}, "label": {"a": true}}. */
export function filtersFrom(values: string[]): Filters {
  const out: Filters = {};
  for (const v of values) {
    const eq = v.indexOf("=");
    (out[v.slice(0, eq)] ??= {})[v.slice(eq + 1)] = true;
  }
  return out;
}

/** The query value, or undefined when there are no filters. */
export function filtersQuery(filters: Filters): string | undefined {
  return Object.keys(filters).length > 0 ? JSON.stringify(filters) : undefined;
}

export const filterFlag = (description = "Filter output based on conditions provided"): FlagSpec => ({
  name: "filter",
  short: "f",
  type: "filter",
  repeat: true,
  description,
  validate: validateFilter,
});

export const formatFlag = (table: boolean): FlagSpec => ({
  name: "format",
  type: "string",
  description: table
    ? "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template."
    : "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.",
});

/**
 * Renders rows with docker's list formats: "table ..." (header + aligned columns),
 * "json" (one JSON object per row) or a bare template (one line per row).
 */
export async function writeRows(io: CliIO, format: string, rows: unknown[], headers: Record<string, HeaderValue>): Promise<void> {
  const { formatRows } = await import("./format/table");
  let text: string;
  try {
    text = formatRows(format, rows, headers);
  } catch (err) {
    throw new StatusError(`template parsing error: ${messageOf(err)}`, 1);
  }
  io.stdout.write(text);
}
