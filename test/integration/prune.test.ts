import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { type TestDaemon, useDaemon } from "../helpers/daemon";

async function ids(d: TestDaemon): Promise<string[]> {
  return (await d.api("GET", "/containers/json?all=1")).json<Array<{ Id: string }>>().map((c) => c.Id);
}

async function create(d: TestDaemon, name: string, args: string[] = []): Promise<string> {
  const res = await d.wharf(["create", "--name", name, ...args, "busybox", "true"]);
  assert.equal(res.code, 0, res.stderr);
  return res.stdout.trim();
}

describe("prune and disk usage (wharf CLI and docker CLI)", () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));

  test("container prune: label, label! and until filters remove only what they select", async () => {
    const a = await create(d, "pa", ["-l", "keep=1"]);
    const b = await create(d, "pb", ["-l", "x=1"]);
    const c = await create(d, "pc");
    assert.equal((await d.wharf(["run", "-d", "--name", "prun", "-l", "x=1", "busybox", "sleep", "300"])).code, 0);

    const byLabel = await d.docker(["container", "prune", "-f", "--filter", "label=x=1"]);
    assert.equal(byLabel.code, 0, byLabel.stderr);
    assert.match(byLabel.stdout, new RegExp(`^Deleted Containers:\\n${b}\\n\\nTotal reclaimed space: \\d+(\\.\\d+)?k?B\\n$`));
    let left = await ids(d);
    assert.ok(!left.includes(b) && left.includes(a) && left.includes(c));

    // until: nothing created after the cut-off goes.
    const cutoff = String(Math.floor(Date.now() / 1000) - 3600);
    const old = await d.wharf(["container", "prune", "-f", "--filter", `until=${cutoff}`]);
    assert.equal(old.stdout, "Total reclaimed space: 0B\n");
    assert.deepEqual((await ids(d)).sort(), left.sort());

    const notKeep = await d.wharf(["container", "prune", "-f", "--filter", "label!=keep", "--filter", "until=0s"]);
    assert.equal(notKeep.code, 0, notKeep.stderr);
    assert.match(notKeep.stdout, new RegExp(`^Deleted Containers:\\n${c}\\n\\nTotal reclaimed space: `));
    left = await ids(d);
    assert.ok(left.includes(a) && !left.includes(c) && left.length === 2, "the running one and the kept one stay");

    const bad = await d.docker(["container", "prune", "-f", "--filter", "nosuch=1"]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /invalid filter 'nosuch'/);
    assert.equal((await d.wharf(["rm", "-f", "pa", "prun"])).code, 0);
  });

  test("prune asks first; no keeps everything, y prunes", async () => {
    const id = await create(d, "ask");
    const no = await d.wharf(["container", "prune"], { input: "n\n" });
    assert.equal(no.code, 0);
    assert.equal(no.stdout, "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ");
    assert.ok((await ids(d)).includes(id));
    const yes = await d.docker(["container", "prune"], { input: "y\n" });
    assert.equal(yes.code, 0, yes.stderr);
    assert.match(yes.stdout, /Are you sure you want to continue\? \[y\/N\] Deleted Containers:\n/);
    assert.ok(!(await ids(d)).includes(id));
  });

  test("system prune: containers, networks and images by filter; -a takes unused tagged images; both CLIs", async () => {
    await create(d, "s1", ["-l", "p=1"]);
    const s2 = await create(d, "s2");
    assert.equal((await d.wharf(["network", "create", "--label", "p=1", "pnet1"])).code, 0);
    assert.equal((await d.wharf(["network", "create", "pnet2"])).code, 0);
    assert.equal((await d.wharf(["run", "-d", "--name", "keeper", "busybox", "sleep", "300"])).code, 0);
    // An image of its own that no container uses.
    assert.equal((await d.wharf(["run", "--name", "mk", "busybox", "sh", "-c", "echo x > /junk"])).code, 0);
    assert.equal((await d.wharf(["commit", "mk", "junk:1"])).code, 0);
    assert.equal((await d.wharf(["rm", "mk"])).code, 0);

    const warning = await d.wharf(["system", "prune", "--filter", "label=p=1"], { input: "n\n" });
    assert.equal(
      warning.stdout,
      "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all dangling images\n  - unused build cache\n\n  Items to be pruned will be filtered with:\n  - label=p=1\n\nAre you sure you want to continue? [y/N] ",
    );
    const filtered = await d.docker(["system", "prune", "-f", "--filter", "label=p=1"]);
    assert.equal(filtered.code, 0, filtered.stderr);
    assert.match(filtered.stdout, /^Deleted Containers:\n[0-9a-f]{64}\n\nDeleted Networks:\npnet1\n\n(Deleted build cache objects:\n)?Total reclaimed space: /m);
    const names = (await d.api("GET", "/containers/json?all=1")).json<Array<{ Names: string[] }>>().map((c) => c.Names[0]).sort();
    assert.deepEqual(names, ["/keeper", "/s2"]);
    assert.equal((await d.api("GET", "/networks/pnet2")).status, 200);
    assert.equal((await d.api("GET", "/images/junk:1/json")).status, 200, "a tagged image stays without -a");

    const all = await d.wharf(["system", "prune", "-a", "-f"]);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, new RegExp(`^Deleted Containers:\\n${s2}\\n\\nDeleted Networks:\\npnet2\\n\\nDeleted Images:\\nuntagged: junk:1\\ndeleted: sha256:[0-9a-f]{64}\\n`));
    assert.match(all.stdout, /\nTotal reclaimed space: \d/);
    assert.equal((await d.api("GET", "/images/junk:1/json")).status, 404);
    assert.equal((await d.api("GET", "/images/busybox:latest/json")).status, 200, "busybox is used by a running container");
    assert.equal((await d.api("GET", "/containers/keeper/json")).status, 200);
    for (const net of ["bridge", "host", "none"]) assert.equal((await d.api("GET", `/networks/${net}`)).status, 200);
    const vols = await d.docker(["system", "prune", "-f", "--volumes", "--filter", "until=1h"]);
    assert.notEqual(vols.code, 0);
    assert.match(vols.stderr, /The "until" filter is not supported with "--volumes"/);
    // --volumes: the anonymous volume of a pruned container goes too (through /volumes/prune).
    for (const cli of [d.docker.bind(d), d.wharf.bind(d)]) {
      await create(d, "withvol", ["-v", "/data"]);
      const volName = (await d.docker(["inspect", "--format", "{{range .Mounts}}{{.Name}}{{end}}", "withvol"])).stdout.trim();
      assert.match(volName, /^[0-9a-f]{64}$/);
      const withVolumes = await cli(["system", "prune", "-f", "--volumes"]);
      assert.equal(withVolumes.code, 0, withVolumes.stderr);
      assert.match(withVolumes.stdout, new RegExp(`Deleted Volumes:\n${volName}\n\n`));
      assert.equal((await d.api("GET", `/volumes/${volName}`)).status, 404);
    }
    assert.equal((await d.wharf(["rm", "-f", "keeper"])).code, 0);
  });

  test("the prune endpoints take until and label filters", async () => {
    const since = (Date.now() / 1000).toFixed(3); // not the earlier tests' prune events
    assert.equal((await d.wharf(["network", "create", "--label", "t=1", "unet1"])).code, 0);
    const none = await d.api("POST", `/networks/prune?filters=${encodeURIComponent(JSON.stringify({ until: { "2000-01-01T00:00:00Z": true } }))}`);
    assert.equal(none.status, 200, none.body);
    assert.deepEqual(none.json<{ NetworksDeleted: string[] }>().NetworksDeleted ?? [], []);
    const notT = await d.api("POST", `/networks/prune?filters=${encodeURIComponent(JSON.stringify({ "label!": { t: true } }))}`);
    assert.deepEqual(notT.json<{ NetworksDeleted: string[] }>().NetworksDeleted ?? [], []);
    const byLabel = await d.api("POST", `/networks/prune?filters=${encodeURIComponent(JSON.stringify({ label: { "t=1": true } }))}`);
    assert.deepEqual(byLabel.json<{ NetworksDeleted: string[] }>().NetworksDeleted, ["unet1"]);
    const c = await d.api("POST", `/containers/prune?filters=${encodeURIComponent(JSON.stringify({ until: { "10m": true } }))}`);
    assert.equal(c.status, 200);
    assert.deepEqual(c.json(), { ContainersDeleted: null, SpaceReclaimed: 0 });
    assert.equal((await d.api("POST", "/images/prune")).status, 200);
    const until = String(Math.ceil(Date.now() / 1000) + 1);
    const events = await d.docker(["events", "--since", since, "--until", until, "--filter", "event=prune", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.reclaimed}}"]);
    assert.equal(events.stdout, "container prune 0\nimage prune 0\n");
    const bad = await d.api("POST", `/containers/prune?filters=${encodeURIComponent(JSON.stringify({ until: { "not a time": true } }))}`);
    assert.equal(bad.status, 400);
  });

  test("system df -v: docker's verbose tables through both CLIs", async () => {
    assert.equal((await d.wharf(["run", "--name", "dfc", "busybox", "sh", "-c", "head -c 100000 /dev/zero > /blob"])).code, 0);
    for (const cli of [d.wharf.bind(d), d.docker.bind(d)]) {
      const res = await cli(["system", "df", "-v"]);
      assert.equal(res.code, 0, res.stderr);
      const out = res.stdout;
      assert.match(out, /^Images space usage:\n\nREPOSITORY +TAG +IMAGE ID +CREATED +SIZE +SHARED SIZE +UNIQUE SIZE +CONTAINERS\nbusybox +latest +[0-9a-f]{12} +.+ ago +\S+ +\S+ +\S+ +1\n/);
      assert.match(out, /\nContainers space usage:\n\nCONTAINER ID +IMAGE +COMMAND +LOCAL VOLUMES +SIZE +CREATED +STATUS +NAMES\n[0-9a-f]{12} +busybox +"sh -c 'head -c 1000…" +0 +100kB +.+ ago +Exited \(0\) .+ dfc\n/);
      assert.match(out, /\nLocal Volumes space usage:\n\nVOLUME NAME +LINKS +SIZE\n/);
      assert.match(out, /\nBuild cache usage: 0B\n\nCACHE ID +CACHE TYPE +SIZE +CREATED +LAST USED +USAGE +SHARED\n$/);
    }
    assert.equal((await d.wharf(["rm", "dfc"])).code, 0);
  });

  test("image events: tag, untag, delete, import, save, load in Docker's shape", async () => {
    const since = String(Math.floor(Date.now() / 1000) - 1);
    const imageId = (await d.api("GET", "/images/busybox:latest/json")).json<{ Id: string }>().Id;
    assert.equal((await d.docker(["tag", "busybox", "evt:1"])).code, 0);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-evt-"));
    try {
      const tar = path.join(dir, "img.tar");
      assert.equal((await d.docker(["save", "-o", tar, "evt:1"])).code, 0);
      assert.equal((await d.docker(["rmi", "evt:1"])).code, 0);
      const loaded = await d.docker(["load", "-i", tar]);
      assert.equal(loaded.code, 0, loaded.stderr);
      const rootfs = path.join(dir, "rootfs.tar");
      fs.writeFileSync(rootfs, Buffer.alloc(1024)); // an empty tar: two zero blocks
      const imported = await d.docker(["import", rootfs, "imp:1"]);
      assert.equal(imported.code, 0, imported.stderr);
      assert.equal((await d.docker(["rmi", "imp:1"])).code, 0);
      assert.equal((await d.docker(["rmi", "evt:1"])).code, 0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const until = String(Math.ceil(Date.now() / 1000) + 1);
    const events = await d.docker(["events", "--since", since, "--until", until, "--filter", "type=image", "--format", "{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}"]);
    assert.equal(events.code, 0, events.stderr);
    const lines = events.stdout.trim().split("\n");
    const impId = /^image import (sha256:[0-9a-f]{64}) /m.exec(events.stdout)?.[1] ?? "none";
    assert.deepEqual(lines, [
      `image tag ${imageId} evt:1`,
      `image save ${imageId} ${imageId}`,
      `image untag ${imageId} ${imageId}`,
      `image load ${imageId} ${imageId}`,
      `image tag ${impId} imp:1`,
      `image import ${impId} ${impId}`,
      `image untag ${impId} ${impId}`,
      `image delete ${impId} ${impId}`,
      `image untag ${imageId} ${imageId}`,
    ]);
    const wharfEvents = await d.wharf(["events", "--since", since, "--until", until, "--filter", "event=tag", "--filter", "type=image"]);
    assert.match(wharfEvents.stdout, new RegExp(`^\\S+ image tag ${imageId} \\(name=evt:1\\)$`, "m"));
  });
});
