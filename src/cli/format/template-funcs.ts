/**
 * The functions templates can call: Go's text/template builtins and the ones docker adds
 * (json, split, join, title, lower, upper, pad, truncate), plus docker's header variants.
 * Each declares its parameters so the executor can report Go's arity and type errors.
 */
import { goJson } from "./template-json";
import { formatValue, sprint, sprintf, sprintln } from "./template-printf";
import { byteLength, compareKeys, goTypeName, isMapLike, isPlainObject, isTruthy, sortedEntries } from "./template-values";

/** A function a template may call; it receives evaluated arguments and may throw. */
export type TemplateFunc = (...args: never[]) => unknown;

/** How an argument is checked before the call: like a Go parameter's type. */
export type ParamKind = "any" | "string" | "int";

export interface FuncSpec {
  fn: (...args: unknown[]) => unknown;
  params: ParamKind[];
  /** Kind of the extra arguments a variadic function accepts. */
  variadic?: ParamKind;
}

/** and, or and call need the argument nodes (short-circuiting, names in errors): see exec. */
export const SPECIAL_FORMS = new Set(["and", "or", "call"]);

function spec(fn: (...args: never[]) => unknown, params: ParamKind[], variadic?: ParamKind): FuncSpec {
  return { fn: fn as (...args: unknown[]) => unknown, params, variadic };
}

// ---------------------------------------------------------------------------------------------
// Comparison (Go's eq/lt with its basic kinds)

type BasicKind = "bool" | "number" | "string" | "other";

function basicKind(v: unknown): BasicKind {
  switch (typeof v) {
    case "boolean":
      return "bool";
    case "number":
    case "bigint":
      return "number";
    case "string":
      return "string";
  }
  return "other";
}

function eqPair(a: unknown, b: unknown): boolean {
  const aNil = a === undefined || a === null;
  const bNil = b === undefined || b === null;
  if (aNil || bNil) return aNil && bNil;
  const ka = basicKind(a);
  if (ka !== basicKind(b)) throw new Error("incompatible types for comparison");
  if (ka === "number") return Number(a) === Number(b);
  if (ka !== "other") return a === b;
  if (Array.isArray(b) || isMapLike(b) || typeof b === "function") {
    throw new Error(`non-comparable type ${formatValue(b)}: ${goTypeName(b)}`);
  }
  return a === b;
}

function eq(arg1: unknown, ...rest: unknown[]): boolean {
  if (rest.length === 0) throw new Error("missing argument for comparison");
  return rest.some((b) => eqPair(arg1, b));
}

function lt(a: unknown, b: unknown): boolean {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka === "other" || kb === "other") throw new Error("invalid type for comparison");
  if (ka !== kb) throw new Error("incompatible types for comparison");
  if (ka === "bool") throw new Error("invalid type for comparison");
  if (ka === "number") return Number(a) < Number(b);
  return compareKeys(a, b) < 0; // bytewise, as Go compares strings
}

// ---------------------------------------------------------------------------------------------
// Indexing

function indexArg(index: unknown, cap: number, what: string): number {
  if (index === undefined || index === null) throw new Error(`cannot index ${what} with nil`);
  if (typeof index !== "number" || !Number.isInteger(index)) {
    throw new Error(`cannot index ${what} with type ${goTypeName(index)}`);
  }
  if (index < 0 || index > cap) throw new Error(`index out of range: ${index}`);
  return index;
}

function index(item: unknown, ...indexes: unknown[]): unknown {
  if (item === undefined) throw new Error("index of untyped nil");
  for (const key of indexes) {
    if (item === null || item === undefined) throw new Error("index of nil pointer");
    if (typeof item === "string") {
      const bytes = Buffer.from(item, "utf8");
      const i = indexArg(key, bytes.length, "slice/array");
      if (i === bytes.length) throw new Error("reflect: string index out of range"); // Go's own wording
      item = bytes[i]; // Go yields the byte
    } else if (Array.isArray(item) || item instanceof Uint8Array) {
      const i = indexArg(key, item.length, "slice/array");
      if (i === item.length) throw new Error("reflect: slice index out of range");
      item = item[i];
    } else if (item instanceof Map) {
      item = item.get(key);
    } else if (isPlainObject(item)) {
      item = Object.prototype.hasOwnProperty.call(item, String(key)) ? item[String(key)] : undefined;
    } else {
      throw new Error(`can't index item of type ${goTypeName(item)}`);
    }
  }
  return item;
}

function slice(item: unknown, ...indexes: unknown[]): unknown {
  if (item === undefined || item === null) throw new Error("slice of untyped nil");
  if (indexes.length > 3) throw new Error(`too many slice indexes: ${indexes.length}`);
  let length: number;
  let bytes: Buffer | undefined;
  if (typeof item === "string") {
    if (indexes.length === 3) throw new Error("cannot 3-index slice a string");
    bytes = Buffer.from(item, "utf8");
    length = bytes.length;
  } else if (Array.isArray(item)) {
    length = item.length;
  } else {
    throw new Error(`can't slice item of type ${goTypeName(item)}`);
  }
  const idx = [0, length, length];
  indexes.forEach((x, i) => (idx[i] = indexArg(x, length, "slice/array")));
  if (idx[0] > idx[1]) throw new Error(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (indexes.length === 3 && idx[1] > idx[2]) throw new Error(`invalid slice index: ${idx[1]} > ${idx[2]}`);
  return bytes ? bytes.subarray(idx[0], idx[1]).toString("utf8") : (item as unknown[]).slice(idx[0], idx[1]);
}

function length(item: unknown): number {
  if (item === undefined || item === null) throw new Error("len of nil pointer");
  if (typeof item === "string") return byteLength(item);
  if (Array.isArray(item) || item instanceof Uint8Array) return item.length;
  if (item instanceof Map || item instanceof Set) return item.size;
  if (isPlainObject(item)) return Object.keys(item).length;
  throw new Error(`len of type ${goTypeName(item)}`);
}

// ---------------------------------------------------------------------------------------------
// Escaping (html, js, urlquery take any arguments and print them first)

function argsText(args: unknown[]): string {
  if (args.length === 1 && typeof args[0] === "string") return args[0];
  return sprint(args.map((a) => (a === undefined || a === null ? "<no value>" : a)));
}

const HTML_ESCAPES: Record<string, string> = { "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&#39;", '"': "&#34;", "\0": "\ufffd" };

function html(...args: unknown[]): string {
  return argsText(args).replace(/[<>&'"\0]/g, (c) => HTML_ESCAPES[c]);
}

const JS_ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  "'": "\\'",
  '"': '\\"',
  "<": "\\u003C",
  ">": "\\u003E",
  "&": "\\u0026",
  "=": "\\u003D",
};

function js(...args: unknown[]): string {
  let out = "";
  for (const ch of argsText(args)) {
    const c = ch.codePointAt(0) as number;
    if (JS_ESCAPES[ch]) out += JS_ESCAPES[ch];
    else if (c < 0x20) out += "\\u00" + c.toString(16).toUpperCase().padStart(2, "0");
    else if (c >= 0x80 && !/^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch)) {
      out += "\\u" + c.toString(16).toUpperCase().padStart(4, "0");
    } else out += ch;
  }
  return out;
}

function urlquery(...args: unknown[]): string {
  let out = "";
  for (const b of Buffer.from(argsText(args), "utf8")) {
    const ch = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(ch)) out += ch;
    else if (ch === " ") out += "+";
    else out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// docker's functions

/** Go's unicode.ToUpper per rune: only single-rune mappings (no "ß" -> "SS"). */
function mapRunes(s: string, f: (ch: string) => string): string {
  let out = "";
  for (const ch of s) {
    const mapped = f(ch);
    out += Array.from(mapped).length === 1 ? mapped : ch;
  }
  return out;
}

/** strings.Title: upper-case the first letter of each word; ASCII non-alphanumerics separate. */
function title(s: string): string {
  let prev = " ";
  let out = "";
  for (const ch of s) {
    out += isWordSeparator(prev) ? mapRunes(ch, (c) => c.toUpperCase()) : ch;
    prev = ch;
  }
  return out;
}

function isWordSeparator(ch: string): boolean {
  if (ch.charCodeAt(0) < 0x80) return !/[0-9A-Za-z_]/.test(ch);
  if (/[\p{L}\p{Nd}]/u.test(ch)) return false;
  return /\s/u.test(ch);
}

function split(s: string, sep: string): string[] {
  return sep === "" ? Array.from(s) : s.split(sep);
}

/** docker's join: any slice (elements printed with %v), or a map's values in sorted order. */
function join(elems: unknown, sep: string): string {
  if (elems === undefined || elems === null) return "";
  if (Array.isArray(elems)) return elems.map((e) => (typeof e === "string" ? e : formatValue(e))).join(sep);
  if (isMapLike(elems)) {
    return sortedEntries(elems)
      .map(([, v]) => formatValue(v))
      .sort((a, b) => compareKeys(a, b))
      .join(sep);
  }
  throw new Error(`expected slice, got ${goTypeName(elems)}`);
}

function pad(source: string, prefix: number, suffix: number): string {
  if (source === "") return source;
  if (prefix < 0 || suffix < 0) throw new Error("strings: negative Repeat count");
  return " ".repeat(prefix) + source + " ".repeat(suffix);
}

/** docker's truncate cuts bytes, like Go's source[:length]. */
function truncate(source: string, length: number): string {
  const bytes = Buffer.from(source, "utf8");
  if (bytes.length < length) return source;
  if (length < 0) throw new Error(`runtime error: slice bounds out of range [:${length}]`);
  return bytes.subarray(0, length).toString("utf8");
}

// ---------------------------------------------------------------------------------------------

/** Go's text/template builtins. */
export const BUILTIN_FUNCS: Record<string, FuncSpec> = {
  and: spec(() => undefined, ["any"], "any"), // special form
  or: spec(() => undefined, ["any"], "any"), // special form
  call: spec(() => undefined, ["any"], "any"), // special form
  not: spec((v: unknown) => !isTruthy(v), ["any"]),
  len: spec(length, ["any"]),
  index: spec(index, ["any"], "any"),
  slice: spec(slice, ["any"], "any"),
  print: spec((...a: unknown[]) => sprint(a), [], "any"),
  println: spec((...a: unknown[]) => sprintln(a), [], "any"),
  printf: spec((format: string, ...a: unknown[]) => sprintf(format, a), ["string"], "any"),
  html: spec(html, [], "any"),
  js: spec(js, [], "any"),
  urlquery: spec(urlquery, [], "any"),
  eq: spec(eq, ["any"], "any"),
  ne: spec((a: unknown, b: unknown) => !eq(a, b), ["any", "any"]),
  lt: spec(lt, ["any", "any"]),
  le: spec((a: unknown, b: unknown) => lt(a, b) || eq(a, b), ["any", "any"]),
  gt: spec((a: unknown, b: unknown) => !(lt(a, b) || eq(a, b)), ["any", "any"]),
  ge: spec((a: unknown, b: unknown) => !lt(a, b), ["any", "any"]),
};

/** docker/cli's templates.basicFunctions. */
export const DOCKER_FUNCS: Record<string, FuncSpec> = {
  json: spec((v: unknown) => goJson(v), ["any"]),
  split: spec(split, ["string", "string"]),
  join: spec(join, ["any", "string"]),
  title: spec(title, ["string"]),
  lower: spec((s: string) => mapRunes(s, (c) => c.toLowerCase()), ["string"]),
  upper: spec((s: string) => mapRunes(s, (c) => c.toUpperCase()), ["string"]),
  pad: spec(pad, ["string", "int", "int"]),
  truncate: spec(truncate, ["string", "int"]),
};

const identity = (v: string): string => v;

/**
 * docker/cli's templates.HeaderFunctions: a table header is the format executed against the
 * column titles, so functions that would reshape a value leave the title alone (pad is kept,
 * so that headers stay aligned with padded columns).
 */
export const HEADER_FUNCS: Record<string, FuncSpec> = {
  json: spec(identity, ["string"]),
  split: spec(identity, ["string", "string"]),
  join: spec(identity, ["string", "string"]),
  title: spec(identity, ["string"]),
  lower: spec(identity, ["string"]),
  upper: spec(identity, ["string"]),
  truncate: spec(identity, ["string", "int"]),
};
