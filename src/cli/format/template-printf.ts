/**
 * Go's fmt package as templates see it: how `{{.}}`, print, println and printf render values,
 * including printf's verbs, flags, width and precision, and its %!verb(type=value) complaints.
 */
import { formatFloat } from "../../lib/units";
import { goTypeName, isMapLike, isPlainObject, sortedEntries } from "./template-values";

// ---------------------------------------------------------------------------------------------
// Quoting

/** Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
function isPrint(ch: string): boolean {
  return ch === " " || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch);
}

const NAMED_ESCAPES: Record<string, string> = {
  "\x07": "\\a",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\v": "\\v",
};

function quoteWith(s: string, quote: string, asciiOnly: boolean): string {
  let out = quote;
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === quote || ch === "\\") {
      out += "\\" + ch;
    } else if (c < 0x80 ? isPrint(ch) : !asciiOnly && isPrint(ch)) {
      out += ch;
    } else if (NAMED_ESCAPES[ch]) {
      out += NAMED_ESCAPES[ch];
    } else if (c < 0x20 || c === 0x7f) {
      out += "\\x" + c.toString(16).padStart(2, "0");
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out += "\\ufffd"; // a lone surrogate is not valid UTF-8; Go would see U+FFFD
    } else if (c < 0x10000) {
      out += "\\u" + c.toString(16).padStart(4, "0");
    } else {
      out += "\\U" + c.toString(16).padStart(8, "0");
    }
  }
  return out + quote;
}

/** strconv.Quote (or QuoteToASCII). */
export function quoteString(s: string, asciiOnly = false): string {
  return quoteWith(s, '"', asciiOnly);
}

/** strconv.QuoteRune: 'a' */
function quoteRune(code: number, asciiOnly: boolean): string {
  const valid = code >= 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff);
  return quoteWith(String.fromCodePoint(valid ? code : 0xfffd), "'", asciiOnly);
}

/** strconv.CanBackquote: no backquote and no control characters other than tab. */
function canBackquote(s: string): boolean {
  return !/[`\x00-\x08\x0a-\x1f\x7f\ufeff]/.test(s);
}

// ---------------------------------------------------------------------------------------------
// %v: Go's default formatting

function isInt(v: number): boolean {
  return Number.isInteger(v) && !Object.is(v, -0) && Math.abs(v) < 1e21;
}

/** A number as %v prints it: integral values as ints, others as float64 (%g, shortest). */
export function formatNumber(v: number): string {
  return isInt(v) ? v.toFixed(0) : formatFloat(v, "g", -1);
}

const pad2 = (n: number): string => String(n).padStart(2, "0");

/** time.Time's String(), in UTC: 2006-01-02 15:04:05.999999999 +0000 UTC */
function formatDate(d: Date): string {
  if (Number.isNaN(d.getTime())) return "<invalid time>";
  const ms = d.getUTCMilliseconds();
  const frac = ms ? "." + String(ms).padStart(3, "0").replace(/0+$/, "") : "";
  return (
    `${String(d.getUTCFullYear()).padStart(4, "0")}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}${frac} +0000 UTC`
  );
}

/** Go's Stringer and error interfaces: the string a value prints as, if it has one. */
function stringerText(v: object): string | undefined {
  if (v instanceof Date) return formatDate(v);
  if (v instanceof Error) return v.message;
  const toString = (v as { toString?: unknown }).toString;
  if (typeof toString === "function" && toString !== Object.prototype.toString) {
    return String(toString.call(v));
  }
  return undefined;
}

/** The elements of a slice-like value, or undefined if it is not one. */
function sliceElements(v: unknown): unknown[] | undefined {
  if (Array.isArray(v)) return v;
  if (v instanceof Uint8Array || v instanceof Set) return [...v];
  return undefined;
}

/** Public enumerable fields of a struct-like object, in declaration order. */
function structFields(v: object): [string, unknown][] {
  return Object.entries(v);
}

/** fmt.Sprint(v) for one value (%v). */
export function formatValue(v: unknown): string {
  return formatArg(v, { ...NO_FLAGS }, "v");
}

// ---------------------------------------------------------------------------------------------
// print / println

/** fmt.Sprint: spaces between operands when neither side is a string. */
export function sprint(args: unknown[]): string {
  let out = "";
  let prevString = false;
  args.forEach((arg, i) => {
    const isString = typeof arg === "string";
    if (i > 0 && !isString && !prevString) out += " ";
    out += formatValue(arg);
    prevString = isString;
  });
  return out;
}

/** fmt.Sprintln: spaces between all operands and a newline at the end. */
export function sprintln(args: unknown[]): string {
  return args.map(formatValue).join(" ") + "\n";
}

// ---------------------------------------------------------------------------------------------
// printf

interface Flags {
  plus: boolean;
  /** %+v: struct field names (the '+' does not reach the numbers inside). */
  plusV?: boolean;
  minus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width?: number;
  prec?: number;
}

const NO_FLAGS: Flags = { plus: false, minus: false, sharp: false, space: false, zero: false };

function runeCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Pads to the width in runes: spaces left (or right with '-'), zeros with '0'. */
function pad(s: string, f: Flags, zeroAllowed = true): string {
  if (f.width === undefined) return s;
  const n = f.width - runeCount(s);
  if (n <= 0) return s;
  if (f.minus) return s + " ".repeat(n);
  return (f.zero && zeroAllowed ? "0" : " ").repeat(n) + s;
}

function badVerb(verb: string, v: unknown): string {
  if (v === undefined || v === null) return `%!${verb}(<nil>)`;
  return `%!${verb}(${goTypeName(v)}=${formatValue(v)})`;
}

function fmtInteger(value: bigint, verb: string, f: Flags): string {
  const neg = value < 0n;
  const abs = neg ? -value : value;
  switch (verb) {
    case "c":
      return pad(String.fromCodePoint(Number(abs) <= 0x10ffff ? Number(abs) : 0xfffd), f);
    case "q":
      return pad(quoteRune(Number(value), f.plus), f);
    case "U": {
      let s = "U+" + abs.toString(16).toUpperCase().padStart(4, "0");
      if (f.sharp && abs <= 0x10ffffn) s += " '" + String.fromCodePoint(Number(abs)) + "'";
      return pad(s, f);
    }
  }
  const base = verb === "b" ? 2 : verb === "o" || verb === "O" ? 8 : verb === "x" || verb === "X" ? 16 : 10;
  let digits = abs.toString(base);
  if (verb === "X") digits = digits.toUpperCase();
  if (f.prec !== undefined) {
    if (f.prec === 0 && abs === 0n) digits = "";
    digits = digits.padStart(f.prec, "0");
  } else if (f.zero && !f.minus && f.width !== undefined) {
    // Zero padding goes between the sign/prefix and the digits.
    const signWidth = neg || f.plus || f.space ? 1 : 0;
    digits = digits.padStart(f.width - signWidth, "0");
  }
  let prefix = "";
  if (f.sharp) {
    if (base === 2) prefix = "0b";
    else if (base === 16) prefix = verb === "X" ? "0X" : "0x";
    else if (base === 8 && !digits.startsWith("0")) prefix = "0";
  }
  if (verb === "O") prefix = "0o";
  const sign = neg ? "-" : f.plus ? "+" : f.space ? " " : "";
  return pad(sign + prefix + digits, { ...f, zero: false });
}

function fmtFloatVerb(v: number, verb: string, f: Flags): string {
  const goVerb = verb === "v" ? "g" : verb === "F" ? "f" : verb;
  const prec = f.prec !== undefined ? f.prec : goVerb === "g" || goVerb === "G" ? -1 : 6;
  let s = formatFloat(v, goVerb as "e" | "E" | "f" | "g" | "G", prec);
  if (f.plus && !s.startsWith("-") && !s.startsWith("+")) s = "+" + s;
  else if (f.space && !s.startsWith("-") && !s.startsWith("+")) s = " " + s;
  if (s === "+Inf" && !f.plus) s = f.space ? " Inf" : "+Inf";
  const finite = Number.isFinite(v);
  if (f.zero && !f.minus && finite && f.width !== undefined && s.length < f.width) {
    const signed = s[0] === "-" || s[0] === "+" || s[0] === " ";
    const sign = signed ? s[0] : "";
    return sign + s.slice(sign.length).padStart(f.width - sign.length, "0");
  }
  return pad(s, f, false);
}

function fmtString(s: string, verb: string, f: Flags): string {
  if (f.prec !== undefined && (verb === "s" || verb === "v" || verb === "q")) {
    s = Array.from(s).slice(0, f.prec).join("");
  }
  switch (verb) {
    case "s":
    case "v":
      return pad(s, f);
    case "q":
      return pad(f.sharp && canBackquote(s) ? "`" + s + "`" : quoteString(s, f.plus), f);
    case "x":
    case "X": {
      let bytes = [...Buffer.from(s, "utf8")];
      if (f.prec !== undefined) bytes = bytes.slice(0, f.prec);
      const hex = bytes.map((b) => {
        const h = b.toString(16).padStart(2, "0");
        return verb === "X" ? h.toUpperCase() : h;
      });
      const prefix = f.sharp ? (verb === "X" ? "0X" : "0x") : "";
      const text = f.space ? hex.map((h) => prefix + h).join(" ") : prefix + hex.join("");
      return pad(text, f);
    }
  }
  return badVerb(verb, s);
}

const INT_VERBS = "bcdoOqxXUv";
const FLOAT_VERBS = "eEfFgGv";

/** Formats one argument for one verb, the way fmt's printArg/printValue do. */
function formatArg(v: unknown, f: Flags, verb: string): string {
  if (verb === "T") return pad(goTypeName(v), f);
  if (v === undefined || v === null) return verb === "v" ? pad("<nil>", f) : badVerb(verb, v);
  switch (typeof v) {
    case "boolean":
      return verb === "t" || verb === "v" ? pad(String(v), f) : badVerb(verb, v);
    case "bigint":
      return INT_VERBS.includes(verb) ? fmtInteger(v, verb === "v" ? "d" : verb, f) : badVerb(verb, v);
    case "number":
      if (isInt(v) && INT_VERBS.includes(verb)) return fmtInteger(BigInt(v), verb === "v" ? "d" : verb, f);
      // JS cannot tell 3 from 3.0, so integral values accept the float verbs too.
      if (FLOAT_VERBS.includes(verb)) return fmtFloatVerb(v, verb, f);
      return badVerb(verb, v);
    case "string":
      return fmtString(v, verb, f);
    case "function":
      return verb === "v" ? pad("<func>", f) : badVerb(verb, v);
    case "symbol":
      return pad(String(v), f);
  }
  if (f.sharp && verb === "v") return pad(goSyntax(v), { ...f, sharp: false });

  const obj = v as object;
  if ("vsqxX".includes(verb) && !sliceElements(obj) && !isMapLike(obj)) {
    const text = stringerText(obj);
    if (text !== undefined) return fmtString(text, verb === "v" ? "s" : verb, f);
  }
  if (obj instanceof Uint8Array && "sqxX".includes(verb)) {
    return fmtString(Buffer.from(obj).toString("utf8"), verb, f);
  }
  const elements = sliceElements(obj);
  if (elements) {
    return "[" + elements.map((e) => formatArg(e, f, verb)).join(" ") + "]";
  }
  if (isMapLike(obj)) {
    const parts = sortedEntries(obj).map(
      ([k, val]) => formatArg(k, f, verb) + ":" + formatArg(val, f, verb),
    );
    return "map[" + parts.join(" ") + "]";
  }
  // A struct: {v1 v2}, or {Name:v1 Age:v2} with %+v.
  const fields = structFields(obj).map(([k, val]) =>
    f.plusV && verb === "v" ? `${k}:${formatArg(val, f, verb)}` : formatArg(val, f, verb),
  );
  return "{" + fields.join(" ") + "}";
}

/** %#v, approximately: Go-syntax representation. */
function goSyntax(v: unknown): string {
  if (v === undefined || v === null) return "<nil>";
  if (typeof v === "string") return quoteString(v);
  if (typeof v === "number") return formatNumber(v);
  if (typeof v !== "object") return String(v);
  const elements = sliceElements(v);
  if (elements) return `${goTypeName(v)}{${elements.map(goSyntax).join(", ")}}`;
  if (isMapLike(v)) {
    return `${goTypeName(v)}{${sortedEntries(v)
      .map(([k, val]) => `${goSyntax(k)}:${goSyntax(val)}`)
      .join(", ")}}`;
  }
  const fields = structFields(v).map(([k, val]) => `${k}:${goSyntax(val)}`);
  return `${isPlainObject(v) ? "struct" : goTypeName(v)}{${fields.join(", ")}}`;
}

/** fmt.Sprintf. */
export function sprintf(format: string, args: unknown[]): string {
  let out = "";
  let argNum = 0;
  let reordered = false;
  let i = 0;
  const n = format.length;

  // Parses "[n]" at i; returns the new argNum or undefined if malformed.
  const argIndex = (): number | undefined | null => {
    if (format[i] !== "[") return null;
    const close = format.indexOf("]", i);
    const idx = close < 0 ? NaN : Number(format.slice(i + 1, close));
    i = close < 0 ? n : close + 1;
    reordered = true;
    if (!Number.isInteger(idx) || idx < 1 || idx > args.length) return undefined;
    return idx - 1;
  };

  while (i < n) {
    const pct = format.indexOf("%", i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const f: Flags = { ...NO_FLAGS };
    // Flags.
    for (; i < n; i++) {
      const c = format[i];
      if (c === "+") f.plus = true;
      else if (c === "-") {
        f.minus = true;
        f.zero = false;
      } else if (c === "#") f.sharp = true;
      else if (c === " ") f.space = true;
      else if (c === "0") f.zero = !f.minus;
      else break;
    }
    let badIndex = false;
    let idx = argIndex();
    if (idx === undefined) badIndex = true;
    else if (idx !== null) argNum = idx;
    // Width.
    if (format[i] === "*") {
      i++;
      const w = args[argNum++];
      if (typeof w === "number" && Number.isInteger(w)) {
        f.width = Math.abs(w);
        if (w < 0) {
          f.minus = true;
          f.zero = false;
        }
      } else {
        out += "%!(BADWIDTH)";
      }
    } else {
      const m = /^\d+/.exec(format.slice(i));
      if (m) {
        f.width = Number(m[0]);
        i += m[0].length;
      }
    }
    // Precision.
    if (format[i] === ".") {
      i++;
      idx = argIndex();
      if (idx === undefined) badIndex = true;
      else if (idx !== null) argNum = idx;
      if (format[i] === "*") {
        i++;
        const p = args[argNum++];
        if (typeof p === "number" && Number.isInteger(p) && p >= 0) f.prec = p;
        else out += "%!(BADPREC)";
      } else {
        const m = /^\d+/.exec(format.slice(i));
        f.prec = m ? Number(m[0]) : 0;
        i += m ? m[0].length : 0;
      }
    }
    idx = argIndex();
    if (idx === undefined) badIndex = true;
    else if (idx !== null) argNum = idx;

    if (i >= n) {
      out += "%!(NOVERB)";
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i) as number);
    i += verb.length;
    if (verb === "%") {
      out += "%";
      continue;
    }
    if (badIndex) {
      out += `%!${verb}(BADINDEX)`;
      continue;
    }
    if (argNum >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    if (verb === "v" && f.plus) {
      f.plus = false;
      f.plusV = true;
    }
    out += formatArg(args[argNum++], f, verb);
  }
  if (!reordered && argNum < args.length) {
    const extra = args.slice(argNum).map((a) => (a == null ? "<nil>" : `${goTypeName(a)}=${formatValue(a)}`));
    out += `%!(EXTRA ${extra.join(", ")})`;
  }
  return out;
}
