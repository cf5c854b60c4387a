import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { crunUsable, detectRuntime, findBinary, findInitBinary } from "../../src/runtime/detect";

describe("runtime detection", () => {
  it("finds binaries on PATH and in the sbin dirs, null when missing", () => {
    assert.equal(findBinary("sh", "/nonexistent"), fs.existsSync("/usr/bin/sh") ? "/usr/bin/sh" : "/bin/sh");
    assert.equal(findBinary("wharf-no-such-binary"), null);
    assert.equal(findBinary("/bin/sh"), "/bin/sh");
    assert.equal(findBinary("/etc/passwd"), null, "not executable");
  });

  it("uses crun only on a cgroup v2 host", () => {
    assert.equal(crunUsable(1), false);
    assert.equal(crunUsable(2), true);
  });

  it("picks runc here (cgroups v1 hybrid), or the preferred runtime; an error when it is missing", { skip: !findBinary("runc") }, () => {
    const choice = detectRuntime();
    if (!fs.existsSync("/sys/fs/cgroup/cgroup.controllers")) assert.equal(choice.name, "runc");
    assert.equal(detectRuntime("runc").path, findBinary("runc"));
    assert.throws(() => detectRuntime("no-such-runtime"), /OCI runtime no-such-runtime not found/);
  });

  it("prefers a static init binary", () => {
    const init = findInitBinary();
    if (init) assert.match(init, /(docker-init|tini-static|catatonit)$/);
  });
});
