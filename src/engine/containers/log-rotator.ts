import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { errorMessage } from "../../lib/errors";
import { shiftLogFiles, unshiftLogFile } from "../../runtime/log-rotation";
import type { ContainerRuntime } from "../../runtime/types";
import type { ContainerService } from "./container-service";
import { logSettings } from "./log-config";
import type { ContainerRecord } from "./types";

/** Fallback check interval, for writes the directory watch does not report. */
const POLL_MS = 1000;
/** Writes arrive in bursts: one size check per burst is enough. */
const SETTLE_MS = 25;

interface Watched {
  logPath: string;
  maxSize: number;
  maxFile: number;
  watcher: fs.FSWatcher | null;
  timer: NodeJS.Timeout;
  pending: NodeJS.Timeout | null;
  busy: boolean;
  ended: boolean;
}

/**
 * --log-opt max-size / max-file for running containers.
 *
 * Why the daemon rotates and not conmon: conmon's --log-size-max truncates (it replaces the
 * file with an empty one, losing what the old one held), and its byte counter is not reset by
 * a reopen, so it cannot be combined with our own rotation. Instead the daemon watches each
 * log's size and, past max-size, renames `log` -> `log.1` (shifting older ones, dropping
 * what max-file does not keep) and sends conmon "reopen" on its ctl FIFO. conmon writes into
 * the renamed file until it reopens, so no record is lost or reordered, and the reader
 * (runtime/logfile.ts) reads `log.N … log.1, log` in order. While the daemon is down a log
 * grows past max-size; the first check after the restart rotates it.
 */
export class LogRotator {
  private readonly watched = new Map<string, Watched>();

  constructor(
    private readonly deps: {
      containers: ContainerService;
      runtime: ContainerRuntime;
      log: { warn(obj: object, msg?: string): void };
    },
  ) {
    deps.containers.events.on("start", (record: ContainerRecord) => this.begin(record));
    deps.containers.events.on("die", (record: ContainerRecord) => this.end(record.Id));
    deps.containers.events.on("destroy", (record: ContainerRecord) => this.end(record.Id));
  }

  /** Also called for containers adopted after a daemon restart. */
  begin(record: ContainerRecord): void {
    this.end(record.Id);
    let settings;
    try {
      settings = logSettings(record.HostConfig.LogConfig as Parameters<typeof logSettings>[0]);
    } catch {
      return; // validated at create; a record from an older daemon keeps an unrotated log
    }
    if (!settings.file || settings.maxSize === undefined) return;
    const id = record.Id;
    const w: Watched = {
      logPath: record.LogPath,
      maxSize: settings.maxSize,
      maxFile: settings.maxFile,
      watcher: null,
      timer: setInterval(() => this.check(id, w), POLL_MS),
      pending: null,
      busy: false,
      ended: false,
    };
    w.timer.unref();
    try {
      // The directory, not the file: the watch must survive the file being renamed.
      const base = path.basename(w.logPath);
      w.watcher = fs.watch(path.dirname(w.logPath), { persistent: false }, (_event, name) => {
        if (name === base && !w.pending) {
          w.pending = setTimeout(() => {
            w.pending = null;
            this.check(id, w);
          }, SETTLE_MS);
          w.pending.unref();
        }
      });
      w.watcher.on("error", () => undefined); // the poll keeps working
    } catch {
      w.watcher = null;
    }
    this.watched.set(id, w);
    this.check(id, w);
  }

  end(id: string): void {
    const w = this.watched.get(id);
    if (!w) return;
    w.ended = true;
    clearInterval(w.timer);
    if (w.pending) clearTimeout(w.pending);
    w.watcher?.close();
    this.watched.delete(id);
  }

  close(): void {
    for (const id of [...this.watched.keys()]) this.end(id);
  }

  private check(id: string, w: Watched): void {
    if (w.busy || w.ended) return;
    w.busy = true;
    void this.rotateIfFull(id, w)
      .catch((err: unknown) => this.deps.log.warn({ id, err: errorMessage(err) }, "log rotation failed"))
      .finally(() => {
        w.busy = false;
      });
  }

  private async rotateIfFull(id: string, w: Watched): Promise<void> {
    const st = await fsp.stat(w.logPath).catch(() => null);
    if (!st || st.size < w.maxSize) return;
    await shiftLogFiles(w.logPath, w.maxFile);
    try {
      await this.deps.runtime.reopenLog(id);
    } catch (err) {
      // conmon is gone (the container exited): its last output stays the current file.
      await unshiftLogFile(w.logPath);
      throw err;
    }
    // max-file 1: the old file is not kept (Docker truncates); readers holding it still finish it.
    if (w.maxFile === 1 && (await reappeared(w.logPath))) await fsp.rm(`${w.logPath}.1`, { force: true });
  }
}

/** Whether conmon has opened the new file (it handles the FIFO message asynchronously). */
async function reappeared(file: string): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (fs.existsSync(file)) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return false;
}
