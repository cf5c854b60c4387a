/**
 * Sizes and durations printed and parsed exactly as docker does: docker/go-units v0.5.0 (the
 * version docker 28 ships) and Go's time.ParseDuration. Go's strconv float formatting lives here
 * too, because go-units' "%.3g" / "%.4g" output depends on its exact rounding; the template
 * printf reuses it.
 */

// ---------------------------------------------------------------------------------------------
// Go's strconv.FormatFloat

/** A decimal number 0.d1d2d3... × 10^dp with no trailing zeros in `d` (Go's strconv decimal). */
interface Decimal {
  d: string;
  dp: number;
}

function parseExponential(s: string): Decimal {
  // s is the output of Number#toExponential for a non-negative finite number: "d.ddde±x"
  const [mantissa, exponent] = s.split("e");
  const digits = mantissa.replace(".", "").replace(/0+$/, "");
  if (digits === "") return { d: "", dp: 0 };
  return { d: digits, dp: Number(exponent) + 1 };
}

/** The shortest digits that read back as x (what Go uses for precision -1). */
function shortestDecimal(x: number): Decimal {
  return x === 0 ? { d: "", dp: 0 } : parseExponential(x.toExponential());
}

/** x's decimal expansion to 101 significant digits: exact for every tie Go can see. */
function longDecimal(x: number): Decimal {
  return x === 0 ? { d: "", dp: 0 } : parseExponential(x.toExponential(100));
}

/** Rounds to `nd` digits, half to even on exact ties, as Go's decimal.Round does. */
function roundDecimal(dec: Decimal, nd: number): Decimal {
  if (nd < 0 || nd >= dec.d.length) return nd < 0 ? { d: "", dp: 0 } : dec;
  const next = dec.d.charCodeAt(nd) - 48;
  let up: boolean;
  if (next === 5 && nd + 1 === dec.d.length) {
    up = nd > 0 && (dec.d.charCodeAt(nd - 1) - 48) % 2 === 1;
  } else {
    up = next >= 5;
  }
  if (!up) {
    const d = dec.d.slice(0, nd).replace(/0+$/, "");
    return d === "" ? { d: "", dp: 0 } : { d, dp: dec.dp };
  }
  // Round up: add one at position nd-1, carrying through nines.
  let i = nd - 1;
  while (i >= 0 && dec.d[i] === "9") i--;
  if (i < 0) return { d: "1", dp: dec.dp + 1 };
  const d = dec.d.slice(0, i) + String.fromCharCode(dec.d.charCodeAt(i) + 1);
  return { d, dp: dec.dp };
}

function digitAt(dec: Decimal, i: number): string {
  return i >= 0 && i < dec.d.length ? dec.d[i] : "0";
}

function fmtE(neg: boolean, dec: Decimal, prec: number, expChar: string): string {
  let s = neg ? "-" : "";
  s += dec.d.length === 0 ? "0" : dec.d[0];
  if (prec > 0) {
    s += ".";
    for (let i = 1; i <= prec; i++) s += digitAt(dec, i);
  }
  let exp = dec.d.length === 0 ? 0 : dec.dp - 1;
  s += expChar;
  if (exp < 0) {
    s += "-";
    exp = -exp;
  } else {
    s += "+";
  }
  return s + (exp < 10 ? "0" : "") + String(exp);
}

function fmtF(neg: boolean, dec: Decimal, prec: number): string {
  let s = neg ? "-" : "";
  if (dec.dp > 0) {
    for (let i = 0; i < dec.dp; i++) s += digitAt(dec, i);
  } else {
    s += "0";
  }
  if (prec > 0) {
    s += ".";
    for (let i = 0; i < prec; i++) s += digitAt(dec, dec.dp + i);
  }
  return s;
}

export type FloatVerb = "e" | "E" | "f" | "F" | "g" | "G";

/**
 * Go's strconv.FormatFloat(x, verb, prec, 64); prec < 0 means "shortest that round-trips".
 * Ties round half to even on the exact binary value, as Go does (JS's toFixed rounds them up).
 */
export function formatFloat(x: number, verb: FloatVerb, prec: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "+Inf" : "-Inf";
  const neg = x < 0 || Object.is(x, -0);
  const abs = Math.abs(x);
  const shortest = prec < 0;
  const lower = verb.toLowerCase();
  const expChar = verb === "E" || verb === "G" ? "E" : "e";

  if (lower === "e") {
    const dec = shortest ? shortestDecimal(abs) : roundDecimal(longDecimal(abs), prec + 1);
    return fmtE(neg, dec, shortest ? Math.max(dec.d.length - 1, 0) : prec, expChar);
  }
  if (lower === "f") {
    if (shortest) {
      const dec = shortestDecimal(abs);
      return fmtF(neg, dec, Math.max(dec.d.length - dec.dp, 0));
    }
    const long = longDecimal(abs);
    return fmtF(neg, roundDecimal(long, long.dp + prec), prec);
  }
  // %g: %e for large or small exponents, else %f, both without trailing zeros.
  let p = prec === 0 ? 1 : prec;
  const dec = shortest ? shortestDecimal(abs) : roundDecimal(longDecimal(abs), p);
  if (shortest) p = dec.d.length;
  let eprec = p;
  if (eprec > dec.d.length && dec.d.length >= dec.dp) eprec = dec.d.length;
  if (shortest) eprec = 6;
  const exp = dec.dp - 1;
  if (exp < -4 || exp >= eprec) {
    if (p > dec.d.length) p = dec.d.length;
    return fmtE(neg, dec, p - 1, expChar);
  }
  if (p > dec.dp) p = dec.d.length;
  return fmtF(neg, dec, Math.max(p - dec.dp, 0));
}

// ---------------------------------------------------------------------------------------------
// Sizes (go-units size.go)

const DECIMAL_UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

function scale(size: number, base: number, units: string[]): [number, string] {
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  return [size, units[i]];
}

/** Decimal size with `precision` significant digits: 1234567 -> "1.23MB" (docker's images/ps). */
export function humanSize(bytes: number, precision = 3): string {
  const [size, unit] = scale(bytes, 1000, DECIMAL_UNITS);
  return formatFloat(size, "g", precision) + unit;
}

/** Binary size, "%.4g" + unit: 1536 -> "1.5KiB" (docker stats' memory columns). */
export function bytesSize(bytes: number): string {
  const [size, unit] = scale(bytes, 1024, BINARY_UNITS);
  return formatFloat(size, "g", 4) + unit;
}

const DECIMAL_MULTIPLIERS: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };
const BINARY_MULTIPLIERS: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/** Go's strconv.ParseFloat for the decimal forms a size can take; throws Go's message. */
function parseGoFloat(text: string): number {
  const t = text.replace(/_/g, "");
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) && !text.includes("_")) return Number(t);
  if (/^[+-]?(inf|infinity)$/i.test(text)) return text.startsWith("-") ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(text)) return NaN;
  throw new Error(`strconv.ParseFloat: parsing ${goQuote(text)}: invalid syntax`);
}

function parseSize(sizeStr: string, multipliers: Record<string, number>): number {
  // The number ends at the last digit, dot or space; a space separating the unit is dropped.
  let sep = -1;
  for (let i = sizeStr.length - 1; i >= 0; i--) {
    if ("0123456789. ".includes(sizeStr[i])) {
      sep = i;
      break;
    }
  }
  if (sep === -1) throw new Error(`invalid size: '${sizeStr}'`);
  const num = sizeStr[sep] === " " ? sizeStr.slice(0, sep) : sizeStr.slice(0, sep + 1);
  let suffix = sizeStr.slice(sep + 1);

  let size = parseGoFloat(num);
  if (size < 0) throw new Error(`invalid size: '${sizeStr}'`);
  if (suffix.length === 0) return Math.trunc(size);

  const badSuffix = (): Error => new Error(`invalid suffix: '${suffix}'`);
  if (suffix.length > 3) throw badSuffix();
  suffix = suffix.toLowerCase();
  if (suffix[0] === "b") {
    if (suffix.length > 1) throw badSuffix();
    return Math.trunc(size);
  }
  const mul = multipliers[suffix[0]];
  if (mul === undefined) throw badSuffix();
  size *= mul;
  if (suffix.length === 2 && suffix[1] !== "b") throw badSuffix();
  if (suffix.length === 3 && suffix.slice(1) !== "ib") throw badSuffix();
  return Math.trunc(size);
}

/** go-units RAMInBytes: "64m", "1.5g", "512KiB", "1024"; binary multiples, case-insensitive. */
export function ramInBytes(value: string): number {
  return parseSize(value, BINARY_MULTIPLIERS);
}

/** go-units FromHumanSize: "44kB", "17MB"; decimal multiples. */
export function fromHumanSize(value: string): number {
  return parseSize(value, DECIMAL_MULTIPLIERS);
}

// ---------------------------------------------------------------------------------------------
// Durations

/** go-units HumanDuration ("Up 5 minutes", "Created 2 days ago"); thresholds as go-units has them. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60000);
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(ms / 3600000 + 0.5);
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / 3600000) / 24 / 365)} years`;
}

/** Go's strconv.Quote for the ASCII-ish strings error messages quote. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '"' || ch === "\\") out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (c < 0x20 || c === 0x7f) out += "\\x" + c.toString(16).padStart(2, "0");
    else out += ch;
  }
  return out + '"';
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  "\u00b5s": 1e3, // micro sign
  "\u03bcs": 1e3, // Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const MAX_DURATION_NS = 2 ** 63; // Go's time.Duration is an int64 of nanoseconds

/**
 * Go's time.ParseDuration, returning milliseconds (fractional below 1 ms): "1h2m3.5s", "300ms",
 * "-2s", "0". Throws Go's messages: `time: invalid duration "x"`, `time: missing unit in duration
 * "1"`, `time: unknown unit "x" in duration "1x"`.
 */
export function parseGoDuration(value: string): number {
  const invalid = (): Error => new Error(`time: invalid duration ${goQuote(value)}`);
  let s = value;
  let neg = false;
  if (s !== "" && (s[0] === "-" || s[0] === "+")) {
    neg = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") throw invalid();
  let totalNs = 0;
  while (s !== "") {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s) as RegExpExecArray;
    const whole = m[1];
    const frac = m[2];
    if (whole === "" && (frac === undefined || frac === "")) throw invalid();
    s = s.slice(m[0].length);
    let i = 0;
    while (i < s.length && s[i] !== "." && !(s[i] >= "0" && s[i] <= "9")) i++;
    if (i === 0) throw new Error(`time: missing unit in duration ${goQuote(value)}`);
    const unitName = s.slice(0, i);
    s = s.slice(i);
    const unit = DURATION_UNITS[unitName];
    if (unit === undefined) {
      throw new Error(`time: unknown unit ${goQuote(unitName)} in duration ${goQuote(value)}`);
    }
    let ns = Number(whole || "0") * unit;
    if (frac) {
      // Go scales the fraction's digits by unit/10^n and truncates; it stops reading digits
      // once more would overflow an int64, so only the first 18 count.
      const digits = frac.slice(0, 18);
      ns += Math.trunc(Number(digits) * (unit / 10 ** digits.length));
    }
    if (ns > MAX_DURATION_NS) throw invalid();
    totalNs += ns;
    if (totalNs > MAX_DURATION_NS || (!neg && totalNs === MAX_DURATION_NS)) throw invalid();
  }
  const ms = totalNs / 1e6;
  return neg ? -ms : ms;
}
