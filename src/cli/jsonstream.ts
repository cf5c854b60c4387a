/**
 * Shows the daemon's JSON message streams (pull, import, load) as docker's jsonmessage does:
 * on a terminal each id (a layer) keeps one line that is redrawn in place; elsewhere
 * progress-bar updates are skipped and other messages become lines.
 */
import type { Readable, Writable } from "node:stream";
import { jsonValues } from "./api-client";

export interface JsonMessage {
  stream?: string;
  status?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  id?: string;
  from?: string;
  error?: string;
  errorDetail?: { message?: string; code?: number };
  aux?: unknown;
}

/** An error reported inside the stream; printed as its bare message. */
export class JsonMessageError extends Error {}

/** The text docker prints for one message, or undefined when it prints nothing. */
export function renderJsonMessage(jm: JsonMessage): string | undefined {
  const detail = jm.progressDetail;
  if (detail && ((detail.current ?? 0) > 0 || (detail.total ?? 0) > 0)) return undefined;
  if (jm.stream === undefined && jm.status === undefined && jm.progress === undefined) return undefined;
  let out = "";
  if (jm.id) out += `${jm.id}: `;
  if (jm.from) out += `(from ${jm.from}) `;
  if (jm.progress) out += `${jm.status ?? ""} ${jm.progress}\n`;
  else if (jm.stream !== undefined && jm.stream !== "") out += jm.stream;
  else out += `${jm.status ?? ""}\n`;
  return out;
}

/**
 * Writes every message of `source` to `out`; rejects with the first error message.
 * `onAux` receives `aux` payloads (the image id of a build or import, say).
 */
export async function displayJsonMessages(
  source: Readable,
  out: (Writable & { isTTY?: boolean }) | undefined,
  onAux?: (aux: unknown) => void,
): Promise<void> {
  const terminal = out?.isTTY ? new TerminalLines(out) : undefined;
  for await (const value of jsonValues(source)) {
    const jm = value as JsonMessage;
    if (jm.error || jm.errorDetail?.message) {
      throw new JsonMessageError(jm.errorDetail?.message || jm.error || "unknown error");
    }
    if (jm.aux !== undefined) {
      onAux?.(jm.aux);
      continue;
    }
    if (terminal) {
      terminal.show(jm);
      continue;
    }
    const text = renderJsonMessage(jm);
    if (text !== undefined && out) out.write(text);
  }
}

/** One line per id, rewritten where it stands (cursor up, clear line), as docker does on a terminal. */
class TerminalLines {
  private readonly lines = new Map<string, number>();
  private count = 0;

  constructor(private readonly out: Writable) {}

  show(jm: JsonMessage): void {
    if (jm.stream === undefined && jm.status === undefined && jm.progress === undefined) return;
    let text = "";
    if (jm.id) text += `${jm.id}: `;
    text += jm.progress ? `${jm.status ?? ""} ${jm.progress}` : (jm.stream ?? jm.status ?? "");
    text = text.replace(/\n$/, "");
    const line = jm.id ? this.lines.get(jm.id) : undefined;
    if (line === undefined) {
      if (jm.id) this.lines.set(jm.id, this.count);
      this.count++;
      this.out.write(`\x1b[2K\r${text}\n`);
      return;
    }
    const up = this.count - line;
    this.out.write(`\x1b[${up}A\x1b[2K\r${text}\r\x1b[${up}B`);
  }
}
