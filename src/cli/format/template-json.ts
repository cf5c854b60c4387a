/**
 * Go's encoding/json output for template `json` (and anything else that must match docker's
 * bytes): compact, U+2028/U+2029 always escaped, `<` `>` `&` escaped only when asked.
 *
 * docker's `json` template function encodes with SetEscapeHTML(false), so `{{json .Config}}`
 * prints `<` as is. Its row contexts (`docker ps --format '{{json .}}'`), however, marshal
 * themselves with json.Marshal over a map of their methods: sorted keys and HTML escaped.
 * Struct-like objects without toJSON are encoded the same way here (see contextFields).
 */
import { compareKeys, isPlainObject } from "./template-values";

export interface GoJsonOptions {
  /** Escape <, > and & as \u003c, \u003e, \u0026 (Go's json.Marshal default). */
  escapeHTML?: boolean;
}

export function goJson(value: unknown, options: GoJsonOptions = {}): string {
  return new Encoder().encode(value, options.escapeHTML ?? false);
}

function escapeString(s: string, escapeHTML: boolean): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    const c = s.charCodeAt(i);
    if (ch === '"' || ch === "\\") out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (c < 0x20 || c === 0x2028 || c === 0x2029 || (escapeHTML && (ch === "<" || ch === ">" || ch === "&"))) {
      out += "\\u" + c.toString(16).padStart(4, "0");
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      out += ch + s[++i];
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out += "\\ufffd"; // a lone surrogate is invalid UTF-8, which Go replaces
    } else out += ch;
  }
  return out + '"';
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** time.Time's MarshalJSON: RFC 3339 with the fraction's trailing zeros dropped. */
function dateJson(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new Error("json: error calling MarshalJSON for type time.Time: invalid time");
  return '"' + d.toISOString().replace(/\.?0+Z$/, "Z") + '"';
}

/**
 * docker's formatter contexts marshal the results of their exported, argument-less methods:
 * here getters and zero-parameter methods whose names start with an upper-case letter, plus
 * upper-case own data fields.
 */
function contextFields(obj: object): Map<string, unknown> {
  const fields = new Map<string, unknown>();
  const exported = (name: string): boolean => /^\p{Lu}/u.test(name) && name !== "FullHeader";
  for (const [k, v] of Object.entries(obj)) {
    if (exported(k) && typeof v !== "function") fields.set(k, v);
  }
  for (let proto = Object.getPrototypeOf(obj) as object | null; proto && proto !== Object.prototype; ) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (!exported(name) || fields.has(name)) continue;
      const desc = Object.getOwnPropertyDescriptor(proto, name) as PropertyDescriptor;
      if (desc.get) fields.set(name, (obj as Record<string, unknown>)[name]);
      else if (typeof desc.value === "function" && desc.value.length === 0) {
        fields.set(name, (desc.value as () => unknown).call(obj));
      }
    }
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  return fields;
}

class Encoder {
  private readonly seen = new Set<object>();

  encode(v: unknown, escapeHTML: boolean): string {
    if (v === undefined || v === null || typeof v === "function" || typeof v === "symbol") return "null";
    switch (typeof v) {
      case "string":
        return escapeString(v, escapeHTML);
      case "boolean":
        return String(v);
      case "bigint":
        return v.toString();
      case "number":
        if (!Number.isFinite(v)) throw new Error(`json: unsupported value: ${Number.isNaN(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf"}`);
        return Object.is(v, -0) ? "-0" : String(v); // JS and Go agree on the exponent cut-offs
    }
    const obj = v as object;
    if (this.seen.has(obj)) throw new Error("json: unsupported value: encountered a cycle");
    this.seen.add(obj);
    try {
      return this.encodeObject(obj, escapeHTML);
    } finally {
      this.seen.delete(obj);
    }
  }

  private encodeObject(obj: object, escapeHTML: boolean): string {
    const toJSON = (obj as { toJSON?: unknown }).toJSON;
    if (obj instanceof Date) return dateJson(obj);
    if (typeof toJSON === "function") return this.encode((toJSON as () => unknown).call(obj), escapeHTML);
    if (obj instanceof Uint8Array) return '"' + Buffer.from(obj).toString("base64") + '"'; // Go's []byte
    if (Array.isArray(obj) || obj instanceof Set) {
      return "[" + [...obj].map((e) => this.encode(e, escapeHTML)).join(",") + "]";
    }
    if (obj instanceof Map) {
      const entries = [...obj.entries()].sort((a, b) => compareKeys(String(a[0]), String(b[0])));
      return this.members(entries.map(([k, val]) => [String(k), val]), escapeHTML);
    }
    if (isPlainObject(obj)) return this.members(Object.entries(obj), escapeHTML);
    // A formatter context: json.Marshal of a map, so sorted and HTML-escaped.
    const fields = [...contextFields(obj).entries()].sort((a, b) => compareKeys(a[0], b[0]));
    return this.members(fields, true);
  }

  private members(entries: [string, unknown][], escapeHTML: boolean): string {
    const parts: string[] = [];
    for (const [k, val] of entries) {
      if (val === undefined || typeof val === "function" || typeof val === "symbol") continue; // as JSON.stringify
      parts.push(escapeString(k, escapeHTML) + ":" + this.encode(val, escapeHTML));
    }
    return "{" + parts.join(",") + "}";
  }
}
