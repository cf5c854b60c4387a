import { constants } from "node:os";
import { InvalidParameterError } from "./errors";

const BY_NAME = constants.signals as Record<string, number>;

/** "SIGTERM", "TERM", "term", "15" -> 15, as Docker's signal.ParseSignal accepts them. */
export function parseSignal(value: string): number {
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) {
    const n = Number(trimmed);
    if (n >= 1 && n <= 64) return n;
    throw new InvalidParameterError(`Invalid signal: ${value}`);
  }
  const upper = trimmed.toUpperCase();
  const name = upper.startsWith("SIG") ? upper : `SIG${upper}`;
  const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name) ?? /^SIGRTMAX(?:-(\d+))?$/.exec(name);
  if (rt) return name.startsWith("SIGRTMIN") ? 34 + Number(rt[1] ?? 0) : 64 - Number(rt[1] ?? 0);
  const n = BY_NAME[name];
  if (n === undefined) throw new InvalidParameterError(`Invalid signal: ${value}`);
  return n;
}

export const SIGKILL = 9;
export const SIGTERM = 15;
