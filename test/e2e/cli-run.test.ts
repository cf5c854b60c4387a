/**
 * `wharf` against a real private wharfd: run and the container verbs, output and exit
 * statuses as docker gives them. Every command is bounded by timeoutMs.
 */
import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { ensureBusybox, ROOT, run, startDaemon, TestDaemon } from "../helpers/daemon";
import { until } from "../helpers/wait";

let d: TestDaemon;
const T = { timeoutMs: 60_000 };

before(async () => {
  d = await startDaemon();
  await ensureBusybox(d);
});

after(async () => {
  await d?.stop();
});


test("run echo hello", async () => {
  const r = await d.wharf(["run", "--rm", "busybox", "echo", "hello"], T);
  assert.deepEqual(r, { code: 0, stdout: "hello\n", stderr: "" });
});

test("run exits with the container's status", async () => {
  const r = await d.wharf(["run", "--rm", "busybox", "sh", "-c", "exit 3"], T);
  assert.equal(r.code, 3);
});

test("stdout and stderr stay apart", async () => {
  const r = await d.wharf(["run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2"], T);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, "out\n");
  assert.equal(r.stderr, "err\n");
});

test("run -i pipes stdin to the container", async () => {
  const r = await d.wharf(["run", "-i", "--rm", "busybox", "cat"], { ...T, input: "data\nmore\n" });
  assert.deepEqual(r, { code: 0, stdout: "data\nmore\n", stderr: "" });
});

test("run -i with an empty stdin ends", async () => {
  // stdin ends before the container starts: the daemon must still deliver the EOF.
  const r = await d.wharf(["run", "-i", "--rm", "busybox", "wc", "-c"], { timeoutMs: 20_000, input: "" });
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), "0");
});

test("options stop at the image name", async () => {
  const r = await d.wharf(["run", "--rm", "busybox", "sh", "-c", "echo x -d"], T);
  assert.equal(r.stdout, "x -d\n");
});

test("env, workdir, user, hostname reach the container", async () => {
  const r = await d.wharf(
    ["run", "--rm", "-e", "A=1", "-w", "/tmp", "-u", "1:2", "-h", "boxy", "busybox", "sh", "-c", 'echo "$A $(pwd) $(id -u):$(id -g) $(hostname)"'],
    T,
  );
  assert.equal(r.stdout, "1 /tmp 1:2 boxy\n");
});

test("-d, ps, logs, stop, rm", async () => {
  const name = "e2e-web";
  const run = await d.wharf(["run", "-d", "--name", name, "busybox", "sh", "-c", "echo started; exec sleep 60"], T);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^[0-9a-f]{64}\n$/);
  const id = run.stdout.trim();

  const ps = await d.wharf(["ps"], T);
  assert.equal(ps.code, 0);
  const [header, ...lines] = ps.stdout.trimEnd().split("\n");
  assert.match(header, /^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$/);
  const line = lines.find((l) => l.startsWith(id.slice(0, 12)));
  assert.ok(line, ps.stdout);
  // moby quotes arguments that contain spaces in Command, then cuts it to 20 characters
  // (docker 28 against wharfd prints exactly this column).
  assert.match(line, /busybox +"sh -c 'echo started…" +.* ago +Up .* +e2e-web$/);

  const quiet = await d.wharf(["ps", "-q", "--no-trunc"], T);
  assert.ok(quiet.stdout.split("\n").includes(id));

  await until("the log line", async () => (await d.wharf(["logs", name], T)).stdout === "started\n");

  const stop = await d.wharf(["stop", "-t", "1", name], T);
  assert.deepEqual(stop, { code: 0, stdout: `${name}\n`, stderr: "" });
  const status = await d.wharf(["ps", "-a", "--filter", `name=${name}`, "--format", "{{.Status}}"], T);
  assert.match(status.stdout, /^Exited \(\d+\) /);

  const rm = await d.wharf(["rm", name], T);
  assert.deepEqual(rm, { code: 0, stdout: `${name}\n`, stderr: "" });
  const gone = await d.wharf(["ps", "-a", "-q", "--filter", `name=${name}`], T);
  assert.equal(gone.stdout, "");
});

test("names, labels, filters and --format", async () => {
  const created = await d.wharf(["create", "--name", "e2e-lab", "--label", "team=blue", "busybox", "true"], T);
  assert.equal(created.code, 0, created.stderr);
  try {
    const byLabel = await d.wharf(["ps", "-a", "--filter", "label=team=blue", "--format", '{{.Names}} {{.Label "team"}} {{.State}}'], T);
    assert.equal(byLabel.stdout, "e2e-lab blue created\n");
    const table = await d.wharf(["ps", "-a", "--filter", "name=e2e-lab", "--format", "table {{.Names}}\t{{.Image}}"], T);
    assert.match(table.stdout, /^NAMES +IMAGE\ne2e-lab +busybox\n$/);
    const json = await d.wharf(["ps", "-a", "--filter", "name=e2e-lab", "--format", "json"], T);
    assert.equal((JSON.parse(json.stdout) as { Names: string }).Names, "e2e-lab");
    // The same template through the real docker CLI gives the same text.
    const fmt = "{{.ID}} {{.Image}} {{.Command}} {{.Names}} {{.Labels}} {{.State}}";
    const ours = await d.wharf(["ps", "-a", "--filter", "name=e2e-lab", "--format", fmt], T);
    const theirs = await d.docker(["ps", "-a", "--filter", "name=e2e-lab", "--format", fmt], T);
    assert.equal(ours.stdout, theirs.stdout);
    const inspect = await d.wharf(["inspect", "--format", "{{.Name}} {{.Config.Image}}", "e2e-lab"], T);
    assert.equal(inspect.stdout, "/e2e-lab busybox\n");
    const raw = await d.wharf(["container", "inspect", "e2e-lab"], T);
    const parsed = JSON.parse(raw.stdout) as Array<{ Name: string }>;
    assert.equal(parsed[0].Name, "/e2e-lab");
    assert.match(raw.stdout, /^\[\n    \{\n        "/);
    const rename = await d.wharf(["rename", "e2e-lab", "e2e-lab2"], T);
    assert.deepEqual(rename, { code: 0, stdout: "", stderr: "" });
  } finally {
    await d.wharf(["rm", "-f", "e2e-lab", "e2e-lab2"], T);
  }
});

test("start -a and wait report the exit status", async () => {
  await d.wharf(["create", "--name", "e2e-st", "busybox", "sh", "-c", "echo once; exit 5"], T);
  try {
    const r = await d.wharf(["start", "-a", "e2e-st"], T);
    assert.equal(r.code, 5);
    assert.equal(r.stdout, "once\n");
    const w = await d.wharf(["wait", "e2e-st"], T);
    assert.deepEqual(w, { code: 0, stdout: "5\n", stderr: "" });
  } finally {
    await d.wharf(["rm", "-f", "e2e-st"], T);
  }
});

test("several names: each success printed, each error printed, exit 1", async () => {
  await d.wharf(["create", "--name", "e2e-m1", "busybox", "true"], T);
  const r = await d.wharf(["rm", "e2e-m1", "e2e-nosuch"], T);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "e2e-m1\n");
  assert.equal(r.stderr, "Error response from daemon: No such container: e2e-nosuch\n");
});

test("bad flags: cobra's text, exit 125", async () => {
  const mem = await d.wharf(["run", "-m", "12xyz", "busybox"], T);
  assert.equal(mem.code, 125);
  const usage = "\n\nUsage:  wharf run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'wharf run --help' for more information\n";
  assert.equal(mem.stderr, `invalid argument "12xyz" for "-m, --memory" flag: invalid suffix: 'xyz'${usage}`);
  const unknown = await d.wharf(["run", "--bogus", "busybox"], T);
  assert.deepEqual(unknown, { code: 125, stdout: "", stderr: `unknown flag: --bogus${usage}` });
});

test("unknown image with --pull never fails locally", async () => {
  const r = await d.wharf(["run", "--pull", "never", "nosuchimage:1"], T);
  assert.equal(r.code, 125);
  assert.equal(
    r.stderr,
    "wharf: Error response from daemon: No such image: nosuchimage:1\n\nRun 'wharf run --help' for more information\n",
  );
  // docker 28's `create` prints a daemon error plainly and exits 1.
  const c = await d.wharf(["create", "--pull", "never", "nosuchimage:1"], T);
  assert.deepEqual(c, { code: 1, stdout: "", stderr: "Error response from daemon: No such image: nosuchimage:1\n" });
});

test("wrong argument counts: docker 28's text, exit 1", async () => {
  const r = await d.wharf(["create"], T);
  assert.deepEqual(r, {
    code: 1,
    stdout: "",
    stderr:
      "wharf: 'wharf create' requires at least 1 argument\n\nUsage:  wharf create [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n" +
      "See 'wharf create --help' for more information\n",
  });
});

test("a missing command exits 127", async () => {
  const r = await d.wharf(["run", "--rm", "busybox", "nosuchcmd"], T);
  assert.equal(r.code, 127, r.stderr);
  assert.match(
    r.stderr,
    /^wharf: Error response from daemon: .*exec: "nosuchcmd": executable file not found in \$PATH: unknown\n\nRun 'wharf run --help' for more information\n$/,
  );
});

test("cannot connect", async () => {
  // Not through d.wharf, which passes our daemon's -H (and two -H are refused, as by docker).
  const r = await run(process.execPath, [path.join(ROOT, "bin", "wharf"), "-H", "unix:///nonexistent/wharf.sock", "ps"], T);
  assert.deepEqual(r, {
    code: 1,
    stdout: "",
    stderr: "Cannot connect to the wharf daemon at unix:///nonexistent/wharf.sock. Is the wharf daemon running?\n",
  });
});

test("version and system ping", async () => {
  const v = await d.wharf(["version"], T);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /^Client:\n Version: +\S+\n API version: +1\.\d+/);
  assert.match(v.stdout, /\nServer:.*\n Engine:\n  Version: +\S+/);
  const ping = await d.wharf(["system", "ping"], T);
  assert.deepEqual(ping, { code: 0, stdout: "OK\n", stderr: "" });
});
