/** Small text helpers for docker-identical output: ids, ellipses, Go's time strings. */

/** docker's TruncateID: drop an "algo:" prefix, keep 12 characters. */
export function truncateId(id: string): string {
  const colon = id.indexOf(":");
  const bare = colon >= 0 ? id.slice(colon + 1) : id;
  return bare.length > 12 ? bare.slice(0, 12) : bare;
}

/** East Asian wide and full-width characters take two columns. */
function charWidth(cp: number): number {
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

/** docker's Ellipsis: fit `s` into `max` display columns, ending in "…" when cut. */
export function ellipsis(s: string, max: number): string {
  if (max <= 0) return "";
  const chars = [...s];
  if (max === 1) return chars[0] ?? "";
  const widths = chars.map((c) => charWidth(c.codePointAt(0) as number));
  const total = widths.reduce((a, b) => a + b, 0);
  if (total <= max) return s;
  let used = 0;
  let n = 0;
  while (n < chars.length && used + widths[n] <= max - 1) used += widths[n++];
  return chars.slice(0, n).join("") + "…";
}

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}

function zoneAbbreviation(d: Date): string {
  try {
    const part = new Intl.DateTimeFormat("en-US", { timeZoneName: "short" })
      .formatToParts(d)
      .find((p) => p.type === "timeZoneName");
    return part?.value ?? "UTC";
  } catch {
    return "UTC";
  }
}

function offsetText(d: Date, colon: boolean): string {
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? "-" : "+";
  const abs = Math.abs(off);
  return `${sign}${pad2(Math.floor(abs / 60))}${colon ? ":" : ""}${pad2(abs % 60)}`;
}

function localDateTime(d: Date, sep: string): string {
  return (
    `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}` +
    `${sep}${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`
  );
}

/** Go's time.Unix(sec, 0).String(): "2024-01-02 15:04:05 +0000 UTC" in local time. */
export function goTimeString(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  return `${localDateTime(d, " ")} ${offsetText(d, false)} ${zoneAbbreviation(d)}`;
}

/** Go's time.Format(time.RFC3339) in local time: "2024-01-02T15:04:05Z" / "...+01:00". */
export function rfc3339(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const zone = d.getTimezoneOffset() === 0 ? "Z" : offsetText(d, true);
  return `${localDateTime(d, "T")}${zone}`;
}

/**
 * Re-indents raw JSON text as Go's json.Indent does: key order and number text are kept,
 * empty objects/arrays stay {} and []. An empty `indent` compacts (json.Compact).
 */
export function indentJson(raw: string, indent: string): string {
  let out = "";
  let depth = 0;
  let i = 0;
  const newline = (): string => (indent === "" ? "" : "\n" + indent.repeat(depth));
  while (i < raw.length) {
    const c = raw[i];
    if (c === '"') {
      let j = i + 1;
      while (j < raw.length && raw[j] !== '"') j += raw[j] === "\\" ? 2 : 1;
      out += raw.slice(i, j + 1);
      i = j + 1;
    } else if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
    } else if (c === "{" || c === "[") {
      let j = i + 1;
      while (j < raw.length && " \t\n\r".includes(raw[j])) j++;
      if (raw[j] === (c === "{" ? "}" : "]")) {
        out += c + raw[j];
        i = j + 1;
      } else {
        depth++;
        out += c + newline();
        i++;
      }
    } else if (c === "}" || c === "]") {
      depth--;
      out += newline() + c;
      i++;
    } else if (c === ",") {
      out += "," + newline();
      i++;
    } else if (c === ":") {
      out += indent === "" ? ":" : ": ";
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
