import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseLogLine, parseLogTime, readLog, type LogEntry, type ReadLogOptions } from "../../src/runtime/logfile";

/** Hand-written conmon k8s-file logs. */

const T = (s: number, ns = 0): string => `2024-01-02T03:04:${String(s).padStart(2, "0")}.${String(ns).padStart(9, "0")}+00:00`;
const EPOCH0 = Date.UTC(2024, 0, 2, 3, 4, 0) / 1000;

async function all(file: string, opts: Partial<ReadLogOptions> = {}): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of readLog(file, { follow: false, stdout: true, stderr: true, ...opts })) out.push(e);
  return out;
}

const text = (entries: LogEntry[]): string[] => entries.map((e) => `${e.stream}:${e.data.toString()}`);

describe("k8s-file parsing", () => {
  it("normalises times to UTC with nanoseconds", () => {
    assert.deepEqual(parseLogTime("2024-01-02T05:04:05.123456789+02:00"), {
      time: "2024-01-02T03:04:05.123456789Z",
      ns: BigInt(EPOCH0 + 5) * 1_000_000_000n + 123456789n,
    });
    assert.equal(parseLogTime("2024-01-02T03:04:05.5Z")!.time, "2024-01-02T03:04:05.500000000Z");
    assert.equal(parseLogTime("2024-01-02T03:04:05-01:30")!.time, "2024-01-02T04:34:05.000000000Z");
    assert.equal(parseLogTime("yesterday"), null);
  });

  it("parses F and P records", () => {
    const f = parseLogLine(Buffer.from(`${T(1)} stdout F hello`))!;
    assert.equal(f.data.toString(), "hello\n");
    assert.equal(f.partial, false);
    const p = parseLogLine(Buffer.from(`${T(1)} stderr P par`))!;
    assert.equal(p.data.toString(), "par");
    assert.equal(p.stream, "stderr");
    assert.equal(parseLogLine(Buffer.from(`${T(1)} stdout F `))!.data.toString(), "\n");
    assert.equal(parseLogLine(Buffer.from("garbage")), null);
    assert.equal(parseLogLine(Buffer.from(`${T(1)} stdin F x`)), null);
  });
});

describe("readLog", () => {
  let tmp: string;
  let n = 0;
  const write = (lines: string[]): string => {
    const f = path.join(tmp, `log${n++}`);
    fs.writeFileSync(f, lines.map((l) => l + "\n").join(""));
    return f;
  };

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-log-"));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const basic = (): string =>
    write([
      `${T(1)} stdout F one`,
      `${T(2)} stderr F err one`,
      `${T(3)} stdout P tw`,
      `${T(3, 5)} stderr P e`,
      `${T(4)} stdout F o`,
      `${T(5)} stderr F rr two`,
      `${T(6)} stdout F three`,
      `${T(7)} stdout P no newline`,
    ]);

  it("joins partial lines per stream and keeps a trailing partial without a newline", async () => {
    const e = await all(basic());
    assert.deepEqual(text(e), ["stdout:one\n", "stderr:err one\n", "stdout:two\n", "stderr:err two\n", "stdout:three\n", "stdout:no newline"]);
    assert.equal(e[2].time, "2024-01-02T03:04:03.000000000Z", "a joined message has its first record's time");
  });

  it("filters streams", async () => {
    const f = basic();
    assert.deepEqual(text(await all(f, { stderr: false })), ["stdout:one\n", "stdout:two\n", "stdout:three\n", "stdout:no newline"]);
    assert.deepEqual(text(await all(f, { stdout: false })), ["stderr:err one\n", "stderr:err two\n"]);
    assert.deepEqual(await all(f, { stdout: false, stderr: false }), []);
  });

  it("filters by since and until (inclusive)", async () => {
    const f = basic();
    // A joined message counts from its first record: "two" began at 3, though it ended at 4.
    assert.deepEqual(text(await all(f, { since: EPOCH0 + 3 })), ["stdout:two\n", "stderr:err two\n", "stdout:three\n", "stdout:no newline"]);
    assert.deepEqual(text(await all(f, { since: EPOCH0 + 3.5 })), ["stdout:three\n", "stdout:no newline"]);
    assert.deepEqual(text(await all(f, { until: EPOCH0 + 2 })), ["stdout:one\n", "stderr:err one\n"]);
    assert.deepEqual(text(await all(f, { since: EPOCH0 + 2, until: EPOCH0 + 3 })), ["stderr:err one\n", "stdout:two\n"]);
  });

  it("tails the last N messages, partials and interleaving included", async () => {
    const f = basic();
    assert.deepEqual(text(await all(f, { tail: 1 })), ["stdout:no newline"]);
    assert.deepEqual(text(await all(f, { tail: 3 })), ["stderr:err two\n", "stdout:three\n", "stdout:no newline"]);
    assert.deepEqual(text(await all(f, { tail: 4 })), ["stdout:two\n", "stderr:err two\n", "stdout:three\n", "stdout:no newline"]);
    assert.deepEqual(text(await all(f, { tail: 100 })).length, 6);
    assert.deepEqual(await all(f, { tail: 0 }), []);
    assert.deepEqual(text(await all(f, { tail: 1, stdout: false })), ["stderr:err two\n"]);
    assert.deepEqual(text(await all(f, { tail: -1 })).length, 6);
  });

  it("tails a large file by reading backwards (records across chunk boundaries)", async () => {
    const lines: string[] = [];
    for (let i = 0; i < 20000; i++) {
      if (i % 7 === 0) {
        lines.push(`${T(i % 60)} stdout P part-${i}-`);
        lines.push(`${T(i % 60)} stdout F end-${i}`);
      } else lines.push(`${T(i % 60)} ${i % 3 ? "stdout" : "stderr"} F line ${i} ${"x".repeat(i % 50)}`);
    }
    const f = write(lines);
    assert.ok(fs.statSync(f).size > 1_000_000);
    const tail = await all(f, { tail: 5 });
    const everything = await all(f);
    assert.deepEqual(text(tail), text(everything.slice(-5)));
    assert.equal(everything.length, 20000);
    // Tail of a message with a partial at the window's edge: 19999 % 7 !== 0; find one that is.
    const idx = everything.findIndex((e) => e.data.toString().startsWith("part-19992-"));
    assert.deepEqual(text(await all(f, { tail: everything.length - idx })), text(everything.slice(idx)));
    assert.deepEqual(text(await all(f, { tail: 7, stdout: false })), text(everything.filter((e) => e.stream === "stderr").slice(-7)));
  });

  it("ignores a last line that is still being written", async () => {
    const f = path.join(tmp, "unterminated");
    fs.writeFileSync(f, `${T(1)} stdout F done\n${T(2)} stdout F half-writ`);
    assert.deepEqual(text(await all(f)), ["stdout:done\n"]);
    assert.deepEqual(text(await all(f, { tail: 1 })), ["stdout:done\n"]);
  });

  it("yields nothing for a missing file without follow", async () => {
    assert.deepEqual(await all(path.join(tmp, "missing")), []);
  });

  it("follows appends, completes partials, and ends after stopWhen once drained", async () => {
    const f = write([`${T(1)} stdout F first`]);
    let stop!: () => void;
    const stopWhen = new Promise<void>((r) => (stop = r));
    const seen: string[] = [];
    const reader = (async () => {
      for await (const e of readLog(f, { follow: true, stdout: true, stderr: true, stopWhen })) seen.push(`${e.stream}:${e.data}`);
    })();
    await waitFor(() => seen.length === 1);
    fs.appendFileSync(f, `${T(2)} stderr P par`);
    await new Promise((r) => setTimeout(r, 50));
    fs.appendFileSync(f, `tial\n${T(3)} stderr F !\n`);
    await waitFor(() => seen.length === 2);
    fs.appendFileSync(f, `${T(4)} stdout F last\n${T(5)} stdout P tail`);
    fs.appendFileSync(f, "\n");
    stop();
    await withTimeout(reader, 3000);
    assert.deepEqual(seen, ["stdout:first\n", "stderr:partial!\n", "stdout:last\n", "stdout:tail"]);
  });

  it("follow with tail starts from the last N, then streams new messages", async () => {
    const f = write([`${T(1)} stdout F a`, `${T(2)} stdout F b`, `${T(3)} stdout F c`]);
    const ac = new AbortController();
    const seen: string[] = [];
    const reader = (async () => {
      for await (const e of readLog(f, { follow: true, tail: 1, stdout: true, stderr: true, signal: ac.signal })) seen.push(e.data.toString());
    })();
    await waitFor(() => seen.length === 1);
    fs.appendFileSync(f, `${T(4)} stdout F d\n`);
    await waitFor(() => seen.length === 2);
    ac.abort();
    await withTimeout(reader, 3000);
    assert.deepEqual(seen, ["c\n", "d\n"]);
  });

  it("follow waits for the file to appear", async () => {
    const f = path.join(tmp, "later");
    const ac = new AbortController();
    const seen: string[] = [];
    const reader = (async () => {
      for await (const e of readLog(f, { follow: true, stdout: true, stderr: true, signal: ac.signal })) seen.push(e.data.toString());
    })();
    await new Promise((r) => setTimeout(r, 100));
    fs.writeFileSync(f, `${T(1)} stdout F hi\n`);
    await waitFor(() => seen.length === 1, 5000);
    ac.abort();
    await withTimeout(reader, 3000);
    assert.deepEqual(seen, ["hi\n"]);
  });
});

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p.finally(() => clearTimeout(t)), new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error("timeout")), ms)))]);
}
