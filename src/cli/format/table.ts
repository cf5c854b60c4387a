/**
 * docker's `--format` handling for lists (ps, images, volume ls, ...): `table` formats get a
 * header row and columns aligned like Go's text/tabwriter with docker's settings (minimum
 * cell width 10, padding 3, spaces); other formats print one rendered line per row.
 */
import { HEADER_FUNCS } from "./template-funcs";
import { parseTemplate, type FuncMap } from "./template";

/** A column title, or a method computing one (e.g. from `{{.Label "com.example.x"}}`'s argument). */
export type HeaderValue = string | ((...args: unknown[]) => string);

export interface FormatRowsOptions {
  /** The command's default table, used for `--format table` (and an empty format). */
  defaultTable?: string;
  /** Extra template functions. */
  funcs?: FuncMap;
}

const TABLE_KEY = "table";

/**
 * Renders `format` for each row and returns the full text (each line ends with "\n").
 *
 * - `table ...`: a header line (the same template executed against `headers`, with docker's
 *   header functions) then the rows, aligned in columns at the tabs.
 * - `table` alone (or ""): the command's default table, `options.defaultTable`, or else one
 *   column per `headers` key in order.
 * - `json`: `{{json .}}` per row.
 * - anything else: the template per row, unaligned.
 *
 * As docker does, a literal backslash-t or backslash-n typed in the format means tab/newline.
 * Throws TemplateError when the format does not parse or a row fails to render.
 */
export function formatRows(
  format: string,
  rows: unknown[],
  headers: Record<string, HeaderValue>,
  options: FormatRowsOptions = {},
): string {
  let body = format === "json" ? "{{json .}}" : format;
  const isTable = body === "" || body.startsWith(TABLE_KEY);
  if (body.startsWith(TABLE_KEY)) body = body.slice(TABLE_KEY.length);
  body = trimSpaces(body);
  if (isTable && body === "") body = defaultTableBody(headers, options.defaultTable);
  body = body.replace(/\\t|\\n/g, (m) => (m === "\\t" ? "\t" : "\n"));

  const tmpl = parseTemplate(body, { funcs: options.funcs });
  const rendered = rows.map((row) => tmpl.execute(row) + "\n").join("");
  if (!isTable) return rendered;

  // docker ignores header errors and keeps what was printed before them.
  const header = tmpl.executePartial(headerContext(headers), { funcs: HEADER_FUNCS }).output;
  const lines = (header + "\n" + rendered).split("\n");
  lines.pop(); // the text ends with "\n"
  return tabwriter(lines);
}

/** strings.Trim(s, " "): spaces only, not tabs or newlines. */
function trimSpaces(s: string): string {
  return s.replace(/^ +| +$/g, "");
}

function defaultTableBody(headers: Record<string, HeaderValue>, defaultTable: string | undefined): string {
  if (defaultTable !== undefined) {
    const body = defaultTable.startsWith(TABLE_KEY) ? defaultTable.slice(TABLE_KEY.length) : defaultTable;
    return trimSpaces(body);
  }
  return Object.keys(headers)
    .map((k) => `{{.${k}}}`)
    .join("\t");
}

/**
 * The data the header row is rendered from (docker's map of column titles): every known
 * column gives its title whatever arguments it is called with, so `{{.Label "x"}}` works in
 * headers too; an unknown one is a missing map key ("<no value>"), as in docker.
 */
class HeaderMap extends Map<string, unknown> {
  constructor(private readonly titles: Record<string, HeaderValue>) {
    super(Object.entries(titles).map(([k, v]) => [k, typeof v === "string" ? v : k]));
  }

  override has(name: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.titles, name);
  }

  override get(name: string): unknown {
    if (!this.has(name)) return undefined;
    const title = this.titles[name];
    return typeof title === "function" ? title : (): string => title;
  }
}

function headerContext(headers: Record<string, HeaderValue>): HeaderMap {
  return new HeaderMap(headers);
}

function runeCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export interface TabwriterOptions {
  /** Minimal cell width including padding (docker: 10). */
  minWidth?: number;
  /** Spaces added to the widest cell of a column (docker: 3). */
  padding?: number;
}

/**
 * Go's text/tabwriter with padchar ' ' and no flags: cells are tab-terminated, so the last
 * cell of a line is not part of a column and is not padded. A column is a run of consecutive
 * lines that have a cell in it; each run gets its own width. Returns each line plus "\n".
 */
export function tabwriter(lines: string[], opts: TabwriterOptions = {}): string {
  const minWidth = opts.minWidth ?? 10;
  const padding = opts.padding ?? 3;
  const cells = lines.map((l) => l.split("\t"));
  const widths: number[] = [];
  const out: string[] = [];

  const writeLines = (from: number, to: number): void => {
    for (let i = from; i < to; i++) {
      let line = "";
      cells[i].forEach((text, j) => {
        line += text;
        if (j < widths.length) line += " ".repeat(Math.max(widths[j] - runeCount(text), 0));
      });
      out.push(line + "\n");
    }
  };

  // Lays out column `widths.length` for lines [line0, line1), recursing into later columns.
  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let t = line0; t < line1; t++) {
      if (column >= cells[t].length - 1) continue;
      writeLines(line0, t);
      line0 = t;
      let width = minWidth;
      for (; t < line1 && column < cells[t].length - 1; t++) {
        width = Math.max(width, runeCount(cells[t][column]) + padding);
      }
      widths.push(width);
      format(line0, t);
      widths.pop();
      line0 = t;
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return out.join("");
}
