/**
 * Docker's detach keys (`--detach-keys`, the `detachKeys` attach parameter): a comma-separated
 * list of single characters or `ctrl-<x>`, default ctrl-p,ctrl-q. Both the CLI (on the user's
 * terminal) and the daemon (on a TTY attach's stdin) watch for the sequence, as Docker does.
 */

import { InvalidParameterError } from "./errors";

export const DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q";

const CTRL_SPECIALS: Record<string, number> = { "@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, _: 31 };

/** The key sequence as bytes; throws `Unknown character: 'x'` for anything Docker rejects. */
export function detachKeyBytes(spec: string): Buffer {
  const bytes: number[] = [];
  for (const key of spec.split(",")) {
    if (key.length === 1) {
      bytes.push(key.charCodeAt(0));
      continue;
    }
    const lower = key.toLowerCase();
    if (lower.startsWith("ctrl-") && key.length === 6) {
      const c = lower[5];
      if (c >= "a" && c <= "z") {
        bytes.push(c.charCodeAt(0) - 96);
        continue;
      }
      if (c in CTRL_SPECIALS) {
        bytes.push(CTRL_SPECIALS[c]);
        continue;
      }
    }
    throw new Error(`Unknown character: '${key}'`);
  }
  return Buffer.from(bytes);
}

/** The daemon's wording for a detach-keys string it cannot read. */
export function invalidDetachKeysMessage(spec: string): string {
  return `Invalid detach keys (${spec}) provided`;
}

/** detachKeyBytes for an API request: an unreadable string is the client's error (400). */
export function parseDetachKeys(spec: string): Buffer {
  try {
    return detachKeyBytes(spec);
  } catch {
    throw new InvalidParameterError(invalidDetachKeysMessage(spec));
  }
}

/**
 * Passes input through, holding back bytes while they could be the start of the sequence.
 * A completed sequence is swallowed and reported; a broken prefix is released as typed.
 */
export class DetachKeyFilter {
  private matched = 0;

  constructor(private readonly keys: Buffer) {}

  /** `data` is what to forward; after `detached` nothing more should be read. */
  push(chunk: Buffer): { data: Buffer; detached: boolean } {
    if (this.keys.length === 0) return { data: chunk, detached: false };
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) return { data: Buffer.from(out), detached: true };
        continue;
      }
      // Release the held prefix, then see whether this byte starts a new attempt.
      for (let i = 0; i < this.matched; i++) out.push(this.keys[i]);
      this.matched = 0;
      if (byte === this.keys[0]) {
        this.matched = 1;
        if (this.keys.length === 1) return { data: Buffer.from(out), detached: true };
      } else out.push(byte);
    }
    return { data: Buffer.from(out), detached: false };
  }
}
