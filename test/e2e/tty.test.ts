import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { DOCKER, type TestDaemon, WHARF, useDaemon } from "../helpers/daemon";
import { type Terminal, openTerminal } from "../helpers/tmux";

/** busybox sh's prompt at the start of a line (capture-pane drops the trailing space). */
const PROMPT = /^\/ #\s*$/m;

/**
 * Interactive containers on a real terminal (tmux): `run -it`, `attach`, `exec -it` through
 * the wharf CLI and the real docker CLI — window size at start and on resize, line editing,
 * Ctrl-C to the foreground process, exit codes, and the detach keys.
 */
describe("TTY: run -it, attach, exec -it on a terminal", () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));
  const terminals: Terminal[] = [];
  after(() => terminals.forEach((t) => t.close()));

  const clients = {
    wharf: (args: string) => `${process.execPath} ${WHARF} -H ${d.host} ${args}`,
    docker: (args: string) => `DOCKER_HOST=${d.host} ${DOCKER} ${args}`,
  };
  const open = (command: string, width = 90, height = 24): Terminal => {
    const t = openTerminal(command, { width, height });
    terminals.push(t);
    return t;
  };
  /** The resize travels client → daemon → conmon or runc → pty asynchronously: ask until it shows. */
  const sizeShows = async (t: Terminal, size: string): Promise<void> => {
    let seen = "";
    for (let i = 0; i < 40 && !seen.includes(size); i++) {
      t.line("clear; stty size");
      await new Promise((r) => setTimeout(r, 100));
      seen = t.screen();
    }
    assert.match(seen, new RegExp(`^${size}$`, "m"), seen);
  };
  const state = async (name: string): Promise<string> =>
    (await d.wharf(["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name])).stdout.trim();

  for (const [client, cmd] of Object.entries(clients)) {
    test(`${client} run -it: size, resize, line editing, Ctrl-C, exit code`, async () => {
      const name = `tty-run-${client}`;
      const t = open(cmd(`run -it --name ${name} busybox sh`));
      await t.waitFor(PROMPT);
      t.line("stty size");
      await t.waitFor(new RegExp(`^${t.paneSize()}$`, "m"));

      t.resize(70, 15);
      const size = t.paneSize();
      assert.notEqual(size, "24 90");
      await t.waitFor(PROMPT);
      await sizeShows(t, size);

      // Line editing happens in the container's terminal: two backspaces drop "zz".
      t.keys("-l", "echo editedzz");
      t.keys("BSpace", "BSpace", "Enter");
      await t.waitFor(/^edited$/m);

      // Ctrl-C reaches the foreground process, not the client or the shell.
      t.line("sleep 60; echo after-sleep-$?");
      await new Promise((r) => setTimeout(r, 300));
      t.keys("C-c");
      await t.waitFor(PROMPT);
      t.line("echo alive");
      await t.waitFor(/^alive$/m);
      assert.doesNotMatch(t.screen(), /after-sleep-0/);

      t.line("exit 5");
      await t.waitFor(/EXIT=5$/m);
      assert.equal(await state(name), "exited 5");
      await d.wharf(["rm", name]);
    });

    test(`${client}: Ctrl-P Ctrl-Q detaches, attach comes back, --detach-keys`, async () => {
      const name = `tty-detach-${client}`;
      const t = open(cmd(`run -it --name ${name} busybox sh`));
      await t.waitFor(PROMPT);
      t.line("echo first-session");
      await t.waitFor(/^first-session$/m);
      // Sent as two writes, as a person types them (docker's own CLI needs that).
      t.keys("C-p");
      t.keys("C-q");
      await t.waitFor(/EXIT=0$/m);
      assert.doesNotMatch(t.screen(), /read escape sequence/);
      assert.equal(await state(name), "running 0");

      const back = open(cmd(`attach --detach-keys=ctrl-x,x ${name}`));
      await new Promise((r) => setTimeout(r, 500));
      back.line("echo second-session");
      await back.waitFor(/^second-session$/m);
      back.keys("C-x");
      back.keys("x");
      await back.waitFor(/read escape sequence/);
      await back.waitFor(/EXIT=1$/m);
      assert.equal(await state(name), "running 0", "a detach leaves the container running");

      // The container's stdin stayed open through both detaches: a third client drives it.
      const last = open(cmd(`attach ${name}`));
      await new Promise((r) => setTimeout(r, 500));
      last.line("exit 3");
      await last.waitFor(/EXIT=3$/m);
      assert.equal(await state(name), "exited 3");
      await d.wharf(["rm", name]);
    });

    test(`${client} exec -it: a terminal of the client's size, resize, exit code`, async () => {
      const name = `tty-exec-${client}`;
      assert.equal((await d.wharf(["run", "-d", "--name", name, "busybox", "sleep", "300"])).code, 0);
      const t = open(cmd(`exec -it ${name} sh`), 80, 20);
      await t.waitFor(PROMPT);
      t.line("tty; stty size");
      await t.waitFor(/^\/dev\/pts\/\d+$/m);
      await t.waitFor(new RegExp(`^${t.paneSize()}$`, "m"));
      t.resize(60, 12);
      const size = t.paneSize();
      await sizeShows(t, size);
      t.line("sleep 60");
      await new Promise((r) => setTimeout(r, 300));
      t.keys("C-c");
      t.line("exit 9");
      await t.waitFor(/EXIT=9$/m);
      assert.equal(await state(name), "running 0");
      await d.wharf(["rm", "-f", name]);
    });
  }

  test("bad detach keys: a clear error from the CLI and the API, nothing created", async () => {
    const before = (await d.wharf(["ps", "-aq"])).stdout;
    const t = open(clients.wharf("run -it --detach-keys=ctrl-xx busybox sh"));
    await t.waitFor(/EXIT=125$/m);
    assert.match(t.screen(), /Invalid detach keys \(ctrl-xx\) provided/);
    assert.equal((await d.wharf(["ps", "-aq"])).stdout, before, "no container was created");

    assert.equal((await d.wharf(["run", "-d", "-it", "--name", "tty-keys", "busybox", "sh"])).code, 0);
    const bad = await d.api("POST", "/containers/tty-keys/attach?stream=1&stdin=1&detachKeys=nope");
    assert.equal(bad.status, 400);
    assert.equal(bad.json<{ message: string }>().message, "Invalid detach keys (nope) provided");
    const execBad = await d.api("POST", "/containers/tty-keys/exec", { Cmd: ["true"], DetachKeys: "ctrl-" });
    assert.equal(execBad.status, 400);
    await d.wharf(["rm", "-f", "tty-keys"]);
  });

  test("resize: Docker's errors for bad sizes and stopped containers; a resize event", async () => {
    assert.equal((await d.wharf(["run", "-d", "-t", "--name", "tty-resize", "busybox", "sh", "-c", "trap 'stty size' WINCH; while true; do sleep 0.1; done"])).code, 0);
    const missing = await d.api("POST", "/containers/tty-resize/resize?w=80");
    assert.equal(missing.status, 400);
    assert.match(missing.json<{ message: string }>().message, /invalid syntax/);
    const ok = await d.api("POST", "/containers/tty-resize/resize?h=33&w=111");
    assert.equal(ok.status, 200);
    const logs = async (): Promise<string> => (await d.wharf(["logs", "tty-resize"])).stdout;
    for (let i = 0; i < 50 && !(await logs()).includes("33 111"); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(await logs(), /33 111/, "the process saw SIGWINCH and the new size");
    const events = await d.wharf(["events", "--since", "0", "--until", String(Math.ceil(Date.now() / 1000) + 1), "--filter", "event=resize", "--format", "{{.Actor.Attributes.height}}x{{.Actor.Attributes.width}}"]);
    assert.match(events.stdout, /33x111/);
    await d.wharf(["stop", "-t", "0", "tty-resize"]);
    const stopped = await d.api("POST", "/containers/tty-resize/resize?h=10&w=10");
    assert.equal(stopped.status, 409);
    assert.match(stopped.json<{ message: string }>().message, /is not running/);
    await d.wharf(["rm", "tty-resize"]);
  });

  test("ConsoleSize alone sizes the pty (no resize call), for a container and for an exec", async () => {
    const created = await d.api("POST", "/containers/create?name=tty-console", { Image: "busybox", Cmd: ["sh", "-c", "stty size; sleep 300"], Tty: true, HostConfig: { ConsoleSize: [33, 111] } });
    assert.equal(created.status, 201, created.body);
    assert.equal((await d.api("POST", "/containers/tty-console/start")).status, 204);
    let logs = "";
    for (let i = 0; i < 50 && !logs.includes("33 111"); i++) {
      await new Promise((r) => setTimeout(r, 100));
      logs = (await d.wharf(["logs", "tty-console"])).stdout;
    }
    assert.match(logs, /^33 111\r?$/m);
    const exec = await d.api("POST", "/containers/tty-console/exec", { Cmd: ["stty", "size"], Tty: true, AttachStdout: true, ConsoleSize: [21, 77] });
    const { Id } = exec.json<{ Id: string }>();
    const started = await d.api("POST", `/exec/${Id}/start`, { Detach: false, Tty: true });
    assert.equal(started.status, 200);
    assert.equal(started.body, "21 77\r\n");
    await d.wharf(["rm", "-f", "tty-console"]);
  });

  test("exec -t without -i: raw terminal output (CRLF), no stream framing", async () => {
    assert.equal((await d.wharf(["run", "-d", "--name", "tty-raw", "busybox", "sleep", "300"])).code, 0);
    const r = await d.wharf(["exec", "-t", "tty-raw", "sh", "-c", "tty; echo out; echo err >&2; exit 4"]);
    assert.equal(r.code, 4);
    assert.match(r.stdout, /^\/dev\/pts\/\d+\r\nout\r\nerr\r\n$/);
    assert.equal(r.stderr, "");
    const docker = await d.docker(["exec", "-t", "tty-raw", "sh", "-c", "echo via-docker"]);
    assert.equal(docker.code, 0, docker.stderr);
    assert.equal(docker.stdout, "via-docker\r\n");
    await d.wharf(["rm", "-f", "tty-raw"]);
  });
});
