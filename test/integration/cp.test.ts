import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { type TestDaemon, ensureBusybox, run, startDaemon } from "../helpers/daemon";

/**
 * Mounts under `dir` still there once the copy's response has ended: the daemon lets go of
 * them when its side of the stream closes, which may come just after the client is done.
 */
async function mountsLeftUnder(dir: string): Promise<string[]> {
  dir = `${dir}/`;
  let left: string[] = [];
  for (let i = 0; i < 50; i++) {
    left = fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((line) => line.includes(dir));
    if (left.length === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return left;
}

describe("cp (docker CLI and wharf CLI against wharfd)", () => {
  let d: TestDaemon;
  let local: string;
  before(async () => {
    d = await startDaemon();
    await ensureBusybox(d);
    local = path.join(d.dataRoot, "..", "local");
    fs.mkdirSync(local);
    // Hostile links inside the container: to the root, to /etc, and a relative climb.
    const r = await d.docker(["run", "-d", "--name", "src", "busybox", "sh", "-c",
      "mkdir -p /d/e && echo hi > /d/e/f && ln -s / /hostroot && ln -s /etc /d/etc-link && ln -s ../../../../../../tmp /up && sleep 300"]);
    assert.equal(r.code, 0, r.stderr);
    for (let i = 0; i < 100; i++) {
      if ((await d.docker(["exec", "src", "test", "-L", "/up"])).code === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  after(async () => {
    await d?.stop();
  });

  for (const cli of ["docker", "wharf"] as const) {
    test(`${cli} cp copies a directory out and a file in`, async () => {
      const exec = cli === "docker" ? d.docker : d.wharf;
      const out = path.join(local, `${cli}-out`);
      fs.mkdirSync(out);
      const get = await exec(["cp", "src:/d", out]);
      assert.equal(get.code, 0, get.stderr);
      assert.equal(fs.readFileSync(path.join(out, "d", "e", "f"), "utf8"), "hi\n");
      assert.equal(fs.readlinkSync(path.join(out, "d", "etc-link")), "/etc", "links are copied as links");
      const renamed = path.join(local, `${cli}-renamed.txt`);
      assert.equal((await exec(["cp", "src:/d/e/f", renamed])).code, 0);
      assert.equal(fs.readFileSync(renamed, "utf8"), "hi\n");
      const file = path.join(local, `${cli}-in.txt`);
      fs.writeFileSync(file, `from ${cli}\n`);
      const put = await exec(["cp", file, "src:/d/"]);
      assert.equal(put.code, 0, put.stderr);
      const check = await d.docker(["exec", "src", "cat", `/d/${cli}-in.txt`]);
      assert.equal(check.stdout, `from ${cli}\n`);
      const putRenamed = await exec(["cp", file, `src:/d/${cli}-new-name`]);
      assert.equal(putRenamed.code, 0, putRenamed.stderr);
      assert.equal((await d.docker(["exec", "src", "cat", `/d/${cli}-new-name`])).stdout, `from ${cli}\n`);
    });
  }

  test("hostile symlinks in the container never lead a copy onto the host", async () => {
    const marker = `wharf-cp-escape-${process.pid}`;
    const file = path.join(local, marker);
    fs.writeFileSync(file, "escaped?\n");
    // Through a link to / and a relative climb: both must land inside the container.
    assert.equal((await d.docker(["cp", file, "src:/hostroot/tmp/"])).code, 0);
    assert.equal((await d.wharf(["cp", file, "src:/up/"])).code, 0);
    assert.ok(!fs.existsSync(`/tmp/${marker}`), "nothing was written to the host's /tmp");
    assert.equal((await d.docker(["exec", "src", "cat", `/tmp/${marker}`])).stdout, "escaped?\n");
    // Reading through ../ stays inside too: the container has no /etc/shadow, the host does.
    const shadow = await d.docker(["cp", "src:/../../../../etc/shadow", path.join(local, "shadow")]);
    assert.notEqual(shadow.code, 0);
    assert.match(shadow.stderr, /Could not find the file/);
    assert.ok(!fs.existsSync(path.join(local, "shadow")));
  });

  test("tar on stdout and stdin with -, and copies from a stopped container", async () => {
    const tarOut = await run("sh", ["-c", `${process.execPath} ${path.resolve(__dirname, "../../../bin/wharf")} -H ${d.host} cp src:/d/e - | tar -tf -`]);
    assert.equal(tarOut.code, 0, tarOut.stderr);
    assert.deepEqual(tarOut.stdout.trim().split("\n").sort(), ["e/", "e/f"].sort());
    assert.equal((await d.docker(["stop", "-t", "1", "src"])).code, 0);
    const stopped = path.join(local, "stopped-f");
    const r = await d.docker(["cp", "src:/d/e/f", stopped]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.readFileSync(stopped, "utf8"), "hi\n");
    assert.deepEqual(await mountsLeftUnder(d.dataRoot), [], "the stopped container's root is unmounted again");
    const missing = await d.docker(["cp", "src:/nosuch", path.join(local, "x")]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /Could not find the file \/nosuch in container src/);
    assert.equal((await d.docker(["rm", "src"])).code, 0);
  });

  test("cp reaches volumes and bind mounts, running or stopped; read-only mounts refuse; nothing stays mounted", async () => {
    const bound = path.join(local, "bound");
    fs.mkdirSync(bound);
    const r = await d.docker(["run", "-d", "--name", "vols", "--read-only", "-v", "cpvol:/data", "-v", "cpro:/ro:ro", "-v", `${bound}:/bound`, "busybox", "sleep", "300"]);
    assert.equal(r.code, 0, r.stderr);
    const file = path.join(local, "into-volume.txt");
    fs.writeFileSync(file, "in the volume\n");
    assert.equal((await d.docker(["cp", file, "vols:/data/"])).code, 0);
    const seen = await d.docker(["exec", "vols", "cat", "/data/into-volume.txt"]);
    assert.equal(seen.stdout, "in the volume\n", "the running container sees it in its volume");
    const other = await d.docker(["run", "--rm", "--pull", "never", "-v", "cpvol:/v", "busybox", "cat", "/v/into-volume.txt"]);
    assert.equal(other.stdout, "in the volume\n", "it is in the volume, not in the container's layer");
    assert.equal((await d.wharf(["cp", file, "vols:/bound/copied.txt"])).code, 0);
    assert.equal(fs.readFileSync(path.join(bound, "copied.txt"), "utf8"), "in the volume\n");

    const ro = await d.docker(["cp", file, "vols:/ro/"]);
    assert.notEqual(ro.code, 0);
    assert.match(ro.stderr, /mounted volume is marked read-only/);
    const rootfs = await d.docker(["cp", file, "vols:/tmp/"]);
    assert.notEqual(rootfs.code, 0);
    assert.match(rootfs.stderr, /container rootfs is marked read-only/);

    assert.equal((await d.docker(["stop", "-t", "0", "vols"])).code, 0);
    const out = path.join(local, "from-stopped.txt");
    assert.equal((await d.docker(["cp", "vols:/data/into-volume.txt", out])).code, 0);
    assert.equal(fs.readFileSync(out, "utf8"), "in the volume\n");
    assert.deepEqual(await mountsLeftUnder(d.dataRoot), [], "no root or volume stays mounted");
    assert.equal((await d.docker(["rm", "-v", "vols"])).code, 0);
    assert.equal((await d.docker(["volume", "rm", "cpvol", "cpro"])).code, 0);
  });

  test("cp sees the container's own /etc/hostname, /etc/hosts and /etc/resolv.conf, not the image's", async () => {
    assert.equal((await d.wharf(["run", "-d", "--name", "etc", "--hostname", "cp-host", "--add-host", "db.test:10.9.9.9", "--dns", "127.0.0.1", "busybox", "sleep", "300"])).code, 0);
    const hostname = await d.docker(["cp", "etc:/etc/hostname", "-"]);
    assert.equal(hostname.code, 0, hostname.stderr);
    assert.match(hostname.stdout, /cp-host\n/);
    assert.match((await d.docker(["cp", "etc:/etc/hosts", "-"])).stdout, /10\.9\.9\.9\s+db\.test/);
    assert.match((await d.docker(["cp", "etc:/etc/resolv.conf", "-"])).stdout, /nameserver 127\.0\.0\.1/);
    // the /etc files' binds show their source, under the data root's containers/ (the root itself stays: it runs)
    assert.deepEqual(await mountsLeftUnder(path.join(d.dataRoot, "containers")), [], "nothing stays mounted");
    assert.equal((await d.wharf(["rm", "-f", "etc"])).code, 0);
  });
});
