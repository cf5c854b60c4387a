import { formatFloat } from "../lib/units";

/** One message of Docker's JSON progress stream (pull, push). */
export interface ProgressMessage {
  status: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
}

export type ProgressSink = (message: ProgressMessage) => void;

/** go-units' HumanSize (decimal units, four significant digits), as Docker's progress bars print sizes. */
function humanSize4(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB"];
  let size = bytes;
  let i = 0;
  while (size >= 1000 && i < units.length - 1) {
    size /= 1000;
    i++;
  }
  return `${formatFloat(size, "g", 4)}${units[i]}`;
}

/** Docker's progress text for the daemon's stream: a 50-wide bar and "current/total". */
export function progressBar(current: number, total: number): string {
  if (total <= 0) return humanSize4(current).padStart(8);
  const filled = Math.min(50, Math.floor((Math.floor((current / total) * 100) / 2)));
  return `[${"=".repeat(filled)}>${" ".repeat(Math.max(0, 50 - filled))}] ${humanSize4(current).padStart(8)}/${humanSize4(total)}`;
}

/** A progress update for one layer, sent at most every `intervalMs` (and always at the end). */
export class LayerProgress {
  private last = 0;

  constructor(
    private readonly sink: ProgressSink,
    private readonly id: string,
    private readonly status: "Downloading" | "Extracting" | "Pushing" | "Loading layer",
    private readonly total: number,
    private readonly intervalMs = 100,
  ) {}

  update(current: number): void {
    const now = Date.now();
    if (current < this.total && now - this.last < this.intervalMs) return;
    this.last = now;
    this.sink({ status: this.status, id: this.id, progressDetail: { current, total: this.total }, progress: progressBar(current, this.total) });
  }
}
