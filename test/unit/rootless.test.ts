import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isIdentityMap } from "../../src/daemon/rootless";
import { discardCgroupLimits } from "../../src/engine/containers/rootless-limits";
import type { HostConfig } from "../../src/engine/containers/types";

describe("rootless mode: detection", () => {
  test("the initial user namespace's map is the identity", () => {
    assert.equal(isIdentityMap("         0          0 4294967295\n"), true);
  });

  test("rootlesskit's map (root -> the user, then its subordinate ids) is not", () => {
    assert.equal(isIdentityMap("         0       1001          1\n         1     100000      65536\n"), false);
    assert.equal(isIdentityMap("0 100000 65536\n"), false);
  });
});

describe("rootless mode: cgroup limits on cgroups v1", () => {
  const base = (): HostConfig => ({ Memory: 0, MemorySwap: 0, NanoCpus: 0, CpuShares: 0, CpuPeriod: 0, CpuQuota: 0, CpusetCpus: "", CpusetMems: "", PidsLimit: null }) as unknown as HostConfig; // only the limit fields matter here

  test("no limits asked: nothing changes, no warnings", () => {
    const hc = base();
    assert.deepEqual(discardCgroupLimits(hc), []);
    assert.deepEqual(hc, base());
  });

  test("memory, shares, period, quota, cpuset and pids are discarded with Docker's warnings", () => {
    const hc = { ...base(), Memory: 64 << 20, MemorySwap: 128 << 20, CpuShares: 512, CpuPeriod: 100000, CpuQuota: 50000, CpusetCpus: "0", PidsLimit: 10 } as HostConfig;
    const warnings = discardCgroupLimits(hc);
    assert.equal(warnings.length, 6);
    assert.match(warnings[0]!, /^Your kernel does not support memory limit capabilities or the cgroup is not mounted\. Limitation discarded\.$/);
    assert.match(warnings[5]!, /PIDs limit discarded\.$/);
    assert.deepEqual({ m: hc.Memory, s: hc.MemorySwap, sh: hc.CpuShares, p: hc.CpuPeriod, q: hc.CpuQuota, c: hc.CpusetCpus, pl: hc.PidsLimit }, { m: 0, s: -1, sh: 0, p: 0, q: 0, c: "", pl: null });
  });

  test("--cpus is refused as Docker refuses it", () => {
    assert.throws(() => discardCgroupLimits({ ...base(), NanoCpus: 1e9 } as HostConfig), /NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup is not mounted/);
  });
});
