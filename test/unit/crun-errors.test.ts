import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { inRuncWords } from "../../src/runtime/crun-errors";

// crun 1.8's messages, as it printed them here, against what runc prints for the same mistakes.
describe("crun's errors in runc's words", () => {
  const prefix = "crun create failed: unable to start container process";

  it("a command not on PATH, or a missing path", () => {
    assert.equal(
      inRuncWords("executable file `nosuch` not found in $PATH: No such file or directory", "create", "nosuch"),
      `${prefix}: exec: "nosuch": executable file not found in $PATH`,
    );
    assert.equal(
      inRuncWords("executable file `/nosuch` not found in $PATH: No such file or directory", "create", "/nosuch"),
      `${prefix}: exec: "/nosuch": stat /nosuch: no such file or directory`,
    );
    assert.equal(
      inRuncWords("executable file `nope` not found in $PATH: No such file or directory", "exec", "nope"),
      'exec failed: unable to start container process: exec: "nope": executable file not found in $PATH',
    );
  });

  it("a directory or a file without x permission: permission denied (the docker CLI's 126)", () => {
    assert.equal(inRuncWords("open executable: Operation not permitted", "create", "/etc"), `${prefix}: exec: "/etc": permission denied`);
    assert.equal(inRuncWords("open executable: Permission denied", "create", "/etc/passwd"), `${prefix}: exec: "/etc/passwd": permission denied`);
  });

  it("a working directory that cannot be entered", () => {
    assert.equal(
      inRuncWords("chdir `/proc/self/fd/3`: Not a directory", "create", "sh"),
      `${prefix}: error during container init: chdir to cwd ("/proc/self/fd/3") set in config.json failed: not a directory`,
    );
  });

  it("leaves anything else alone", () => {
    assert.equal(inRuncWords("cannot set memory limit: Device or resource busy", "create", "sh"), "cannot set memory limit: Device or resource busy");
  });
});
