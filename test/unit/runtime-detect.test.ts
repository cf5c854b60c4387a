import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { crunCommand, detectRuntimes, findBinary, findInitBinary } from "../../src/runtime/detect";

describe("runtime detection", () => {
  it("finds binaries on PATH and in the sbin dirs, null when missing", () => {
    assert.equal(findBinary("sh", "/nonexistent"), fs.existsSync("/usr/bin/sh") ? "/usr/bin/sh" : "/bin/sh");
    assert.equal(findBinary("wharf-no-such-binary"), null);
    assert.equal(findBinary("/bin/sh"), "/bin/sh");
    assert.equal(findBinary("/etc/passwd"), null, "not executable");
  });

  it("runs crun as it is on cgroup v2 and plain v1, through the cgroup2 hider on a hybrid host with a v2 controller", () => {
    const host = { cgroupVersion: 1 as const, v2Controllers: "", rootless: false, hider: "/h" };
    assert.deepEqual(crunCommand("/c", { ...host, cgroupVersion: 2, v2Controllers: "cpu memory" }), ["/c"]);
    assert.deepEqual(crunCommand("/c", host), ["/c"]);
    assert.deepEqual(crunCommand("/c", { ...host, v2Controllers: "hugetlb" }), ["/h", "/c"]);
    assert.equal(crunCommand("/c", { ...host, v2Controllers: "hugetlb", hider: null }), null);
    assert.equal(crunCommand("/c", { ...host, v2Controllers: "hugetlb", rootless: true }), null);
  });

  it("offers crun first where it runs, then runc; the preferred runtime first; an error when it is missing", { skip: !findBinary("runc") }, () => {
    const names = detectRuntimes().map((r) => r.name);
    assert.equal(names.at(-1), "runc");
    if (findBinary("crun") && process.getuid?.() === 0) assert.deepEqual(names, ["crun", "runc"]);
    assert.deepEqual(detectRuntimes("runc")[0], { name: "runc", path: findBinary("runc"), command: [findBinary("runc")] });
    assert.deepEqual(detectRuntimes(undefined, { rootless: true }).map((r) => r.name), ["runc"]);
    assert.throws(() => detectRuntimes("no-such-runtime"), /OCI runtime no-such-runtime not found/);
  });

  it("prefers a static init binary", () => {
    const init = findInitBinary();
    if (init) assert.match(init, /(docker-init|tini-static|catatonit)$/);
  });
});
