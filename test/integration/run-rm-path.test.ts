import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { type TestDaemon, useDaemon } from "../helpers/daemon";
import { until } from "../helpers/wait";

// The short path of `run --rm` (docs/benchmarks.md): the layer of a --rm container is mounted
// volatile (overlay skips the sync at unmount), the engine waits for conmon rather than killing
// an exited container through the OCI runtime, and removal leaves nothing behind.

/** The OCI runtimes' state roots under a daemon's exec root. */
const RUNTIME_ROOTS = ["crun", "runc"];

/** The super options of the overlay mounted as a container's root, or undefined when none is. */
function rootMountOptions(containerId: string): string | undefined {
  for (const line of fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const fields = line.split(" ");
    if (fields[4]?.endsWith(`/containers/${containerId}/merged`)) return fields[fields.length - 1];
  }
  return undefined;
}

/** What a container may leave on the host: mounts, runtime state, cgroups, conmon processes. */
function leftovers(d: TestDaemon, containerId: string): string[] {
  const found: string[] = [];
  if (rootMountOptions(containerId) !== undefined) found.push("root mount");
  for (const runtime of RUNTIME_ROOTS) if (fs.existsSync(path.join(d.execRoot, runtime, containerId))) found.push(`${runtime} state`);
  for (const controller of ["memory", "pids", "cpu", "freezer"]) {
    if (fs.existsSync(`/sys/fs/cgroup/${controller}/wharf-test/${containerId}`)) found.push(`${controller} cgroup`);
  }
  for (const pid of fs.readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(containerId)) found.push(`process ${pid}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

describe("run --rm: volatile layer, quick exit handling, nothing left", () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));

  test("a --rm container's layer is mounted volatile; a kept container's is not", async () => {
    const rm = await d.docker(["run", "-d", "--rm", "--network", "none", "busybox", "sleep", "60"]);
    assert.equal(rm.code, 0, rm.stderr);
    const kept = await d.docker(["run", "-d", "--network", "none", "busybox", "sleep", "60"]);
    assert.equal(kept.code, 0, kept.stderr);
    const rmId = rm.stdout.trim();
    const keptId = kept.stdout.trim();
    try {
      // Newer kernels show the option as fsync=volatile.
      assert.match(rootMountOptions(rmId) ?? "no mount", /(^|,)(fsync=)?volatile(,|$)/);
      assert.doesNotMatch(rootMountOptions(keptId) ?? "no mount", /volatile/);
      assert.notEqual(rootMountOptions(keptId), undefined);

      // Killed, the --rm container goes away entirely.
      assert.equal((await d.docker(["kill", rmId])).code, 0);
      await until("the --rm container's removal", async () => (await d.api("GET", `/containers/${rmId}/json`)).status === 404);
      assert.deepEqual(leftovers(d, rmId), []);
    } finally {
      await d.docker(["rm", "-f", rmId, keptId]);
    }
    assert.deepEqual(leftovers(d, keptId), []);
  });

  test("run --rm one after another: each exit status reported, each container gone", async () => {
    for (const status of [0, 3, 0, 7, 0]) {
      const r = await d.docker(["run", "--rm", "--network", "none", "busybox", "sh", "-c", `echo out-${status}; exit ${status}`]);
      assert.equal(r.code, status, r.stderr);
      assert.equal(r.stdout, `out-${status}\n`);
    }
    assert.equal((await d.docker(["ps", "-aq"])).stdout.trim(), "");
    for (const runtime of RUNTIME_ROOTS) {
      const root = path.join(d.execRoot, runtime);
      assert.deepEqual(fs.existsSync(root) ? fs.readdirSync(root) : [], [], `${runtime} state`);
    }
    const mounted = fs
      .readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .filter((line) => line.includes(`${d.dataRoot}/`));
    assert.deepEqual(mounted, []);
  });

  test("a kept container stopped and started again mounts its layer again", async () => {
    const r = await d.docker(["run", "-d", "--network", "none", "busybox", "sh", "-c", "echo kept >> /data.txt; sleep 60"]);
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    try {
      assert.equal((await d.docker(["stop", "-t", "0", id])).code, 0);
      assert.equal(rootMountOptions(id), undefined);
      assert.equal((await d.docker(["start", id])).code, 0);
      await until("the second line", async () => (await d.docker(["exec", id, "cat", "/data.txt"])).stdout === "kept\nkept\n");
    } finally {
      await d.docker(["rm", "-f", id]);
    }
    assert.deepEqual(leftovers(d, id), []);
  });
});
