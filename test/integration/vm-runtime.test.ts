import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkGuestTerminal, VM_ASSETS, VM_TIMEOUT, vmSkip } from "../helpers/vm";
import { ensureBusybox, startDaemon, succeeded, type TestDaemon, useDaemon, WHARF } from "../helpers/daemon";
import { openTerminal } from "../helpers/tmux";

/**
 * `--runtime vm`: the same busybox image in a qemu guest with its own kernel, through a real
 * private wharfd, conmon, virtiofsd and qemu (TCG here: nested KVM hangs on these machines).
 * A guest boot takes seconds under TCG, so each test runs one or two containers.
 */

const skip = vmSkip;
const GUEST_KERNEL = skip ? "" : path.basename(fs.realpathSync(VM_ASSETS));

/** Processes whose command line mentions `needle` (qemu and virtiofsd of one daemon or container). */
function processesMentioning(needle: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
      if (cmdline.includes(needle) && /qemu-system|virtiofsd|wharf-vm-runtime|wharf-vm-shim|vm\/cli\.js/.test(cmdline)) found.push(`${pid} ${cmdline}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

async function waitExit(d: TestDaemon, name: string): Promise<number> {
  const r = await d.wharf(["wait", name], { timeoutMs: VM_TIMEOUT });
  return Number(succeeded(r).trim());
}

describe("vm runtime", { skip, concurrency: false }, () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));

  const vmRun = (args: string[], input?: string) =>
    d.wharf(["run", "--rm", ...(input !== undefined ? ["-i"] : []), "--runtime", "vm", "busybox", ...args], { timeoutMs: VM_TIMEOUT, input });

  it("info lists vm beside crun and runc and says which accelerator the guests use", async () => {
    const info = JSON.parse(succeeded(await d.wharf(["info", "--format", "{{json .}}"]))) as {
      Runtimes: Record<string, { path: string; status?: Record<string, string> }>;
      DefaultRuntime: string;
    };
    assert.ok(info.Runtimes.runc, "runc is still offered");
    assert.ok(info.Runtimes.vm, "vm is offered");
    const expectedDefault = info.Runtimes.crun ? "crun" : "runc";
    assert.equal(info.DefaultRuntime, expectedDefault);
    assert.match(info.Runtimes.vm.status?.accelerator ?? "", /^(kvm|tcg)$/);
    const text = succeeded(await d.wharf(["info"]));
    assert.match(text, info.Runtimes.crun ? /Runtimes: crun runc vm/ : /Runtimes: runc vm/);
    assert.match(text, /VM Accelerator: (kvm|tcg) \(/);
    // Which guest kernel: the small one when built (scripts/build-vm-kernel.sh), else the cloud one.
    assert.equal(info.Runtimes.vm.status?.["kernel release"], GUEST_KERNEL);
    assert.ok(text.includes(`VM Kernel: ${GUEST_KERNEL} (`), text);
  });

  it("runs the process under the guest's kernel, not the host's, and sees no host process", async () => {
    const out = succeeded(await vmRun(["sh", "-c", "uname -r; echo ---; ps -o pid,comm"]));
    const [release, ps] = out.split("---\n");
    assert.equal(release.trim(), GUEST_KERNEL);
    assert.notEqual(release.trim(), os.release(), "the guest kernel differs from the host's");
    const pids = ps.trim().split("\n").slice(1).map((l) => Number(l.trim().split(/\s+/)[0]));
    assert.ok(pids.length > 0, ps);
    assert.ok(!pids.includes(d.pid), `the daemon's pid ${d.pid} is not visible in the guest`);
    assert.match(ps, /^\s*1 init$/m, "PID 1 is the guest agent");
    // The guest's process table is its own: its pids are all small, the host's daemon is not in it.
    assert.ok(!/wharfd|conmon|qemu/.test(ps), ps);
  });

  it("reports exit codes and keeps the output in the logs", async () => {
    succeeded(await d.wharf(["run", "-d", "--name", "vm-exit", "--runtime", "vm", "busybox", "sh", "-c", "echo to-the-log; echo to-stderr >&2; exit 7"], { timeoutMs: VM_TIMEOUT }));
    assert.equal(await waitExit(d, "vm-exit"), 7);
    const logs = await d.wharf(["logs", "vm-exit"]);
    assert.equal(logs.stdout, "to-the-log\n");
    assert.equal(logs.stderr, "to-stderr\n");
    // Started again, it boots a new VM (the runtime state of the first one is gone).
    succeeded(await d.wharf(["start", "vm-exit"], { timeoutMs: VM_TIMEOUT }));
    assert.equal(await waitExit(d, "vm-exit"), 7);
    assert.equal((await d.wharf(["logs", "vm-exit"])).stdout, "to-the-log\nto-the-log\n");
    succeeded(await d.wharf(["rm", "vm-exit"]));
  });

  it("restart policies boot a new VM for each restart", async () => {
    succeeded(await d.wharf(["run", "-d", "--name", "vm-restart", "--restart", "on-failure:2", "--runtime", "vm", "busybox", "sh", "-c", "echo attempt; exit 1"], { timeoutMs: VM_TIMEOUT }));
    let state = "";
    for (let i = 0; i < 300 && state !== "exited 1 2"; i++) {
      state = succeeded(await d.wharf(["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}", "vm-restart"])).trim();
      if (state !== "exited 1 2") await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(state, "exited 1 2", "exited with 1 after two restarts");
    assert.equal((await d.wharf(["logs", "vm-restart"])).stdout, "attempt\nattempt\nattempt\n");
    succeeded(await d.wharf(["rm", "-f", "vm-restart"], { timeoutMs: VM_TIMEOUT }));
  });

  it("passes env, user, workdir and stdin", async () => {
    const r = await d.wharf(
      ["run", "--rm", "-i", "--runtime", "vm", "-e", "GREETING=hello-vm", "-u", "1000:1000", "-w", "/tmp", "busybox", "sh", "-c", 'echo "$GREETING"; id -u; id -g; pwd; cat'],
      { timeoutMs: VM_TIMEOUT, input: "from-stdin\n" },
    );
    assert.equal(succeeded(r), "hello-vm\n1000\n1000\n/tmp\nfrom-stdin\n");
  });

  it("the docker CLI chooses it with --runtime vm", async () => {
    const r = await d.docker(["run", "--rm", "--runtime", "vm", "--network", "none", "busybox", "uname", "-r"], { timeoutMs: VM_TIMEOUT });
    assert.equal(succeeded(r).trim(), GUEST_KERNEL);
  });

  it("-it gives the guest process a terminal: size, resize, typing, Ctrl-C, exit code", async () => {
    const t = openTerminal(`${process.execPath} ${WHARF} -H ${d.host} run -it --name vm-tty --runtime vm busybox sh`, { width: 90, height: 24 });
    try {
      await t.waitFor(/^\/ #\s*$/m, VM_TIMEOUT);
      t.line("tty; stty size");
      await t.waitFor(new RegExp(`^/dev/pts/0\\s*\\n${t.paneSize()}$`, "m"));
      await checkGuestTerminal(t, 3);
    } finally {
      t.close();
    }
    succeeded(await d.wharf(["rm", "-f", "vm-tty"], { timeoutMs: VM_TIMEOUT }));
  });

  it("a command that does not exist exits 127 with Docker's words", async () => {
    const r = await vmRun(["no-such-command"]);
    assert.equal(r.code, 127);
    assert.match(r.stderr, /executable file not found in \$PATH/);
  });

  it("kill ends the VM with 137 and stop delivers SIGTERM to the guest process", async () => {
    succeeded(await d.wharf(["run", "-d", "--name", "vm-kill", "--runtime", "vm", "busybox", "sleep", "600"], { timeoutMs: VM_TIMEOUT }));
    succeeded(await d.wharf(["run", "-d", "--name", "vm-stop", "--runtime", "vm", "busybox", "sleep", "600"], { timeoutMs: VM_TIMEOUT }));
    succeeded(await d.wharf(["kill", "vm-kill"]));
    assert.equal(await waitExit(d, "vm-kill"), 137);
    // The guest must be up to take the signal: give stop a long grace so SIGTERM (not the
    // fallback SIGKILL) is what ends it. sleep is not PID 1 in the guest, so SIGTERM kills it.
    succeeded(await d.wharf(["stop", "-t", "120", "vm-stop"], { timeoutMs: VM_TIMEOUT }));
    const state = JSON.parse(succeeded(await d.wharf(["inspect", "--format", "{{json .State}}", "vm-stop"]))) as { Running: boolean; ExitCode: number };
    assert.equal(state.Running, false);
    assert.equal(state.ExitCode, 143);
    succeeded(await d.wharf(["rm", "vm-kill", "vm-stop"]));
  });

  it("kernel knobs, sysrq and modules inside reach only the guest's kernel", async () => {
    const knob = "/proc/sys/kernel/printk_ratelimit";
    const hostValue = fs.readFileSync(knob, "utf8").trim();
    const guestValue = String(Number(hostValue) + 17);
    const out = succeeded(
      await vmRun(["sh", "-c", `echo ${guestValue} > ${knob} && cat ${knob} && echo 1 > /proc/sys/kernel/sysrq && echo h > /proc/sysrq-trigger && dmesg | grep -c 'sysrq: HELP'; insmod /no/such/module.ko 2>/dev/null; echo insmod=$?`]),
    );
    const [written, helpLines, insmod] = out.trim().split("\n");
    assert.equal(written, guestValue, "root in the guest may change its own kernel");
    assert.ok(Number(helpLines) >= 1, "the sysrq help went to the guest's kernel log");
    assert.match(insmod, /^insmod=[1-9]/);
    assert.equal(fs.readFileSync(knob, "utf8").trim(), hostValue, "the host's kernel setting is untouched");
  });

  it("refuses options a VM cannot honour, before anything exists", async () => {
    for (const [flags, words] of [
      [["--pid", "host"], /does not support --pid host/],
      [["--network", "host"], /does not support --network host/],
      [["--ipc", "host"], /does not support --ipc host/],
      [["--privileged"], /does not support --privileged/],
      [["--device", "/dev/null"], /does not support --device/],
      [["-m", "8m"], /Minimum memory limit allowed for the vm runtime is 32MB/],
    ] as const) {
      const r = await d.wharf(["create", "--name", "vm-refused", "--runtime", "vm", ...flags, "busybox", "true"]);
      assert.notEqual(r.code, 0, `${flags.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /Error response from daemon: /);
      assert.match(r.stderr, words);
      assert.equal((await d.wharf(["inspect", "vm-refused"])).code, 1, "no container was created");
    }
  });

  it("-m and --cpus shape the guest", async () => {
    const out = succeeded(await vmRun(["sh", "-c", "grep MemTotal /proc/meminfo"])).trim();
    const defaultKb = Number(/MemTotal:\s+(\d+)/.exec(out)?.[1]);
    const shaped = await d.wharf(["run", "--rm", "--runtime", "vm", "-m", "64m", "--cpus", "1.5", "busybox", "sh", "-c", "grep MemTotal /proc/meminfo; grep -c ^processor /proc/cpuinfo"], { timeoutMs: VM_TIMEOUT });
    const [mem, cpus] = succeeded(shaped).trim().split("\n");
    const shapedKb = Number(/MemTotal:\s+(\d+)/.exec(mem)?.[1]);
    assert.ok(shapedKb < defaultKb, `-m 64m gives a smaller guest (${shapedKb} kB) than the default (${defaultKb} kB)`);
    // 64 MiB for the container plus the kernel's fixed share: between the two.
    assert.ok(shapedKb > 64 * 1024 && shapedKb < (64 + 96) * 1024, `${shapedKb} kB`);
    assert.equal(cpus, String(Math.min(2, os.cpus().length)), "--cpus 1.5 rounds up to 2 vCPUs");
  });

  it("keeps running across a daemon crash, pauses, and cp reaches its root filesystem", async () => {
    succeeded(await d.wharf(["run", "-d", "--name", "vm-survivor", "--runtime", "vm", "busybox", "sh", "-c", "echo written-in-the-guest > /tmp/note; echo up; exec sleep 600"], { timeoutMs: VM_TIMEOUT }));
    let logs = "";
    for (let i = 0; i < 300 && !logs.includes("up"); i++) {
      logs = (await d.wharf(["logs", "vm-survivor"])).stdout;
      if (!logs.includes("up")) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(logs, "up\n");
    await d.crashAndRestart();
    const state = JSON.parse(succeeded(await d.wharf(["inspect", "--format", "{{json .State}}", "vm-survivor"]))) as { Running: boolean };
    assert.equal(state.Running, true, "conmon, not the daemon, parents the VM");
    // pause freezes the whole guest (qemu and virtiofsd stopped), unpause thaws it.
    succeeded(await d.wharf(["pause", "vm-survivor"]));
    assert.equal(succeeded(await d.wharf(["inspect", "--format", "{{.State.Status}}", "vm-survivor"])).trim(), "paused");
    succeeded(await d.wharf(["unpause", "vm-survivor"]));
    assert.equal(succeeded(await d.wharf(["inspect", "--format", "{{.State.Status}}", "vm-survivor"])).trim(), "running");
    // The guest wrote through virtiofs into the container's layer on the host.
    const dest = fs.mkdtempSync("/tmp/wharf-vm-cp-");
    try {
      succeeded(await d.wharf(["cp", "vm-survivor:/tmp/note", dest]));
      assert.equal(fs.readFileSync(path.join(dest, "note"), "utf8"), "written-in-the-guest\n");
    } finally {
      fs.rmSync(dest, { recursive: true, force: true });
    }
    succeeded(await d.wharf(["stop", "-t", "120", "vm-survivor"], { timeoutMs: VM_TIMEOUT }));
    assert.equal(succeeded(await d.wharf(["inspect", "--format", "{{.State.ExitCode}}", "vm-survivor"])).trim(), "143");
    succeeded(await d.wharf(["rm", "vm-survivor"]));
  });

  it("leaves no qemu, virtiofsd, state dir or mount behind after rm", async () => {
    succeeded(await d.wharf(["run", "-d", "--name", "vm-leak", "--runtime", "vm", "busybox", "sleep", "600"], { timeoutMs: VM_TIMEOUT }));
    const id = succeeded(await d.wharf(["inspect", "--format", "{{.Id}}", "vm-leak"])).trim();
    assert.ok(processesMentioning(id).length >= 2, "qemu and the shim run while the container does");
    succeeded(await d.wharf(["rm", "-f", "vm-leak"], { timeoutMs: VM_TIMEOUT }));
    assert.deepEqual(processesMentioning(id), []);
    assert.deepEqual(processesMentioning(d.execRoot), [], "no VM process of this daemon is left");
    const vmRoot = path.join(d.execRoot, "vm");
    assert.deepEqual(fs.readdirSync(vmRoot).filter((n) => n !== "vm-host.json"), [], "no state dir is left");
    const mounts = fs.readFileSync("/proc/self/mountinfo", "utf8");
    assert.ok(!mounts.includes(id), "no mount of the container is left");
  });
});

describe("vm runtime: bad setup", { skip, concurrency: false }, () => {
  let d: TestDaemon;
  before(async () => {
    d = await startDaemon(["--default-runtime", "vm", "--vm-kernel", "/nonexistent/wharf-test-vmlinuz"]);
    await ensureBusybox(d);
  });
  after(async () => {
    await d?.stop();
  });

  it("--default-runtime vm makes vm the default, and a missing kernel is named with how to get one", async () => {
    const info = succeeded(await d.wharf(["info"]));
    assert.match(info, /Default Runtime: vm/);
    const r = await d.wharf(["run", "--name", "vm-nokernel", "busybox", "true"], { timeoutMs: VM_TIMEOUT });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /guest kernel not found at \/nonexistent\/wharf-test-vmlinuz: install it with scripts\/build-vm-assets\.sh/);
    assert.deepEqual(processesMentioning(d.execRoot), [], "nothing was started");
    assert.deepEqual(fs.readdirSync(path.join(d.execRoot, "vm")).filter((n) => n !== "vm-host.json"), [], "no state dir");
    succeeded(await d.wharf(["rm", "-f", "vm-nokernel"]));
    // runc still works on a daemon whose default is vm.
    assert.equal(succeeded(await d.wharf(["run", "--rm", "--runtime", "runc", "busybox", "uname", "-r"])).trim(), os.release());
  });
});
