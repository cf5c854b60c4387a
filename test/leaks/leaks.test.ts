import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { test } from "node:test";

/**
 * Runs after every other suite: whatever the tests started must be gone. Test daemons live
 * under /tmp/wharf-test-* and put containers in the /wharf-test cgroup parent.
 */

function processesMatching(fragment: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
      if (cmdline.includes(fragment)) found.push(`${pid}: ${cmdline}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

test("no conmon or runtime processes of test daemons are left", () => {
  const leftovers = processesMatching("/tmp/wharf-test-").filter((p) => !p.includes("leaks.test"));
  assert.deepEqual(leftovers, []);
});

test("no qemu-system or virtiofsd of test daemons' vm containers is left", () => {
  // Their command lines carry the test daemon's state dir (qemu's -pidfile) or rootfs (virtiofsd's source).
  const vms = processesMatching("/tmp/wharf-test-").filter((p) => /qemu-system|virtiofsd/.test(p));
  assert.deepEqual(vms, []);
  // virtiofsd's lock files (one per vm container, removed with it).
  const locks = fs.existsSync("/run/virtiofsd") ? fs.readdirSync("/run/virtiofsd").filter((n) => n.startsWith("vfs-")) : [];
  const stale = locks.filter((n) => {
    const pid = Number(fs.readFileSync(`/run/virtiofsd/${n}`, "utf8").trim());
    return !(pid > 0 && fs.existsSync(`/proc/${pid}`));
  });
  assert.deepEqual(stale, []);
});

test("no mounts of test daemons are left", () => {
  const mounts = fs
    .readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((line) => line.includes("/tmp/wharf-test-"));
  assert.deepEqual(mounts, []);
});

test("no temp dirs of test daemons are left", () => {
  const dirs = fs.readdirSync("/tmp").filter((name) => name.startsWith("wharf-test-"));
  assert.deepEqual(dirs, []);
});

test("no container cgroups of test daemons are left", () => {
  const left: string[] = [];
  for (const controller of fs.readdirSync("/sys/fs/cgroup")) {
    const dir = `/sys/fs/cgroup/${controller}/wharf-test`;
    if (!fs.existsSync(dir)) continue;
    const children = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory());
    left.push(...children.map((c) => `${dir}/${c.name}`));
  }
  assert.deepEqual(left, []);
});

// Networking: test daemons use bridges named "wt…" and subnets 10.200.0.0-10.255.255.255
// (test/helpers/daemon.ts); a quickstart daemon's wharf0 and 10.88/16 are not counted.
const TEST_BRIDGE = /^wt[0-9a-z]+$/;
const TEST_SUBNET = /\b10\.2[0-5]\d\.\d{1,3}\.\d{1,3}\b/;

function sh(cmd: string, args: string[]): string {
  return spawnSync(cmd, args, { encoding: "utf8" }).stdout ?? "";
}

test("no test bridges, and no veths attached to one, are left", () => {
  const links = sh("ip", ["-o", "link", "show"]).split("\n").filter(Boolean);
  const bridges = links.map((l) => l.split(": ")[1]?.split("@")[0]).filter((name): name is string => !!name && TEST_BRIDGE.test(name));
  const veths = links.filter((l) => / master wt[0-9a-z]+ /.test(l));
  assert.deepEqual({ bridges, veths }, { bridges: [], veths: [] });
});

test("no iptables rules mention a test subnet or a test bridge", () => {
  const rules: string[] = [];
  for (const table of ["filter", "nat", "mangle"]) {
    rules.push(...sh("iptables-save", ["-t", table]).split("\n").filter((l) => TEST_SUBNET.test(l) || /\bwt[0-9a-z]{4,}\b/.test(l)));
  }
  assert.deepEqual(rules, []);
});

test("no network namespaces of test daemons are left (pinned or named)", () => {
  const pinned = fs
    .readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((line) => line.includes("nsfs") && line.includes("/tmp/wharf-test-"));
  const named = fs.existsSync("/run/netns") ? fs.readdirSync("/run/netns").filter((n) => n.includes("wharf")) : [];
  assert.deepEqual({ pinned, named }, { pinned: [], named: [] });
});

test("no IPAM leases of test daemons are left", () => {
  // Data roots are removed by the harness, which first fails a test file that left leases
  // (TestDaemon.stop); here: nothing under /tmp that looks like a host-local lease dir.
  const left = fs.readdirSync("/tmp").filter((n) => n.startsWith("wharf-test-")).filter((n) => fs.existsSync(`/tmp/${n}/data/networks/ipam`));
  assert.deepEqual(left, []);
});
