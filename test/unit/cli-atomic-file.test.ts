import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createAtomicFile, validateDestination } from "../../src/cli/atomic-file";

test("save -o destinations docker refuses", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-atomic-"));
  try {
    assert.throws(() => validateDestination("/nonexistent/dir/x.tar"), new Error("invalid output path: stat /nonexistent/dir: no such file or directory"));
    assert.throws(() => validateDestination(dir), new Error("cannot write to a directory"));
    fs.writeFileSync(path.join(dir, "f"), "");
    assert.throws(() => validateDestination(path.join(dir, "f", "x")), /invalid output path: stat .*\/f: not a directory/);
    fs.symlinkSync("/etc/hostname", path.join(dir, "link"));
    assert.throws(() => validateDestination(path.join(dir, "link")), new Error("cannot write to a symbolic link directly"));
    assert.doesNotThrow(() => validateDestination(path.join(dir, "f")));
    assert.doesNotThrow(() => validateDestination(path.join(dir, "new.tar")));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the file appears only when committed; abort leaves nothing", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-atomic-"));
  try {
    const target = path.join(dir, "out.tar");
    const ok = createAtomicFile(target);
    ok.stream.write("data");
    assert.equal(fs.existsSync(target), false);
    await ok.commit();
    ok.abort();
    assert.equal(fs.readFileSync(target, "utf8"), "data");
    assert.equal((fs.statSync(target).mode & 0o777).toString(8), "600");

    const failed = createAtomicFile(path.join(dir, "other.tar"));
    failed.stream.write("partial");
    failed.abort();
    assert.deepEqual(fs.readdirSync(dir), ["out.tar"]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
