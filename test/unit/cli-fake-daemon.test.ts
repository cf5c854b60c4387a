/**
 * The CLI against a small fake Engine API on a unix socket: the run flow (create, hijacked
 * attach, wait registered before start, stdin half-close, exit status), errors and exit
 * codes, multi-name commands. The real daemon is exercised by test/e2e/cli-*.test.ts.
 */
import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import type { Socket } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough, Writable } from "node:stream";
import { runCli } from "../../src/cli/main";
import { frame } from "../../src/lib/stdcopy";

interface FakeContainer {
  id: string;
  name: string;
  body: { Cmd?: string[]; Image: string; HostConfig?: { AutoRemove?: boolean }; OpenStdin?: boolean; Tty?: boolean };
  state: "created" | "running" | "exited";
  attach?: Socket;
  waiters: Array<(code: number) => void>;
}

const API = "1.45";
const events: string[] = [];
const containers = new Map<string, FakeContainer>();
let counter = 0;
let socketPath = "";
let server: http.Server;

function send(res: http.ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
}

function find(ref: string): FakeContainer | undefined {
  for (const c of containers.values()) if (c.id === ref || c.id.startsWith(ref) || c.name === ref) return c;
  return undefined;
}

function exit(c: FakeContainer, code: number): void {
  c.state = "exited";
  c.attach?.end();
  for (const w of c.waiters.splice(0)) w(code);
  if (c.body.HostConfig?.AutoRemove) containers.delete(c.id);
}

/** What each fake command does once started. */
function runProcess(c: FakeContainer): void {
  const cmd = c.body.Cmd ?? ["sh"];
  const out = (stream: number, text: string): void => {
    if (!c.attach) return;
    c.attach.write(c.body.Tty ? Buffer.from(text) : frame(stream, Buffer.from(text)));
  };
  if (cmd[0] === "echo") {
    out(1, `${cmd.slice(1).join(" ")}\n`);
    setTimeout(() => exit(c, 0), 5);
  } else if (cmd[0] === "sh" && cmd[1] === "-c" && /^exit \d+$/.test(cmd[2] ?? "")) {
    setTimeout(() => exit(c, Number(cmd[2].split(" ")[1])), 5);
  } else if (cmd[0] === "warn") {
    out(2, "to stderr\n");
    out(1, "to stdout\n");
    setTimeout(() => exit(c, 1), 5);
  } else if (cmd[0] === "cat") {
    const sock = c.attach;
    if (!sock) return exit(c, 0);
    sock.on("data", (d: Buffer) => out(1, d.toString()));
    // The client half-closed: stdin is at EOF, so cat ends.
    sock.on("end", () => exit(c, 0));
  } else if (cmd[0] === "sleep") {
    // runs until stopped
  } else {
    exit(c, 0);
  }
}

function handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
  const url = new URL(req.url ?? "/", "http://x");
  let p = url.pathname;
  if (p === "/_ping") {
    res.writeHead(200, { "API-Version": API, "Content-Type": "text/plain" }).end("OK");
    return;
  }
  const versioned = /^\/v(\d+\.\d+)(\/.*)$/.exec(p);
  if (!versioned) return send(res, 400, { message: `unversioned path ${p}` });
  events.push(`${req.method} ${versioned[2]}${url.search}`);
  p = versioned[2];
  let m: RegExpExecArray | null;

  if (req.method === "POST" && p === "/containers/create") {
    const spec = JSON.parse(body.toString()) as FakeContainer["body"];
    if (spec.Image.startsWith("missing")) return send(res, 404, { message: `No such image: ${spec.Image}:latest` });
    const id = (++counter).toString(16).padStart(64, "c");
    const name = url.searchParams.get("name") ?? `fake_${counter}`;
    containers.set(id, { id, name, body: spec, state: "created", waiters: [] });
    return send(res, 201, { Id: id, Warnings: [] });
  }
  if (req.method === "POST" && p === "/images/create") {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.write(JSON.stringify({ status: "Pulling from library/missing", id: "latest" }) + "\r\n");
    res.end(JSON.stringify({ errorDetail: { message: "pull access denied for missing" }, error: "pull access denied for missing" }) + "\r\n");
    return;
  }
  if (req.method === "GET" && p === "/containers/json") {
    const all = url.searchParams.get("all") === "1";
    const list = [...containers.values()]
      .filter((c) => all || c.state === "running")
      .map((c) => ({
        Id: c.id,
        Names: [`/${c.name}`],
        Image: c.body.Image,
        ImageID: "sha256:" + "b".repeat(64),
        Command: (c.body.Cmd ?? ["sh"]).join(" "),
        Created: Math.floor(Date.now() / 1000) - 5,
        Ports: [],
        Labels: {},
        State: c.state,
        Status: c.state === "running" ? "Up 4 seconds" : "Exited (0) 1 second ago",
      }));
    return send(res, 200, list);
  }
  if ((m = /^\/containers\/([^/]+)(\/[a-z]+)?$/.exec(p))) {
    const c = find(decodeURIComponent(m[1]));
    if (!c) return send(res, 404, { message: `No such container: ${decodeURIComponent(m[1])}` });
    const action = m[2] ?? "";
    if (req.method === "POST" && action === "/wait") {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.flushHeaders();
      c.waiters.push((code) => res.end(JSON.stringify({ StatusCode: code, Error: null })));
      if (c.state === "exited" && url.searchParams.get("condition") !== "next-exit") exit(c, 0);
      return;
    }
    if (req.method === "POST" && action === "/start") {
      if ((c.body.Cmd ?? [])[0] === "nosuchcmd") {
        return send(res, 400, {
          message: 'failed to create task for container: exec: "nosuchcmd": executable file not found in $PATH: unknown',
        });
      }
      if (c.state === "running") return send(res, 304);
      c.state = "running";
      send(res, 204);
      runProcess(c);
      return;
    }
    if (req.method === "POST" && (action === "/stop" || action === "/kill")) {
      if (c.state === "running") exit(c, 137);
      return send(res, 204);
    }
    if (req.method === "DELETE" && action === "") {
      if (c.state === "running" && url.searchParams.get("force") !== "1") {
        return send(res, 409, { message: `cannot remove container "/${c.name}": container is running: stop the container before removing or force remove` });
      }
      containers.delete(c.id);
      return send(res, 204);
    }
    if (req.method === "GET" && action === "/json") {
      return send(res, 200, { Id: c.id, Name: `/${c.name}`, Config: { Tty: !!c.body.Tty, OpenStdin: !!c.body.OpenStdin }, HostConfig: c.body.HostConfig ?? {} });
    }
  }
  send(res, 404, { message: `page not found: ${req.method} ${p}` });
}

before(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-cli-fake-"));
  socketPath = path.join(dir, "api.sock");
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (d: Buffer) => chunks.push(d));
    req.on("end", () => handle(req, res, Buffer.concat(chunks)));
  });
  server.on("upgrade", (req: http.IncomingMessage, socket: Socket) => {
    const url = new URL(req.url ?? "/", "http://x");
    events.push(`UPGRADE ${url.pathname.replace(/^\/v[\d.]+/, "")}${url.search}`);
    const m = /\/containers\/([^/]+)\/attach$/.exec(url.pathname);
    const c = m ? find(decodeURIComponent(m[1])) : undefined;
    if (!c) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 33\r\n\r\n{"message":"No such container: x"}');
      return;
    }
    socket.write("HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
    c.attach = socket;
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
});

after(() => {
  server.close();
  server.closeAllConnections();
  fs.rmSync(path.dirname(socketPath), { recursive: true, force: true });
});

class Collect extends Writable {
  text = "";
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

async function wharf(args: string[], input = ""): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdin = new PassThrough();
  stdin.end(input);
  const stdout = new Collect();
  const stderr = new Collect();
  const code = await runCli(["-H", `unix://${socketPath}`, ...args], { stdin, stdout, stderr, env: {} });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

test("run prints the container's output and exits 0", async () => {
  events.length = 0;
  const r = await wharf(["run", "--rm", "busybox", "echo", "hello"]);
  assert.deepEqual(r, { code: 0, stdout: "hello\n", stderr: "" });
  const create = events.findIndex((e) => e.startsWith("POST /containers/create"));
  const attach = events.findIndex((e) => e.startsWith("UPGRADE /containers/"));
  const wait = events.findIndex((e) => e.includes("/wait?condition=removed"));
  const start = events.findIndex((e) => e.endsWith("/start"));
  assert.ok(create >= 0 && create < attach && attach < wait && wait < start, events.join("\n"));
  assert.match(events[attach], /attach\?stream=1&stdin=0&stdout=1&stderr=1/);
});

test("run exits with the container's status; stdout and stderr stay apart", async () => {
  assert.equal((await wharf(["run", "busybox", "sh", "-c", "exit 3"])).code, 3);
  const r = await wharf(["run", "busybox", "warn"]);
  assert.deepEqual(r, { code: 1, stdout: "to stdout\n", stderr: "to stderr\n" });
  assert.ok(events.some((e) => e.includes("/wait?condition=next-exit")));
});

test("run -i pipes stdin and half-closes it at EOF", async () => {
  const r = await wharf(["run", "-i", "--rm", "busybox", "cat"], "data\nmore data\n");
  assert.equal(r.code, 0);
  assert.equal(r.stdout, "data\nmore data\n");
});

test("run -d prints the full id and does not wait", async () => {
  const r = await wharf(["run", "-d", "--name", "sleeper", "busybox", "sleep", "100"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
  assert.equal(find("sleeper")?.state, "running");
});

test("stop/rm take several names, print each success and each error", async () => {
  await wharf(["run", "-d", "--name", "two", "busybox", "sleep", "100"]);
  const stop = await wharf(["stop", "sleeper", "nope", "two"]);
  assert.equal(stop.code, 1);
  assert.equal(stop.stdout, "sleeper\ntwo\n");
  assert.equal(stop.stderr, "Error response from daemon: No such container: nope\n");
  const rm = await wharf(["rm", "sleeper", "two"]);
  assert.deepEqual(rm, { code: 0, stdout: "sleeper\ntwo\n", stderr: "" });
  const again = await wharf(["rm", "-f", "sleeper"]);
  assert.deepEqual(again, { code: 0, stdout: "", stderr: "Error response from daemon: No such container: sleeper\n" });
});

test("run with --pull never on a missing image: docker's message, exit 125", async () => {
  const r = await wharf(["run", "--pull", "never", "missing"]);
  assert.equal(r.code, 125);
  assert.equal(r.stdout, "");
  assert.equal(
    r.stderr,
    "wharf: Error response from daemon: No such image: missing:latest\n\nRun 'wharf run --help' for more information\n",
  );
});

test("run pulls a missing image and reports the pull's error", async () => {
  const r = await wharf(["run", "missing"]);
  assert.equal(r.code, 125);
  assert.equal(
    r.stderr,
    "Unable to find image 'missing:latest' locally\nlatest: Pulling from library/missing\n" +
      "wharf: pull access denied for missing\n\nRun 'wharf run --help' for more information\n",
  );
  assert.ok(events.some((e) => e === "POST /images/create?fromImage=docker.io%2Flibrary%2Fmissing&tag=latest"));
});

test("-d with -a is refused plainly", async () => {
  assert.deepEqual(await wharf(["run", "-d", "-a", "stdout", "busybox"]), {
    code: 1,
    stdout: "",
    stderr: "conflicting options: cannot specify both --attach and --detach\n",
  });
});

test("a command that cannot be found exits 127", async () => {
  const r = await wharf(["run", "busybox", "nosuchcmd"]);
  assert.equal(r.code, 127);
  assert.match(
    r.stderr,
    /^wharf: Error response from daemon: failed to create task .*executable file not found in \$PATH: unknown\n\nRun 'wharf run --help' for more information\n$/,
  );
});

test("flag errors: docker's text and exit 125", async () => {
  const r = await wharf(["run", "-m", "12xyz", "busybox"]);
  assert.equal(r.code, 125);
  assert.equal(
    r.stderr,
    'invalid argument "12xyz" for "-m, --memory" flag: invalid suffix: \'xyz\'\n\n' +
      "Usage:  wharf run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'wharf run --help' for more information\n",
  );
  const unknown = await wharf(["ps", "--foo"]);
  assert.deepEqual(unknown, {
    code: 125,
    stdout: "",
    stderr: "unknown flag: --foo\n\nUsage:  wharf ps [OPTIONS]\n\nRun 'wharf ps --help' for more information\n",
  });
  const group = await wharf(["container", "ls", "-x"]);
  assert.equal(
    group.stderr,
    "unknown shorthand flag: 'x' in -x\n\nUsage:  wharf container ls [OPTIONS]\n\nRun 'wharf container ls --help' for more information\n",
  );
  const needs = await wharf(["logs", "--tail"]);
  assert.deepEqual(needs, {
    code: 125,
    stdout: "",
    stderr: "flag needs an argument: --tail\n\nUsage:  wharf logs [OPTIONS] CONTAINER\n\nRun 'wharf logs --help' for more information\n",
  });
  const help = await wharf(["ps", "--help=x"]);
  assert.deepEqual(help, {
    code: 125,
    stdout: "",
    stderr:
      'invalid argument "x" for "--help" flag: strconv.ParseBool: parsing "x": invalid syntax\n\n' +
      "Usage:  wharf ps [OPTIONS]\n\nRun 'wharf ps --help' for more information\n",
  });
});

test("flag errors before the command and on a group name", async () => {
  assert.deepEqual(await wharf(["--foo", "ps"]), {
    code: 125,
    stdout: "",
    stderr: "unknown flag: --foo\n\nUsage:  wharf [OPTIONS] COMMAND [ARG...]\n\nRun 'wharf --help' for more information\n",
  });
  assert.deepEqual(await wharf(["container", "-x", "ls"]), {
    code: 125,
    stdout: "",
    stderr: "unknown shorthand flag: 'x' in -x\n\nUsage:  wharf container\n\nRun 'wharf container --help' for more information\n",
  });
  const sub = await wharf(["container", "--help", "ls"]);
  assert.equal(sub.code, 0);
  assert.match(sub.stdout, /^Usage:  wharf container ls \[OPTIONS\]\n/);
});

test("argument count errors: docker 28's text for each rule, exit 1", async () => {
  const exact = await wharf(["rename", "a"]);
  assert.deepEqual(exact, {
    code: 1,
    stdout: "",
    stderr:
      "wharf: 'wharf rename' requires 2 arguments\n\nUsage:  wharf rename CONTAINER NEW_NAME\n\n" +
      "Run 'wharf rename --help' for more information\n",
  });
  // docker 28 ends only this one with "See ... for more information".
  assert.deepEqual(await wharf(["run"]), {
    code: 1,
    stdout: "",
    stderr:
      "wharf: 'wharf run' requires at least 1 argument\n\nUsage:  wharf run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n" +
      "See 'wharf run --help' for more information\n",
  });
  assert.equal(
    (await wharf(["container", "rm"])).stderr,
    "wharf: 'wharf container rm' requires at least 1 argument\n\nUsage:  wharf container rm [OPTIONS] CONTAINER [CONTAINER...]\n\n" +
      "See 'wharf container rm --help' for more information\n",
  );
  assert.deepEqual(await wharf(["ps", "a"]), {
    code: 1,
    stdout: "",
    stderr: "wharf: 'wharf ps' accepts no arguments\n\nUsage:  wharf ps [OPTIONS]\n\nRun 'wharf ps --help' for more information\n",
  });
  // docker 28 prints "SRun" here (a typo in its required.go); we print "Run".
  assert.deepEqual(await wharf(["images", "a", "b"]), {
    code: 1,
    stdout: "",
    stderr:
      "wharf: 'wharf images' requires at most 1 argument\n\nUsage:  wharf images [OPTIONS] [REPOSITORY[:TAG]]\n\n" +
      "Run 'wharf images --help' for more information\n",
  });
});

test("unknown commands: docker 28's text, exit 1", async () => {
  assert.deepEqual(await wharf(["frob"]), {
    code: 1,
    stdout: "",
    stderr: "wharf: unknown command: wharf frob\n\nRun 'wharf --help' for more information\n",
  });
  const sub = "wharf: unknown command: wharf container frob\n\nUsage:  wharf container\n\nRun 'wharf container --help' for more information\n";
  assert.deepEqual(await wharf(["container", "frob"]), { code: 1, stdout: "", stderr: sub });
  // docker 28 has no `help` subcommand in a group.
  assert.deepEqual(await wharf(["container", "help"]), { code: 1, stdout: "", stderr: sub.replace(/frob/, "help") });
});

test("help COMMAND: the command's help; unknown topics exit 1", async () => {
  const ps = await wharf(["help", "container", "ls"]);
  assert.equal(ps.code, 0);
  assert.match(ps.stdout, /^Usage:  wharf container ls \[OPTIONS\]\n\nList containers\n/);
  assert.deepEqual(await wharf(["help", "frob", "x"]), { code: 1, stdout: "", stderr: "unknown help topic: frob x\n" });
  assert.deepEqual(await wharf(["help", "container", "frob"]), { code: 1, stdout: "", stderr: "unknown help topic: frob\n" });
  assert.deepEqual(await wharf(["help", "ps", "a"]), { code: 1, stdout: "", stderr: "unknown help topic: a\n" });
  assert.deepEqual(await wharf(["help", "--foo"]), {
    code: 125,
    stdout: "",
    stderr: "unknown flag: --foo\n\nUsage:  wharf help [command]\n\nRun 'wharf help --help' for more information\n",
  });
});

test("help goes to stdout", async () => {
  const r = await wharf(["run", "--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Usage:  wharf run \[OPTIONS\] IMAGE \[COMMAND\] \[ARG\.\.\.\]\n\nCreate and run a new container from an image\n/);
  assert.match(r.stdout, /\n  -m, --memory bytes +Memory limit\n/);
  const sys = await wharf(["system", "--help"]);
  assert.match(sys.stdout, /ping +Check that the daemon answers/);
});

test("system ping prints the daemon's answer", async () => {
  assert.deepEqual(await wharf(["system", "ping"]), { code: 0, stdout: "OK\n", stderr: "" });
});

test("cannot connect: docker's message with our daemon's name, exit 1", async () => {
  const stdout = new Collect();
  const stderr = new Collect();
  const code = await runCli(["-H", "unix:///nonexistent/wharf.sock", "ps"], {
    stdin: new PassThrough(),
    stdout,
    stderr,
    env: {},
  });
  assert.equal(code, 1);
  assert.equal(stderr.text, "Cannot connect to the wharf daemon at unix:///nonexistent/wharf.sock. Is the wharf daemon running?\n");
});

test("the host comes from -H, then WHARF_HOST, then DOCKER_HOST", async () => {
  const { resolveHost, DEFAULT_HOST } = await import("../../src/cli/main");
  assert.equal(resolveHost([], {}), DEFAULT_HOST);
  assert.equal(resolveHost([], { DOCKER_HOST: "unix:///d.sock" }), "unix:///d.sock");
  assert.equal(resolveHost([], { DOCKER_HOST: "unix:///d.sock", WHARF_HOST: "unix:///w.sock" }), "unix:///w.sock");
  assert.equal(resolveHost(["unix:///h.sock"], { WHARF_HOST: "unix:///w.sock" }), "unix:///h.sock");
});
