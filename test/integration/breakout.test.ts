import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { type TestDaemon, useDaemon } from "../helpers/daemon";

const PROBE_SOURCE = path.resolve(__dirname, "..", "..", "..", "test", "fixtures", "breakout-probe.c");

/** What the probe must find: every attempt denied, and how (Docker's answers). */
const EXPECTED: Record<string, string[]> = {
  "mount-tmpfs": ["EPERM"],
  "remount-proc-rw": ["EPERM"],
  "umount-proc-sys": ["EPERM"],
  "unshare-mount-ns": ["EPERM"],
  "unshare-user-ns": ["EPERM"],
  "clone-new-user-ns": ["EPERM"],
  "keyctl-join-session": ["EPERM"],
  "add-key": ["EPERM"],
  "init-module": ["EPERM"],
  "open-dev-mem": ["ENOENT"],
  "open-dev-kmsg": ["ENOENT"],
  "open-dev-sda": ["ENOENT"],
  "write-proc-sys-kernel": ["EROFS"],
  "write-proc-sysrq": ["ENOENT", "EROFS", "EACCES"],
  "write-sys-fs-cgroup": ["EROFS"],
  "mkdir-sys-fs-cgroup": ["EROFS"],
  "write-proc-kcore": ["ENOENT", "EACCES", "EPERM"],
  reboot: ["EPERM"],
  swapoff: ["EPERM"],
  settimeofday: ["EPERM"],
  sethostname: ["EPERM"],
  "open-by-handle-at": ["EPERM"],
  "open-mknod-block-device": ["EPERM"],
  "see-host-processes": ["none"],
  "ptrace-attach-host-process": ["ESRCH"],
  "ptrace-seize-host-process": ["ESRCH"],
  "process-vm-readv-host-process": ["ESRCH", "EPERM"],
  "pidfd-open-host-process": ["ESRCH", "EPERM"],
  "raw-bind-host-interface": ["ENODEV"],
  "see-host-interfaces": ["none"],
  "fd-leak": ["none"],
};

/**
 * In a user namespace the host root's files refuse the mapped root before their read-only mount
 * does (EACCES), and mknod itself is refused, so the node to open does not exist.
 */
const EXPECTED_IN_USERNS: Record<string, string[]> = {
  ...EXPECTED,
  "write-proc-sys-kernel": ["EACCES", "EROFS"],
  "write-sys-fs-cgroup": ["EACCES", "EROFS"],
  "open-mknod-block-device": ["ENOENT", "EPERM"],
};

/**
 * A breakout suite: a static probe (test/fixtures/breakout-probe.c, built here with gcc) runs
 * inside a default container, as an exec, and as a non-root user, and tries mount, unshare,
 * keyrings, module loading, device access, /proc/sys and cgroup writes, time and hostname,
 * open_by_handle_at (the "shocker" escape), ptrace of a host process, raw packet access to the
 * host's network interfaces, and leaked descriptors. Also
 * CVE-2024-21626: a working directory through /proc/self/fd never lands outside the container.
 */
describe("breakout attempts from a default container (and a user-namespaced one) all fail", () => {
  let d: TestDaemon;
  // An explicit --userns=auto pool, far from /etc/subuid's ranges: the default pool user would
  // have the daemon write its ranges into the host's /etc/subuid and /etc/subgid.
  const poolStart = 3_500_000_000 + Math.floor(Math.random() * 1000) * 2 * 65536;
  useDaemon((daemon) => (d = daemon), ["--userns-pool", `${poolStart}:${2 * 65536}`]);
  let work: string;
  let probe: string;
  /** A host process for the probe to ptrace: a sleep of the test's own, so nothing that matters is at stake. */
  let hostProcess: ChildProcess;
  before(() => {
    hostProcess = spawn("sleep", ["600"], { stdio: "ignore" });
    work = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-test-breakout-"));
    probe = path.join(work, "probe");
    execFileSync("gcc", ["-static", "-O2", "-o", probe, PROBE_SOURCE], { timeout: 120_000 });
  });
  after(() => {
    hostProcess.kill("SIGKILL");
    fs.rmSync(work, { recursive: true, force: true });
  });

  /**
   * The probe's arguments: a host process to ptrace, and the host's own network
   * interfaces (this daemon's bridge first, the one the container's veth hangs on) to bind a raw
   * socket to. lo and eth0 are left out: the container has its own of those names.
   */
  const probeArgs = (): string[] => {
    const hostInterfaces = fs.readdirSync("/sys/class/net").filter((name) => name !== "lo" && name !== "eth0" && name !== d.bridge);
    return [String(hostProcess.pid), d.bridge, ...hostInterfaces.slice(0, 30)];
  };

  /** Every attempt denied; as root, also denied the way Docker denies it (`exact`). */
  const check = (output: string, where: string, exact = true, expected = EXPECTED): void => {
    const results = new Map<string, string>();
    for (const line of output.trim().split("\n")) {
      const [name, verdict, how] = line.split(" ");
      assert.notEqual(verdict, "ok", `${where}: ${name} succeeded`);
      assert.ok(!/^(leaked-fd|host-process|host-interface|bound-host-interface) /.test(line), `${where}: ${line}`);
      results.set(name, how);
    }
    for (const [name, allowed] of Object.entries(expected)) {
      assert.ok(results.has(name), `${where}: ${name} was not tried`);
      if (exact) assert.ok(allowed.includes(results.get(name) ?? ""), `${where}: ${name} answered ${results.get(name)}, expected ${allowed.join(" or ")}`);
    }
  };

  test("the probe as a container's process, through the docker CLI and the wharf CLI", async () => {
    const viaDocker = await d.docker(["run", "--rm", "--pull", "never", "-v", `${probe}:/probe:ro`, "busybox", "/probe", ...probeArgs()]);
    assert.equal(viaDocker.code, 0, viaDocker.stderr);
    check(viaDocker.stdout, "docker run");
    const viaWharf = await d.wharf(["run", "--rm", "-v", `${probe}:/probe:ro`, "-u", "1000:1000", "busybox", "/probe", ...probeArgs()]);
    assert.equal(viaWharf.code, 0, viaWharf.stderr);
    check(viaWharf.stdout, "non-root user", false);
  });

  test("the probe sees what it looks for when the container shares the host's pid and network namespaces", async () => {
    // Without this, "denied" could mean a broken probe: here the same attempts must reach the host.
    const shared = await d.wharf(["run", "--rm", "--pid", "host", "--network", "host", "--cap-add", "SYS_PTRACE", "-v", `${probe}:/probe:ro`, "busybox", "/probe", ...probeArgs()]);
    assert.equal(shared.code, 0, shared.stderr);
    const lines = shared.stdout.split("\n");
    assert.ok(lines.includes("ptrace-attach-host-process ok"), shared.stdout);
    assert.ok(lines.includes("raw-bind-host-interface ok"), shared.stdout);
    assert.ok(lines.includes(`bound-host-interface ${d.bridge}`), shared.stdout);
    assert.ok(lines.includes(`host-interface ${d.bridge}`), shared.stdout);
    assert.ok(lines.some((line) => line.startsWith("host-process ")), shared.stdout);
  });

  test("the probe as an exec in a running container", async () => {
    assert.equal((await d.wharf(["run", "-d", "--name", "breakout", "-v", `${probe}:/probe:ro`, "busybox", "sleep", "300"])).code, 0);
    const exec = await d.docker(["exec", "breakout", "/probe", ...probeArgs()]);
    assert.equal(exec.code, 0, exec.stderr);
    check(exec.stdout, "docker exec");
    await d.wharf(["rm", "-f", "breakout"]);
  });

  test("the probe as root of a --userns=auto container (an unprivileged uid on the host)", async () => {
    // A mapped root must be able to walk to its root filesystem (docs/userns.md); the test base is 0700.
    fs.chmodSync(path.dirname(d.dataRoot), 0o711);
    const mapped = await d.wharf(["run", "--rm", "--userns=auto", "-v", `${probe}:/probe:ro`, "busybox", "sh", "-c", `cat /proc/self/uid_map && /probe ${probeArgs().join(" ")}`]);
    assert.equal(mapped.code, 0, mapped.stderr);
    const [uidMap, ...probeLines] = mapped.stdout.trim().split("\n");
    const [inside, outside] = uidMap.trim().split(/\s+/).map(Number);
    assert.equal(inside, 0);
    assert.ok(outside > 0, `the container's root is uid ${outside} on the host`);
    check(probeLines.join("\n"), "--userns=auto", true, EXPECTED_IN_USERNS);
  });

  test("CVE-2024-21626: a working directory under /proc/self/fd never reaches the host", async () => {
    for (let fd = 3; fd <= 9; fd++) {
      const r = await d.docker(["run", "--rm", "--pull", "never", "-w", `/proc/self/fd/${fd}`, "busybox", "sh", "-c", "pwd; ls ../../.."]);
      if (r.code === 0) {
        // If it ran at all, it ran inside the container: its root is the container's.
        assert.doesNotMatch(r.stdout, /wharf-test-|snapshots|runc|crun/, `fd ${fd}: ${r.stdout}`);
      } else {
        assert.match(r.stderr, /not a directory|no such file or directory|permission denied/, `fd ${fd}: ${r.stderr}`);
      }
    }
  });
});
