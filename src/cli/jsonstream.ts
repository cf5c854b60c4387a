/**
 * Shows the daemon's JSON message streams (pull, import, load) as docker's jsonmessage
 * does for a non-terminal: progress-bar updates are skipped, other messages become lines.
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
  out: Writable | undefined,
  onAux?: (aux: unknown) => void,
): Promise<void> {
  for await (const value of jsonValues(source)) {
    const jm = value as JsonMessage;
    if (jm.error || jm.errorDetail?.message) {
      throw new JsonMessageError(jm.errorDetail?.message || jm.error || "unknown error");
    }
    if (jm.aux !== undefined) {
      onAux?.(jm.aux);
      continue;
    }
    const text = renderJsonMessage(jm);
    if (text !== undefined && out) out.write(text);
  }
}
