import assert from "node:assert/strict";
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
