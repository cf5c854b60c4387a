import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import { dirname } from "node:path";
import { logFiles } from "./log-rotation";

/**
 * Reader for conmon's k8s-file logs. Each record is one line:
 *
 *   2024-01-02T03:04:05.123456789+00:00 stdout F hello\n
 *
 * `F` ends a line (the line's own "\n" is the record terminator); `P` is a piece of a line
 * that had no newline yet (conmon read a chunk without one, or the line was longer than its
 * buffer) and conmon appended a "\n" that is not part of the output. Consecutive P records of
 * a stream are joined with the F that ends them into one message; a trailing P run (output
 * that never got its newline) is emitted without a newline.
 */

export type LogStream = "stdout" | "stderr";

export interface LogEntry {
  stream: LogStream;
  /** RFC3339 with nanoseconds, in UTC ("...Z"), of the message's first record. */
  time: string;
  data: Buffer;
}

export interface ReadLogOptions {
  follow: boolean;
  /** Unix seconds (fractions allowed): only messages at or after. */
  since?: number;
  /** Unix seconds: only messages at or before; a follow ends once this time has passed. */
  until?: number;
  /** Last N messages of the selected streams (counted before since/until, as Docker does); -1 or undefined = all. */
  tail?: number;
  stdout: boolean;
  stderr: boolean;
  signal?: AbortSignal;
  /** Resolves when the container has exited: what is left in the file is read, then the reader ends. */
  stopWhen?: Promise<void>;
}

export interface LogRecord {
  stream: LogStream;
  /** Normalised UTC time. */
  time: string;
  /** Unix time in nanoseconds, for since/until. */
  ns: bigint;
  partial: boolean;
  /** Output bytes of this record (F: including its newline; P: without conmon's added one). */
  data: Buffer;
}

const NL = 0x0a;
const SP = 0x20;
const CHUNK = 64 * 1024;
const POLL_MS = 1000;

const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Parses an RFC3339 time (any offset) into UTC text with 9 fraction digits and unix time in
 * nanoseconds (a bigint: a double cannot tell nanoseconds apart at today's epoch).
 */
export function parseLogTime(text: string): { time: string; ns: bigint } | null {
  const m = TIME_RE.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac = "", zone] = m;
  let offset = 0;
  if (zone !== "Z") {
    const sign = zone[0] === "-" ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    offset = sign * (Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2)) * 60);
  }
  const wholeMs = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s) - offset * 1000;
  if (Number.isNaN(wholeMs)) return null;
  const nanos = frac.padEnd(9, "0");
  const iso = new Date(wholeMs).toISOString(); // "YYYY-MM-DDTHH:MM:SS.000Z"
  return { time: `${iso.slice(0, 19)}.${nanos}Z`, ns: BigInt(wholeMs / 1000) * 1_000_000_000n + BigInt(nanos) };
}

/** Unix seconds (fractional) -> nanoseconds; the fraction is as precise as the double allows. */
function toNs(seconds: number): bigint {
  const whole = Math.floor(seconds);
  return BigInt(whole) * 1_000_000_000n + BigInt(Math.round((seconds - whole) * 1e9));
}

/** Parses one record (without its terminating "\n"); null for a line that is not one. */
export function parseLogLine(line: Buffer): LogRecord | null {
  const sp1 = line.indexOf(SP);
  if (sp1 <= 0) return null;
  const sp2 = line.indexOf(SP, sp1 + 1);
  if (sp2 < 0) return null;
  const stream = line.toString("latin1", sp1 + 1, sp2);
  if (stream !== "stdout" && stream !== "stderr") return null;
  const t = parseLogTime(line.toString("latin1", 0, sp1));
  if (!t) return null;
  let partial = false;
  let start = sp2 + 1;
  // The tag is "P" or "F" followed by a space (or the end, for an empty P record).
  const tag = line[start];
  if ((tag === 0x50 || tag === 0x46) && (line.length === start + 1 || line[start + 1] === SP)) {
    partial = tag === 0x50;
    start = Math.min(start + 2, line.length);
  }
  const content = line.subarray(start);
  const data = partial ? Buffer.from(content) : Buffer.concat([content, Buffer.from("\n")]);
  return { stream, time: t.time, ns: t.ns, partial, data };
}

/** Joins P records with the F that ends them, per stream. */
class MessageAssembler {
  private pending = new Map<LogStream, { time: string; ns: bigint; parts: Buffer[] }>();

  push(rec: LogRecord): (LogEntry & { ns: bigint }) | null {
    let p = this.pending.get(rec.stream);
    if (!p) {
      p = { time: rec.time, ns: rec.ns, parts: [] };
      this.pending.set(rec.stream, p);
    }
    p.parts.push(rec.data);
    if (rec.partial) return null;
    this.pending.delete(rec.stream);
    return { stream: rec.stream, time: p.time, ns: p.ns, data: Buffer.concat(p.parts) };
  }

  /** Messages that never got their newline, oldest first. */
  flush(): Array<LogEntry & { ns: bigint }> {
    const out = [...this.pending.entries()].map(([stream, p]) => ({
      stream,
      time: p.time,
      ns: p.ns,
      data: Buffer.concat(p.parts),
    }));
    this.pending.clear();
    return out.sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0));
  }
}

/** Reads whole lines from a position onwards; keeps an incomplete last line for the next call. */
/** Bytes read per readAvailable call: output starts flowing before a large log is read through. */
const BATCH_BYTES = 4 * 1024 * 1024;

class LineReader {
  private carry: Buffer = Buffer.alloc(0);
  /** Whether the last read reached the end of what the file holds now. */
  eof = false;
  constructor(
    readonly fh: fsp.FileHandle,
    public position: number,
  ) {}

  /** Complete lines available now (without their "\n"). */
  async readAvailable(): Promise<Buffer[]> {
    const lines: Buffer[] = [];
    const buf = Buffer.allocUnsafe(CHUNK);
    this.eof = false;
    for (let batch = 0; ; ) {
      if (batch >= BATCH_BYTES) return lines;
      const { bytesRead } = await this.fh.read(buf, 0, CHUNK, this.position);
      batch += bytesRead;
      if (bytesRead === 0) break;
      this.position += bytesRead;
      let data = Buffer.concat([this.carry, buf.subarray(0, bytesRead)]);
      let start = 0;
      for (let nl = data.indexOf(NL); nl >= 0; nl = data.indexOf(NL, start)) {
        lines.push(Buffer.from(data.subarray(start, nl)));
        start = nl + 1;
      }
      data = data.subarray(start);
      this.carry = Buffer.from(data);
      if (bytesRead < CHUNK) break;
    }
    this.eof = true;
    return lines;
  }
}

/**
 * The byte offset where reading must start so that the last `n` messages of the selected
 * streams are complete, found by reading backwards in chunks (never the whole file).
 */
export async function tailOffset(fh: fsp.FileHandle, size: number, n: number, selected: Set<LogStream>): Promise<number> {
  if (n <= 0) return size;
  let count = 0;
  // Streams with counted messages whose start (the previous F of that stream) is still unknown.
  const unresolved = new Set<LogStream>();
  const seenAny = new Set<LogStream>();
  let cut = Infinity;
  let counting = true;

  /** Looks at one record, last to first; true when the cut is known. */
  const visit = (line: Buffer, endOffset: number): boolean => {
    const rec = parseLogLine(line);
    if (!rec || !selected.has(rec.stream)) return false;
    const s = rec.stream;
    if (counting) {
      if (!rec.partial) {
        count++;
        unresolved.add(s);
      } else if (!seenAny.has(s)) {
        count++; // a trailing run of P's (no newline yet) is one message
        unresolved.add(s);
      }
      seenAny.add(s);
      if (count >= n) counting = false;
      return false;
    }
    // Each counted stream's oldest counted message starts right after its previous F.
    if (!rec.partial && unresolved.has(s)) {
      unresolved.delete(s);
      cut = Math.min(cut, endOffset);
      return unresolved.size === 0;
    }
    return false;
  };

  let pos = size;
  let carry: Buffer = Buffer.alloc(0); // the start of the file's data not yet split into lines
  // The file's last line may lack its "\n" while conmon writes it: it is not a record yet.
  let skipTrailing = true;
  const buf = Buffer.allocUnsafe(CHUNK);
  while (pos > 0) {
    const len = Math.min(CHUNK, pos);
    const base = pos - len; // file offset of data[0]
    await fh.read(buf, 0, len, base);
    const data = Buffer.concat([buf.subarray(0, len), carry]);
    pos = base;
    let end = data.length; // data[end - 1] is the "\n" ending the line to visit next
    if (skipTrailing) {
      const nl = data.lastIndexOf(NL);
      if (nl < 0) {
        carry = data;
        continue;
      }
      end = nl + 1;
      skipTrailing = false;
    }
    for (;;) {
      const prev = end >= 2 ? data.lastIndexOf(NL, end - 2) : -1;
      if (prev < 0) break; // this line may begin in the previous chunk
      if (visit(data.subarray(prev + 1, end - 1), base + end)) return cut;
      end = prev + 1;
    }
    carry = Buffer.from(data.subarray(0, end));
  }
  if (!skipTrailing && carry.length > 0 && visit(carry.subarray(0, carry.length - 1), carry.length)) return cut;
  // Reached the beginning: fewer than n messages, or some message starts at byte 0.
  return counting || unresolved.size > 0 ? 0 : cut;
}

function waitForChange(
  watcher: fs.FSWatcher | null,
  signal: AbortSignal | undefined,
  wake: { fn: (() => void) | null },
): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      watcher?.off("change", done);
      signal?.removeEventListener("abort", done);
      wake.fn = null;
      resolve();
    };
    const timer = setTimeout(done, POLL_MS);
    watcher?.on("change", done);
    signal?.addEventListener("abort", done);
    wake.fn = done;
  });
}

async function openLog(path: string): Promise<fsp.FileHandle | null> {
  try {
    return await fsp.open(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

interface OpenFile {
  fh: fsp.FileHandle;
  ino: number;
}

/** Opens every file of the log at once (oldest first), so a rotation meanwhile cannot skip one. */
async function openAll(path: string): Promise<OpenFile[]> {
  const out: OpenFile[] = [];
  for (const file of await logFiles(path)) {
    const fh = await openLog(file);
    if (fh) out.push({ fh, ino: (await fh.stat()).ino });
  }
  return out;
}

/**
 * The file that follows the one with inode `ino` after rotations: the next one in the order
 * `path.N … path.1, path`, or the oldest when that file is gone (several rotations at once).
 */
async function nextFile(path: string, ino: number): Promise<OpenFile | null> {
  const files = await logFiles(path);
  const inodes = await Promise.all(files.map((f) => fsp.stat(f).then((st) => st.ino, () => -1)));
  const at = inodes.indexOf(ino);
  for (const file of at >= 0 ? files.slice(at + 1) : files) {
    const fh = await openLog(file);
    if (fh) return { fh, ino: (await fh.stat()).ino };
  }
  return null;
}

/**
 * Messages of a conmon k8s-file log and its rotated files (`path.N … path.1`, oldest first, see
 * log-rotation.ts); see ReadLogOptions. A follow goes on across rotations: the file being read
 * is finished once `path` is a new file (conmon has reopened), then the next one is read.
 */
export async function* readLog(path: string, opts: ReadLogOptions): AsyncGenerator<LogEntry> {
  const selected = new Set<LogStream>();
  if (opts.stdout) selected.add("stdout");
  if (opts.stderr) selected.add("stderr");
  if (selected.size === 0) return;

  let stopping = false;
  const wake: { fn: (() => void) | null } = { fn: null };
  void opts.stopWhen?.then(() => {
    stopping = true;
    wake.fn?.();
  });
  const aborted = (): boolean => opts.signal?.aborted === true;
  const sinceNs = opts.since === undefined ? undefined : toNs(opts.since);
  const untilNs = opts.until === undefined ? undefined : toNs(opts.until);
  const pastUntil = (): boolean => opts.until !== undefined && Date.now() / 1000 > opts.until;
  const inWindow = (ns: bigint): boolean => (sinceNs === undefined || ns >= sinceNs) && (untilNs === undefined || ns <= untilNs);

  let files = await openAll(path);
  while (files.length === 0) {
    if (!opts.follow || stopping || aborted()) return;
    await waitForChange(null, opts.signal, wake);
    files = await openAll(path);
  }

  let watcher: fs.FSWatcher | null = null;
  let current: OpenFile | null = null;
  // Opened files not read yet (closed in `finally` when the reader ends early).
  let queue: OpenFile[] = files;
  try {
    const tail = opts.tail ?? -1;
    // With a tail, files older than the newest one that holds `tail` messages are not read.
    let first = 0;
    let startOffset = 0;
    if (tail >= 0) {
      first = files.length - 1;
      startOffset = (await files[first].fh.stat()).size;
      for (let i = files.length - 1; i >= 0; i--) {
        first = i;
        startOffset = await tailOffset(files[i].fh, (await files[i].fh.stat()).size, tail, selected);
        if (startOffset > 0) break;
      }
    }
    queue = files.slice(first);
    for (const f of files.slice(0, first)) await f.fh.close();
    current = queue.shift() ?? null;
    if (!current) return;
    let reader = new LineReader(current.fh, startOffset);
    const assembler = new MessageAssembler();

    // Files before the last one are complete: read through them.
    const ring: LogEntry[] = [];
    const keep = (e: LogEntry & { ns: bigint }): void => {
      if (!inWindow(e.ns)) return;
      ring.push({ stream: e.stream, time: e.time, data: e.data });
      if (ring.length > 2 * tail + 64) ring.splice(0, ring.length - tail);
    };
    for (;;) {
      do {
        for (const line of await reader.readAvailable()) {
          const rec = parseLogLine(line);
          if (!rec || !selected.has(rec.stream)) continue;
          const msg = assembler.push(rec);
          if (!msg) continue;
          if (tail >= 0) keep(msg);
          else {
            if (untilNs !== undefined && msg.ns > untilNs) return;
            if (inWindow(msg.ns)) yield { stream: msg.stream, time: msg.time, data: msg.data };
            if (aborted()) return;
          }
        }
      } while (!reader.eof && queue.length > 0);
      const next = queue.shift();
      if (!next) break;
      await current.fh.close();
      current = next;
      reader = new LineReader(current.fh, 0);
    }

    // The tail region is read in one go and only its last `tail` messages are kept.
    if (tail >= 0) {
      do {
        for (const line of await reader.readAvailable()) {
          const rec = parseLogLine(line);
          if (!rec || !selected.has(rec.stream)) continue;
          const msg = assembler.push(rec);
          if (msg) keep(msg);
        }
      } while (!reader.eof);
      if (!opts.follow) for (const m of assembler.flush()) keep(m);
      for (const e of ring.slice(Math.max(0, ring.length - tail))) yield e;
      if (!opts.follow) return;
    }

    // The directory, not the file: a rotation renames the file, and the new one must wake us too.
    const watch = (): fs.FSWatcher | null => {
      try {
        const w = fs.watch(dirname(path), { persistent: false });
        w.on("error", () => undefined); // the poll keeps working without it
        return w;
      } catch {
        return null;
      }
    };
    if (opts.follow) watcher = watch();

    // Set when `path` became another file: conmon reopened, so ours gets no more writes.
    let rotated = false;
    for (;;) {
      if (aborted()) return;
      const finalPass = stopping || !opts.follow || pastUntil();
      for (const line of await reader.readAvailable()) {
        const rec = parseLogLine(line);
        if (!rec || !selected.has(rec.stream)) continue;
        const msg = assembler.push(rec);
        if (!msg) continue;
        if (untilNs !== undefined && msg.ns > untilNs) return;
        if (inWindow(msg.ns)) yield { stream: msg.stream, time: msg.time, data: msg.data };
        if (aborted()) return;
      }
      if (!reader.eof) continue; // more is already in the file: no need to wait
      if (rotated) {
        // Ours is read to its end: go on with the file that followed it.
        rotated = false;
        const next = await nextFile(path, current.ino);
        if (next) {
          await current.fh.close();
          current = next;
          reader = new LineReader(current.fh, 0);
          continue;
        }
      }
      if (finalPass) {
        const now = await fsp.stat(path).catch(() => null);
        if (!now || now.ino === current.ino) break;
        rotated = true; // a rotation just before the end: read the rest first
        continue;
      }
      if (stopping || aborted()) continue; // stopWhen fired while reading: drain now
      await waitForChange(watcher, opts.signal, wake);
      const after = await fsp.stat(path).catch(() => null);
      if (after && after.ino === current.ino && after.size < reader.position) reader = new LineReader(current.fh, 0); // truncated in place
      else if (after && after.ino !== current.ino) rotated = true;
    }
    for (const m of assembler.flush()) {
      if (inWindow(m.ns)) yield { stream: m.stream, time: m.time, data: m.data };
    }
  } finally {
    watcher?.close();
    for (const f of [current, ...queue]) await f?.fh.close().catch(() => undefined);
  }
}
