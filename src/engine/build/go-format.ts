import { goQuote } from "../../lib/units";

/** Go's %q of a []string: ["a" "b"] (history lines of the classic builder). */
export function goList(items: string[]): string {
  return `[${items.map(goQuote).join(" ")}]`;
}

/** Go's %q of an int: a quoted rune ('\x02'). */
export function goRune(n: number): string {
  if (n >= 0x20 && n < 0x7f) return n === 0x27 ? "'\\''" : n === 0x5c ? "'\\\\'" : `'${String.fromCharCode(n)}'`;
  if (n < 0x100) return `'\\x${n.toString(16).padStart(2, "0")}'`;
  return `'\\u${n.toString(16).padStart(4, "0")}'`;
}

/** Go's time.Duration.String() for nanoseconds. */
export function goDuration(ns: number): string {
  if (ns === 0) return "0s";
  const neg = ns < 0;
  let v = Math.abs(ns);
  let out: string;
  if (v < 1e3) out = `${v}ns`;
  else if (v < 1e6) out = `${trimZeros(v / 1e3)}µs`;
  else if (v < 1e9) out = `${trimZeros(v / 1e6)}ms`;
  else {
    const h = Math.floor(v / 3.6e12);
    v -= h * 3.6e12;
    const m = Math.floor(v / 6e10);
    v -= m * 6e10;
    const sec = `${trimZeros(v / 1e9)}s`;
    out = h ? `${h}h${m}m${sec}` : m ? `${m}m${sec}` : sec;
  }
  return neg ? `-${out}` : out;
}

function trimZeros(x: number): string {
  return x.toFixed(9).replace(/\.?0+$/, "");
}
