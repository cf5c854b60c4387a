import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { logSettings } from "../../src/engine/containers/log-config";
import { readLog, type LogEntry, type ReadLogOptions } from "../../src/runtime/logfile";
import { logFiles, shiftLogFiles } from "../../src/runtime/log-rotation";

const T = (s: number): string => `2024-01-02T03:04:${String(s).padStart(2, "0")}.000000000+00:00`;
const line = (s: number, text: string, tag = "F"): string => `${T(s)} stdout ${tag} ${text}\n`;

const dirs: string[] = [];
function logDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-logrot-"));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function read(file: string, opts: Partial<ReadLogOptions> = {}): Promise<string> {
  let out = "";
  for await (const e of readLog(file, { follow: false, stdout: true, stderr: true, ...opts }) as AsyncGenerator<LogEntry>) out += e.data.toString();
  return out;
}

describe("log options (Docker's json-file rules)", () => {
  it("accepts the file drivers and none, with max-size in decimal units", () => {
    assert.deepEqual(logSettings(undefined), { file: true, maxSize: undefined, maxFile: 1 });
    assert.deepEqual(logSettings({ Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } }), { file: true, maxSize: 10_000_000, maxFile: 3 });
    assert.deepEqual(logSettings({ Type: "local", Config: { "max-size": "1k" } }), { file: true, maxSize: 1000, maxFile: 1 });
    assert.deepEqual(logSettings({ Type: "none", Config: { anything: "x" } }), { file: false, maxFile: 1 });
  });

  it("refuses unknown drivers, unknown options and bad values with Docker's messages", () => {
    assert.throws(() => logSettings({ Type: "syslog" }), /logger: no log driver named 'syslog' is registered/);
    assert.throws(() => logSettings({ Type: "json-file", Config: { x: "1" } }), /unknown log opt 'x' for json-file log driver/);
    assert.throws(() => logSettings({ Type: "local", Config: { tag: "1" } }), /unknown log opt 'tag' for local log driver/);
    assert.throws(() => logSettings({ Config: { "max-size": "lots" } }), /failed to initialize logging driver: invalid size: 'lots'/);
    assert.throws(() => logSettings({ Config: { "max-size": "0" } }), /max-size must be a positive number/);
    assert.throws(() => logSettings({ Config: { "max-file": "two" } }), /failed to initialize logging driver: strconv.Atoi: parsing "two": invalid syntax/);
    assert.throws(() => logSettings({ Config: { "max-file": "0" } }), /max-file cannot be less than 1/);
  });
});

describe("rotated log files", () => {
  it("shifts files, keeping at most max-file of them, and lists them oldest first", async () => {
    const dir = logDir();
    const log = path.join(dir, "container.log");
    for (let round = 1; round <= 4; round++) {
      fs.writeFileSync(log, line(round, `round ${round}`));
      await shiftLogFiles(log, 3);
    }
    fs.writeFileSync(log, line(5, "round 5"));
    assert.deepEqual(await logFiles(log), [`${log}.2`, `${log}.1`, log]);
    assert.equal(await read(log), "round 3\nround 4\nround 5\n");
    assert.equal(await read(log, { tail: 2 }), "round 4\nround 5\n");
    assert.equal(await read(log, { tail: 10 }), "round 3\nround 4\nround 5\n");
  });

  it("a message split across a rotation is read whole; tail reaches into older files", async () => {
    const dir = logDir();
    const log = path.join(dir, "container.log");
    fs.writeFileSync(`${log}.1`, line(1, "one") + line(2, "two") + line(3, "par", "P"));
    fs.writeFileSync(log, line(3, "tial") + line(4, "four"));
    assert.equal(await read(log), "one\ntwo\npartial\nfour\n");
    assert.equal(await read(log, { tail: 3 }), "two\npartial\nfour\n");
    assert.equal(await read(log, { tail: 1 }), "four\n");
  });

  it("a follow goes on into the new file after a rotation", async () => {
    const dir = logDir();
    const log = path.join(dir, "container.log");
    fs.writeFileSync(log, line(1, "a"));
    let stop!: () => void;
    const stopWhen = new Promise<void>((resolve) => (stop = resolve));
    const got: string[] = [];
    const reading = (async () => {
      for await (const e of readLog(log, { follow: true, stdout: true, stderr: true, stopWhen })) got.push(e.data.toString());
    })();
    await new Promise((r) => setTimeout(r, 200));
    // As the rotator does: rename, the writer keeps writing into the renamed file, then reopens.
    await shiftLogFiles(log, 2);
    fs.appendFileSync(`${log}.1`, line(2, "b"));
    fs.writeFileSync(log, line(3, "c"));
    await new Promise((r) => setTimeout(r, 1500));
    fs.appendFileSync(log, line(4, "d"));
    await new Promise((r) => setTimeout(r, 300));
    stop();
    await reading;
    assert.deepEqual(got, ["a\n", "b\n", "c\n", "d\n"]);
  });
});
