/**
 * docker's `--since` / `--until` values (logs, events, system prune filters), parsed as the
 * Docker client's timetypes.GetTimestamp does: a Go duration before now, an RFC 3339 date or
 * timestamp (local time when no zone is given), or unix seconds with optional nanoseconds.
 */
import { goQuote, parseGoDuration } from "./units";

export interface TimestampParts {
  /** Whole unix seconds (floor). */
  seconds: number;
  /** Nanoseconds within the second, 0..999999999. */
  nanos: number;
}

/** Unix seconds with a fractional part; see parseTimestampParts for the exact pieces. */
export function parseTimestamp(value: string, nowMs: number): number {
  const { seconds, nanos } = parseTimestampParts(value, nowMs);
  return seconds + nanos / 1e9;
}

/**
 * Same as parseTimestamp, but keeps nanoseconds apart (a double cannot hold both exactly).
 * A duration yields whole seconds, as docker's does.
 */
export function parseTimestampParts(value: string, nowMs: number): TimestampParts {
  if (value !== "0") {
    const durationMs = tryDuration(value);
    if (durationMs !== undefined) return { seconds: Math.floor((nowMs - durationMs) / 1000), nanos: 0 };
  }

  // A zone is present when the value has Z or +, or a third dash (a negative offset).
  const inLocation = !/[zZ+]/.test(value) && value.split("-").length - 1 !== 3;
  const layout = chooseLayout(value, inLocation);
  // Like Go's time.FixedZone(reference.Zone()): the local offset at `now`, not at the date.
  const localOffsetSec = -new Date(nowMs).getTimezoneOffset() * 60;
  try {
    return parseGoTime(layout, value, localOffsetSec);
  } catch (err) {
    if (value.includes("-")) throw err; // it looked like a date: keep the parser's reason
    const unix = parseUnixSeconds(value);
    if (unix === undefined) throw new Error(`failed to parse value as time or duration: ${goQuote(value)}`);
    return unix;
  }
}

function tryDuration(value: string): number | undefined {
  try {
    return parseGoDuration(value);
  } catch {
    return undefined;
  }
}

const RFC3339 = "2006-01-02T15:04:05Z07:00";
const RFC3339_NANO = "2006-01-02T15:04:05.999999999Z07:00";
const RFC3339_LOCAL = "2006-01-02T15:04:05";
const RFC3339_NANO_LOCAL = "2006-01-02T15:04:05.999999999";
const DATE_WITH_ZONE = "2006-01-02Z07:00";
const DATE_LOCAL = "2006-01-02";

function chooseLayout(value: string, inLocation: boolean): string {
  if (value.includes(".")) return inLocation ? RFC3339_NANO_LOCAL : RFC3339_NANO;
  if (value.includes("T")) {
    let colons = value.split(":").length - 1;
    // A +hh:mm / -hh:mm offset brings its own colon.
    if (!inLocation && !/[zZ]/.test(value) && colons > 0) colons--;
    if (colons === 0) return inLocation ? "2006-01-02T15" : "2006-01-02T15Z07:00";
    if (colons === 1) return inLocation ? "2006-01-02T15:04" : "2006-01-02T15:04Z07:00";
    return inLocation ? RFC3339_LOCAL : RFC3339;
  }
  return inLocation ? DATE_LOCAL : DATE_WITH_ZONE;
}

// ---------------------------------------------------------------------------------------------
// A small subset of Go's time.Parse: just the layout elements the layouts above use, with
// Go's error messages.

const ELEMENTS = ["2006", "01", "02", "15", "04", "05", ".999999999", "Z07:00"];

function splitLayout(layout: string): string[] {
  const chunks: string[] = [];
  let literal = "";
  let i = 0;
  while (i < layout.length) {
    const element = ELEMENTS.find((e) => layout.startsWith(e, i));
    if (element) {
      if (literal) chunks.push(literal);
      literal = "";
      chunks.push(element);
      i += element.length;
    } else {
      literal += layout[i++];
    }
  }
  if (literal) chunks.push(literal);
  return chunks;
}

class TimeParseError extends Error {}

function isDigit(s: string, i: number): boolean {
  return i < s.length && s[i] >= "0" && s[i] <= "9";
}

/** Go's getnum: one or two digits, exactly two when `fixed`. */
function getNum(s: string, fixed: boolean): [number, string] | undefined {
  if (!isDigit(s, 0)) return undefined;
  if (!isDigit(s, 1)) return fixed ? undefined : [Number(s[0]), s.slice(1)];
  return [Number(s.slice(0, 2)), s.slice(2)];
}

/** Digits after "." or "," (s[0]); at most nine count, as in Go's parseNanoseconds. */
function nanosOf(s: string, n: number): number {
  const digits = s.slice(1, Math.min(n, 10));
  return Number(digits) * 10 ** (9 - digits.length);
}

function daysIn(month: number, year: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function parseGoTime(layout: string, value: string, defaultOffsetSec: number): TimestampParts {
  const chunks = splitLayout(layout);
  const cannotParse = (rest: string, element: string): TimeParseError =>
    new TimeParseError(
      `parsing time ${goQuote(value)} as ${goQuote(layout)}: cannot parse ${goQuote(rest)} as ${goQuote(element)}`,
    );
  const outOfRange = (what: string): TimeParseError =>
    new TimeParseError(`parsing time ${goQuote(value)}: ${what} out of range`);

  let rest = value;
  let year = 0;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let nanos = 0;
  let offsetSec = defaultOffsetSec;

  for (let ci = 0; ci < chunks.length; ci++) {
    const chunk = chunks[ci];
    if (!ELEMENTS.includes(chunk)) {
      if (!rest.startsWith(chunk)) throw cannotParse(rest, chunk);
      rest = rest.slice(chunk.length);
      continue;
    }
    const before = rest;
    let num: [number, string] | undefined;
    switch (chunk) {
      case "2006":
        if (rest.length < 4 || !/^[+-]?\d+$/.test(rest.slice(0, 4))) throw cannotParse(before, chunk);
        year = Number(rest.slice(0, 4));
        rest = rest.slice(4);
        break;
      case "01":
        if (!(num = getNum(rest, true))) throw cannotParse(before, chunk);
        [month, rest] = num;
        if (month < 1 || month > 12) throw outOfRange("month");
        break;
      case "02":
        if (!(num = getNum(rest, true))) throw cannotParse(before, chunk);
        [day, rest] = num;
        break;
      case "15":
        if (!(num = getNum(rest, false))) throw cannotParse(before, chunk);
        [hour, rest] = num;
        if (hour >= 24) throw outOfRange("hour");
        break;
      case "04":
        if (!(num = getNum(rest, true))) throw cannotParse(before, chunk);
        [minute, rest] = num;
        if (minute >= 60) throw outOfRange("minute");
        break;
      case "05":
        if (!(num = getNum(rest, true))) throw cannotParse(before, chunk);
        [second, rest] = num;
        if (second >= 60) throw outOfRange("second");
        // Go accepts a fraction after the seconds even when the layout has none.
        if (chunks[ci + 1] !== ".999999999" && /^[.,]\d/.test(rest)) {
          let n = 2;
          while (isDigit(rest, n)) n++;
          nanos = nanosOf(rest, n);
          rest = rest.slice(n);
        }
        break;
      case ".999999999":
        if (/^[.,]\d/.test(rest)) {
          let n = 2;
          while (isDigit(rest, n)) n++;
          nanos = nanosOf(rest, n);
          rest = rest.slice(n);
        }
        break;
      case "Z07:00": {
        if (rest.startsWith("Z")) {
          offsetSec = 0;
          rest = rest.slice(1);
          break;
        }
        if (rest.length < 6 || rest[3] !== ":") throw cannotParse(before, chunk);
        const hh = getNum(rest.slice(1, 3), true);
        const mm = getNum(rest.slice(4, 6), true);
        if (!hh || !mm || (rest[0] !== "+" && rest[0] !== "-")) throw cannotParse(before, chunk);
        if (hh[0] > 24) throw outOfRange("time zone offset hour");
        if (mm[0] > 60) throw outOfRange("time zone offset minute");
        offsetSec = (hh[0] * 60 + mm[0]) * 60 * (rest[0] === "-" ? -1 : 1);
        rest = rest.slice(6);
        break;
      }
    }
  }
  if (rest.length > 0) throw new TimeParseError(`parsing time ${goQuote(value)}: extra text: ${goQuote(rest)}`);
  if (day < 1 || day > daysIn(month, year)) throw outOfRange("day");

  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // setUTCFullYear keeps years 0-99 as they are
  date.setUTCHours(hour, minute, second, 0);
  return { seconds: date.getTime() / 1000 - offsetSec, nanos };
}

/** docker's parseTimestamp: "1700000000" or "1700000000.123"; undefined when not a number. */
function parseUnixSeconds(value: string): TimestampParts | undefined {
  const dot = value.indexOf(".");
  const secText = dot < 0 ? value : value.slice(0, dot);
  if (!/^[+-]?\d+$/.test(secText)) return undefined;
  const seconds = Number(secText);
  if (dot < 0) return { seconds, nanos: 0 };
  const fracText = value.slice(dot + 1);
  if (!/^[+-]?\d+$/.test(fracText)) return undefined;
  // docker scales the digits to nanoseconds (truncating beyond nine digits).
  const nanos = Math.trunc(Number(fracText) * 10 ** (9 - fracText.length));
  return { seconds, nanos };
}
