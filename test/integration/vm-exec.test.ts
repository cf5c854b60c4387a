import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkGuestTerminal, VM_TIMEOUT, vmSkip } from "../helpers/vm";
import { ensureBusybox, startDaemon, succeeded, type TestDaemon, WHARF } from "../helpers/daemon";
import { openTerminal } from "../helpers/tmux";

/**
 * `exec` into a `--runtime vm` container: the runtime's `exec` relays the process through the
 * shim to the guest agent, which starts it in the container's root beside the first process.
 * A real private wharfd, conmon, virtiofsd and qemu (TCG here).
 */

const skip = vmSkip;

/** Where the test daemon's container cgroups are (--cgroup-parent /wharf-test), v1 or v2. */
function memoryCgroup(id: string): string {
  const v2 = fs.existsSync("/sys/fs/cgroup/cgroup.controllers");
  return path.join("/sys/fs/cgroup", v2 ? "" : "memory", "wharf-test", id);
}

describe("vm runtime: exec", { skip, concurrency: false }, () => {
  let d: TestDaemon;
  before(async () => {
    d = await startDaemon();
    await ensureBusybox(d);
    // Right after `run -d` the guest may still boot: the first exec waits for its agent.
    succeeded(await d.wharf(["run", "-d", "--name", "vm-exec", "--runtime", "vm", "-e", "FROM_RUN=yes", "busybox", "sleep", "600"], { timeoutMs: VM_TIMEOUT }));
  });
  after(async () => {
    await d?.wharf(["rm", "-f", "vm-exec"], { timeoutMs: VM_TIMEOUT });
    await d?.stop();
  });

  const exec = (args: string[], input?: string) => d.wharf(["exec", ...(input !== undefined ? ["-i"] : []), ...args], { timeoutMs: VM_TIMEOUT, input });

  it("gives the exit code, stdout and stderr apart, the container's env plus -e, -u and -w", async () => {
    const r = await exec(["-e", "FROM_EXEC=also", "-u", "1000:1000", "-w", "/tmp", "vm-exec", "sh", "-c", "echo $FROM_RUN $FROM_EXEC; id -u; id -g; pwd; echo to-stderr >&2; exit 7"]);
    assert.equal(r.code, 7, r.stderr);
    assert.equal(r.stdout, "yes also\n1000\n1000\n/tmp\n");
    assert.equal(r.stderr, "to-stderr\n");
  });

  it("-i passes stdin to its end", async () => {
    const r = await exec(["vm-exec", "sh", "-c", "tr a-z A-Z; echo end"], "hello from stdin\n");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "HELLO FROM STDIN\nend\n");
  });

  it("runs in the same guest as the container's process, -d leaves it running, -t gives it a terminal", async () => {
    const ps = succeeded(await exec(["vm-exec", "ps", "-o", "pid,args"]));
    assert.match(ps, /sleep 600/, "the container's process is beside it");
    succeeded(await exec(["-d", "vm-exec", "sh", "-c", "echo detached > /tmp/mark"]));
    let mark = "";
    for (let i = 0; i < 50 && mark !== "detached\n"; i++) {
      mark = (await exec(["vm-exec", "cat", "/tmp/mark"])).stdout;
      if (mark !== "detached\n") await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(mark, "detached\n");
    const t = await exec(["-t", "vm-exec", "sh", "-c", "tty; exit 4"]);
    assert.equal(t.code, 4);
    assert.match(t.stdout, /^\/dev\/pts\/\d+\r\n$/, "one CR per newline: the guest's pty, not two");
  });

  it("exec -it: typing, the terminal's size and its resize, Ctrl-C, exit code", async () => {
    const t = openTerminal(`${process.execPath} ${WHARF} -H ${d.host} exec -it vm-exec sh`, { width: 90, height: 24 });
    try {
      await t.waitFor(/^\/ #\s*$/m, VM_TIMEOUT);
      t.line("stty size");
      await t.waitFor(new RegExp(`^${t.paneSize()}$`, "m"));
      await checkGuestTerminal(t, 5);
    } finally {
      t.close();
    }
  });

  it("a command that does not exist exits 127 with Docker's words; many execs at once keep their output apart", async () => {
    // As with runc: no process started, so the error is the start's, in Docker's words.
    const r = await d.docker(["exec", "vm-exec", "no-such-command"], { timeoutMs: VM_TIMEOUT });
    assert.equal(r.code, 127);
    assert.match(r.stdout, /OCI runtime exec failed: exec failed: unable to start container process: exec: "no-such-command": executable file not found in \$PATH: unknown/);
    const results = await Promise.all([1, 2, 3].map((n) => exec(["vm-exec", "sh", "-c", `for i in 1 2 3; do echo exec-${n}-$i; done; exit ${n}`])));
    results.forEach((res, i) => {
      assert.equal(res.code, i + 1);
      assert.equal(res.stdout, [1, 2, 3].map((k) => `exec-${i + 1}-${k}\n`).join(""));
    });
  });

  it("stats and top show the VM's host side (its cgroup); update is refused in words", async () => {
    const id = succeeded(await d.wharf(["inspect", "--format", "{{.Id}}", "vm-exec"])).trim();
    const stats = succeeded(await d.wharf(["stats", "--no-stream", "--format", "{{.MemUsage}}|{{.PIDs}}", "vm-exec"])).trim();
    const [mem, pids] = stats.split("|");
    assert.match(mem, /^[\d.]+MiB \//, `qemu's memory, guest RAM included, is counted: ${stats}`);
    assert.ok(Number(pids) >= 3, `shim, qemu and virtiofsd threads: ${stats}`);
    const top = succeeded(await d.wharf(["top", "vm-exec"]));
    assert.match(top, /qemu-system-x86_64/);
    assert.match(top, /wharf-vm-shim/);
    const update = await d.wharf(["update", "--cpus", "1", "vm-exec"]);
    assert.notEqual(update.code, 0);
    assert.match(update.stderr, /update is not supported by the vm runtime/);
    assert.ok(fs.existsSync(memoryCgroup(id)), "the VM runs in the container's cgroup");
  });

  it("the docker CLI execs too, and exec into a stopped container is Docker's error", async () => {
    const r = await d.docker(["exec", "vm-exec", "sh", "-c", "echo via-docker; exit 3"], { timeoutMs: VM_TIMEOUT });
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, "via-docker\n");
    succeeded(await d.wharf(["run", "--name", "vm-exec-stopped", "--runtime", "vm", "--network", "none", "busybox", "true"], { timeoutMs: VM_TIMEOUT }));
    try {
      const id = succeeded(await d.wharf(["inspect", "--format", "{{.Id}}", "vm-exec-stopped"])).trim();
      const stopped = await d.docker(["exec", "vm-exec-stopped", "true"]);
      assert.notEqual(stopped.code, 0);
      assert.match(stopped.stderr, new RegExp(`Error response from daemon: container ${id} is not running`));
    } finally {
      succeeded(await d.wharf(["rm", "-f", "vm-exec-stopped"], { timeoutMs: VM_TIMEOUT }));
    }
  });

  it("rm takes the VM's cgroup with it", async () => {
    const id = succeeded(await d.wharf(["inspect", "--format", "{{.Id}}", "vm-exec"])).trim();
    succeeded(await d.wharf(["rm", "-f", "vm-exec"], { timeoutMs: VM_TIMEOUT }));
    assert.equal(fs.existsSync(memoryCgroup(id)), false);
  });
});
