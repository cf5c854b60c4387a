import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { type TestDaemon, useDaemon } from "../helpers/daemon";

interface Inspect {
  Id: string;
  LogPath: string;
  State: { Running: boolean; ExitCode: number };
  HostConfig: { LogConfig: { Type: string; Config: Record<string, string> } };
}

async function inspect(d: TestDaemon, name: string): Promise<Inspect> {
  const res = await d.api("GET", `/containers/${name}/json`);
  assert.equal(res.status, 200, res.body);
  return res.json<Inspect>();
}

async function waitExit(d: TestDaemon, name: string): Promise<void> {
  const res = await d.wharf(["wait", name], { timeoutMs: 60000 });
  assert.equal(res.code, 0, res.stderr);
}

function logFilesOf(logPath: string): string[] {
  const dir = path.dirname(logPath);
  const base = path.basename(logPath);
  return fs.readdirSync(dir).filter((n) => n === base || /^\d+$/.test(n.slice(base.length + 1)) && n.startsWith(`${base}.`)).sort();
}

describe("container logs: drivers, rotation, restarts", () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));

  test("max-size/max-file rotate the log; logs reads the rotated files in order", async () => {
    // 3000 numbered lines of ~100 bytes (~450 kB with conmon's prefixes) against 50 kB files.
    const script = 'i=1; while [ $i -le 3000 ]; do printf "line %05d %090d\\n" $i 0; i=$((i+1)); [ $((i % 100)) -eq 0 ] && usleep 20000; done';
    const run = await d.wharf(["run", "-d", "--name", "rot", "--log-opt", "max-size=50k", "--log-opt", "max-file=3", "busybox", "sh", "-c", script]);
    assert.equal(run.code, 0, run.stderr);
    await waitExit(d, "rot");
    const info = await inspect(d, "rot");
    assert.deepEqual(info.HostConfig.LogConfig, { Type: "k8s-file", Config: { "max-file": "3", "max-size": "50k" } });
    const files = logFilesOf(info.LogPath);
    assert.ok(files.length >= 2 && files.length <= 3, `files: ${files.join(",")}`);
    const logs = await d.wharf(["logs", "rot"]);
    assert.equal(logs.code, 0, logs.stderr);
    const lines = logs.stdout.trimEnd().split("\n");
    const numbers = lines.map((l) => Number(/^line (\d{5}) /.exec(l)?.[1]));
    assert.ok(numbers.every((n) => Number.isInteger(n)), "every line is a whole message");
    // What is kept is the end of the output, in order, without gaps.
    assert.equal(numbers[numbers.length - 1], 3000);
    for (let i = 1; i < numbers.length; i++) assert.equal(numbers[i], numbers[i - 1] + 1, `gap after ${numbers[i - 1]}`);
    assert.ok(numbers[0] > 1, "the oldest output was rotated away");
    const tail = await d.wharf(["logs", "--tail", "5", "rot"]);
    assert.deepEqual(tail.stdout.trimEnd().split("\n").map((l) => l.slice(0, 10)), ["line 02996", "line 02997", "line 02998", "line 02999", "line 03000"]);
    // A tail larger than the current file reaches into the rotated ones.
    const bigTail = await d.wharf(["logs", "--tail", String(numbers.length - 2), "rot"]);
    assert.equal(bigTail.stdout.trimEnd().split("\n").length, numbers.length - 2);
    assert.equal(bigTail.stdout.split("\n")[0].slice(0, 10), `line ${String(numbers[2]).padStart(5, "0")}`);
    await d.wharf(["rm", "rot"]);
  });

  test("logs -f follows across rotations", async () => {
    const script = 'sleep 1; i=1; while [ $i -le 1500 ]; do printf "f %05d %090d\\n" $i 0; i=$((i+1)); [ $((i % 50)) -eq 0 ] && usleep 20000; done';
    const run = await d.docker(["run", "-d", "--name", "follow", "--log-driver", "json-file", "--log-opt", "max-size=20k", "--log-opt", "max-file=5", "busybox", "sh", "-c", script]);
    assert.equal(run.code, 0, run.stderr);
    const followed = await d.docker(["logs", "-f", "follow"], { timeoutMs: 60000 });
    assert.equal(followed.code, 0, followed.stderr);
    const numbers = followed.stdout.trimEnd().split("\n").map((l) => Number(l.slice(2, 7)));
    const missing = Array.from({ length: 1500 }, (_, i) => i + 1).filter((n) => !numbers.includes(n));
    assert.equal(numbers.length, 1500, `followed ${numbers.length} lines, missing ${missing.slice(0, 5).join(",")}…${missing.slice(-3).join(",")}`);
    for (let i = 0; i < numbers.length; i++) assert.equal(numbers[i], i + 1);
    const info = await inspect(d, "follow");
    assert.equal(info.HostConfig.LogConfig.Type, "json-file");
    assert.ok(logFilesOf(info.LogPath).length <= 5);
    await d.docker(["rm", "follow"]);
  });

  test("--log-driver none keeps no log file; logs gives Docker's error", async () => {
    const run = await d.docker(["run", "--name", "nolog", "--log-driver", "none", "busybox", "echo", "hello"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "hello\n", "attached output still arrives");
    const info = await inspect(d, "nolog");
    assert.equal(info.HostConfig.LogConfig.Type, "none");
    assert.equal(fs.existsSync(info.LogPath), false);
    for (const cli of [d.docker.bind(d), d.wharf.bind(d)]) {
      const logs = await cli(["logs", "nolog"]);
      assert.notEqual(logs.code, 0);
      assert.match(logs.stderr, /configured logging driver does not support reading/);
    }
    await d.docker(["rm", "nolog"]);
  });

  test("bad drivers and options get Docker's errors and create nothing", async () => {
    const before = (await d.api("GET", "/containers/json?all=1")).json<unknown[]>().length;
    const cases: Array<[string[], RegExp]> = [
      [["--log-driver", "nosuch"], /logger: no log driver named 'nosuch' is registered/],
      [["--log-opt", "x=1"], /unknown log opt 'x' for k8s-file log driver/],
      [["--log-driver", "json-file", "--log-opt", "x=1"], /unknown log opt 'x' for json-file log driver/],
      [["--log-opt", "max-size=abc"], /failed to initialize logging driver: invalid size: 'abc'/],
      [["--log-opt", "max-size=1m", "--log-opt", "max-file=0"], /failed to initialize logging driver: max-file cannot be less than 1/],
    ];
    for (const [flags, message] of cases) {
      for (const cli of [d.docker.bind(d), d.wharf.bind(d)]) {
        const res = await cli(["create", ...flags, "busybox", "true"]);
        assert.notEqual(res.code, 0, flags.join(" "));
        assert.match(res.stderr, message);
      }
    }
    assert.equal((await d.api("GET", "/containers/json?all=1")).json<unknown[]>().length, before);
  });

  test("logs of running and exited containers are readable after a daemon restart, and rotation resumes", async () => {
    assert.equal((await d.wharf(["run", "--name", "done", "busybox", "echo", "before restart"])).code, 0);
    const script = 'i=0; while true; do i=$((i+1)); printf "r %06d %090d\\n" $i 0; usleep 2000; done';
    assert.equal((await d.wharf(["run", "-d", "--name", "chatty", "--log-opt", "max-size=30k", "--log-opt", "max-file=2", "busybox", "sh", "-c", script])).code, 0);
    await new Promise((r) => setTimeout(r, 1000));
    await d.crashAndRestart();
    assert.equal((await d.wharf(["logs", "done"])).stdout, "before restart\n");
    await new Promise((r) => setTimeout(r, 2500));
    const info = await inspect(d, "chatty");
    assert.equal(info.State.Running, true);
    const files = logFilesOf(info.LogPath);
    assert.ok(files.length <= 2, `files: ${files.join(",")}`);
    for (const f of files) assert.ok(fs.statSync(path.join(path.dirname(info.LogPath), f)).size < 200_000, `${f} keeps being rotated`);
    const logs = await d.wharf(["logs", "--tail", "20", "chatty"]);
    const numbers = logs.stdout.trimEnd().split("\n").map((l) => Number(l.slice(2, 8)));
    assert.equal(numbers.length, 20);
    for (let i = 1; i < numbers.length; i++) assert.equal(numbers[i], numbers[i - 1] + 1);
    assert.equal((await d.wharf(["rm", "-f", "chatty", "done"])).code, 0);
  });
});
