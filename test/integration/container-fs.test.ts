import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { type TestDaemon, ensureBusybox, run, startDaemon } from "../helpers/daemon";

describe("diff, export and commit (docker CLI and wharf CLI against wharfd)", () => {
  let d: TestDaemon;
  before(async () => {
    d = await startDaemon();
    await ensureBusybox(d);
    const r = await d.docker(["run", "--name", "changed", "busybox", "sh", "-c", "echo new > /added.txt; echo x >> /etc/motd; rm /bin/vi; mkdir -p /data/sub; echo y > /data/sub/f"]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await d?.stop();
  });

  test("diff lists added, changed and deleted paths as docker does", async () => {
    const r = await d.docker(["diff", "changed"]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    for (const expected of ["A /added.txt", "C /etc", "A /etc/motd", "C /bin", "D /bin/vi", "A /data", "A /data/sub", "A /data/sub/f"]) {
      assert.ok(lines.includes(expected), `${expected} in:\n${r.stdout}`);
    }
    const w = await d.wharf(["diff", "changed"]);
    assert.equal(w.stdout, r.stdout);
  });

  test("export writes the whole root filesystem as a tar, stopped container included", async () => {
    const out = path.join(d.dataRoot, "..", "export.tar");
    const r = await d.docker(["export", "-o", out, "changed"]);
    assert.equal(r.code, 0, r.stderr);
    const list = await run("tar", ["-tf", out]);
    assert.equal(list.code, 0, list.stderr);
    const names = list.stdout.split("\n");
    assert.ok(names.includes("added.txt"));
    assert.ok(names.includes("bin/busybox"));
    assert.ok(!names.includes("bin/vi"), "a deleted file is not exported");
    const mounts = fs.readFileSync("/proc/self/mountinfo", "utf8");
    assert.ok(!mounts.includes(d.dataRoot), "the temporary mount of a stopped container is gone");
  });

  test("commit makes an image of the container's changes with --change and -m", async () => {
    const r = await d.docker(["commit", "-m", "snapshot", "-a", "tester", "-c", 'CMD ["cat", "/added.txt"]', "-c", "ENV FOO=bar", "changed", "committed:v1"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
    const ran = await d.docker(["run", "--rm", "committed:v1"]);
    assert.equal(ran.stdout, "new\n");
    const files = await d.docker(["run", "--rm", "committed:v1", "sh", "-c", "echo $FOO; ls /bin/vi 2>&1; cat /data/sub/f"]);
    assert.match(files.stdout, /^bar\n.*No such file.*\ny\n$/s);
    const history = await d.docker(["history", "--format", "{{.Comment}}|{{.CreatedBy}}", "committed:v1"]);
    assert.match(history.stdout.split("\n")[0], /^snapshot\|sh -c echo new/);
    const author = await d.docker(["image", "inspect", "--format", "{{.Author}} {{len .RootFS.Layers}}", "committed:v1"]);
    assert.equal(author.stdout.trim(), "tester 2");
    assert.equal((await d.docker(["rm", "changed"])).code, 0);
    assert.equal((await d.docker(["rmi", "committed:v1"])).code, 0);
  });
});
