import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { type TestDaemon, useDaemon } from "../helpers/daemon";

/** Volumes, binds, tmpfs and --volumes-from against a private wharfd (wharf CLI and the API). */

interface MountView {
  Type: string;
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

interface VolumeView {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string> | null;
  Options: Record<string, string> | null;
  Scope: string;
}

function mountedAt(p: string): boolean {
  return fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").some((l) => l.split(" ")[4] === p);
}

describe("volumes and mounts", () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));

  const ok = async (args: string[]): Promise<string> => {
    const r = await d.wharf(args);
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const fails = async (args: string[], pattern: RegExp): Promise<void> => {
    const r = await d.wharf(args);
    assert.notEqual(r.code, 0, `${args.join(" ")} should fail`);
    assert.match(r.stderr, pattern);
  };
  const mounts = async (ctr: string): Promise<MountView[]> => (await d.api("GET", `/containers/${ctr}/json`)).json<{ Mounts: MountView[] }>().Mounts;
  const volumeNames = async (): Promise<string[]> => (await ok(["volume", "ls", "-q"])).split("\n").filter(Boolean).sort();

  /** An image with /data owned 1234:5678 mode 0750 and content, declared as a VOLUME. */
  const makeVolumeImage = async (): Promise<void> => {
    await ok(["run", "--name", "volimg-src", "busybox", "sh", "-c", "mkdir -p /data/sub && echo seed > /data/f && ln -s f /data/link && chown -R 1234:5678 /data && chmod 0750 /data && chmod 0704 /data/f"]);
    await ok(["commit", "--change", "VOLUME /data", "volimg-src", "volimg"]);
    await ok(["rm", "volimg-src"]);
  };

  test("a named volume is created on first use; its data outlives containers; inspect and events show it", async () => {
    await ok(["run", "--rm", "-v", "named1:/data", "busybox", "sh", "-c", "echo hello > /data/greeting"]);
    assert.ok((await volumeNames()).includes("named1"));
    assert.equal(await ok(["run", "--rm", "-v", "named1:/srv", "busybox", "cat", "/srv/greeting"]), "hello\n");
    const v = (await d.api("GET", "/volumes/named1")).json<VolumeView>();
    assert.equal(v.Name, "named1");
    assert.equal(v.Driver, "local");
    assert.equal(v.Scope, "local");
    assert.equal(v.Mountpoint, path.join(d.dataRoot, "volumes", "named1", "_data"));
    assert.equal(await ok(["inspect", "-f", "{{.Name}} {{.Scope}}", "named1"]), "named1 local\n");
    assert.equal(await ok(["inspect", "--type", "volume", "-f", "{{.Driver}}", "named1"]), "local\n");
    assert.match(v.CreatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
    assert.equal(fs.readFileSync(path.join(v.Mountpoint, "greeting"), "utf8"), "hello\n");
    await ok(["create", "--name", "m1", "-v", "named1:/data:ro", "-v", "/tmp:/hosttmp", "busybox", "true"]);
    const m = await mounts("m1");
    assert.deepEqual(m.find((x) => x.Type === "volume"), { Type: "volume", Name: "named1", Source: v.Mountpoint, Destination: "/data", Driver: "local", Mode: "ro", RW: false, Propagation: "" });
    assert.deepEqual(m.find((x) => x.Type === "bind"), { Type: "bind", Source: "/tmp", Destination: "/hosttmp", Mode: "", RW: true, Propagation: "rprivate" });
    assert.equal(await ok(["ps", "-a", "-q", "--no-trunc", "--filter", "volume=named1"]), `${(await ok(["inspect", "-f", "{{.Id}}", "m1"])).trim()}\n`);
    await ok(["rm", "m1"]);
    const since = Math.floor(Date.now() / 1000) - 60;
    const ev = await ok(["events", "--since", String(since), "--until", String(Math.floor(Date.now() / 1000) + 1), "--filter", "type=volume", "--format", "{{.Action}} {{.Actor.ID}}"]);
    assert.match(ev, /^create named1$/m);
    assert.match(ev, /^mount named1$/m);
    assert.match(ev, /^unmount named1$/m);
  });

  test("volume data survives a daemon restart and a kill -9", async () => {
    await ok(["run", "--rm", "-v", "durable:/data", "busybox", "sh", "-c", "echo one > /data/a"]);
    await d.gracefulRestart();
    assert.equal(await ok(["run", "--rm", "-v", "durable:/data", "busybox", "cat", "/data/a"]), "one\n");
    await ok(["run", "-d", "--name", "writer", "-v", "durable:/data", "busybox", "sh", "-c", "echo two > /data/b; sync; sleep 300"]);
    await d.crashAndRestart();
    assert.equal(await ok(["exec", "writer", "cat", "/data/b"]), "two\n");
    await ok(["rm", "-f", "writer"]);
    assert.equal(await ok(["run", "--rm", "-v", "durable:/data", "busybox", "cat", "/data/a", "/data/b"]), "one\ntwo\n");
    assert.deepEqual(JSON.parse(await ok(["volume", "inspect", "-f", "{{json .Name}}", "durable"])), "durable");
  });

  test("a read-only mount rejects writes (-v :ro and --mount readonly)", async () => {
    const ro = await d.wharf(["run", "--rm", "-v", "rovol:/data:ro", "busybox", "sh", "-c", "echo x > /data/x"]);
    assert.notEqual(ro.code, 0);
    assert.match(ro.stderr + ro.stdout, /Read-only file system/);
    const ro2 = await d.wharf(["run", "--rm", "--mount", "type=volume,source=rovol,target=/data,readonly", "busybox", "touch", "/data/y"]);
    assert.notEqual(ro2.code, 0);
    assert.match(ro2.stderr + ro2.stdout, /Read-only file system/);
    assert.deepEqual(fs.readdirSync(path.join(d.dataRoot, "volumes", "rovol", "_data")), []);
  });

  test("bind mounts: -v creates a missing host path, --mount refuses one; bad specs are Docker's errors and change nothing", async () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-vol-bind-"));
    try {
      const made = path.join(base, "made", "here");
      await ok(["run", "--rm", "-v", `${made}:/b`, "busybox", "sh", "-c", "echo via-bind > /b/file"]);
      assert.equal(fs.readFileSync(path.join(made, "file"), "utf8"), "via-bind\n");
      const missing = path.join(base, "missing");
      await fails(["run", "--rm", "--mount", `type=bind,source=${missing},target=/b`, "busybox", "true"], new RegExp(`invalid mount config for type "bind": bind source path does not exist: ${missing}`));
      assert.equal(fs.existsSync(missing), false);
      await ok(["run", "--rm", "--mount", `type=bind,source=${made},target=/b,readonly`, "busybox", "cat", "/b/file"]);
      assert.doesNotMatch(await ok(["run", "--rm", "-v", `${made}:/b`, "busybox", "grep", " /b ", "/proc/self/mountinfo"]), /shared:|master:/, "rprivate by default");
      const before = await ok(["ps", "-a", "-q"]);
      const volsBefore = await volumeNames();
      await fails(["run", "--rm", "-v", "rel/path:/x", "busybox", "true"], /includes invalid characters for a local volume name, only "\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]" are allowed. If you intended to pass a host directory, use absolute path/);
      await fails(["run", "--rm", "-v", `${made}:rel`, "busybox", "true"], /invalid volume specification: '.*:rel': invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute/);
      await fails(["run", "--rm", "-v", "a:/x", "-v", "b:/x", "busybox", "true"], /Duplicate mount point: \/x/);
      await fails(["run", "--rm", "-v", "a:/x:bogus", "busybox", "true"], /invalid mode: bogus/);
      await fails(["run", "--rm", "--mount", "type=bind,source=/tmp,target=/x,bogus=1", "busybox", "true"], /unexpected key 'bogus'/);
      await fails(["run", "--rm", "--tmpfs", "/t:bogus", "busybox", "true"], /invalid tmpfs option/);
      await fails(["run", "--rm", "-v", `${d.dataRoot}:/state`, "busybox", "true"], /refusing to bind the daemon's own state directory/);
      const sock = await d.api("POST", "/containers/create", { Image: "busybox", Cmd: ["true"], HostConfig: { Binds: [`${d.socketPath}:/var/run/docker.sock`] } });
      assert.equal(sock.status, 201, sock.body);
      assert.match(sock.json<{ Warnings: string[] }>().Warnings.join("\n"), /API socket/);
      assert.equal((await d.api("DELETE", `/containers/${sock.json<{ Id: string }>().Id}`)).status, 204);
      await fails(["run", "--rm", "--volumes-from", "no-such-ctr", "busybox", "true"], /No such container: no-such-ctr/);
      await fails(["volume", "create", "bad@name"], /create bad@name: "bad@name" includes invalid characters for a local volume name/);
      await fails(["volume", "create", "--opt", "bogus=1", "optvol"], /invalid option: "bogus"/);
      assert.equal(await ok(["ps", "-a", "-q"]), before);
      assert.deepEqual(await volumeNames(), volsBefore, "no volume made by a refused request");
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  });

  test("bind-propagation: rslave sees host mounts made later; shared propagation from a private mount is Docker's error", async () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-vol-prop-"));
    const sh = (cmd: string, ...args: string[]): void => {
      const r = spawnSync(cmd, args, { encoding: "utf8" });
      assert.equal(r.status, 0, `${cmd} ${args.join(" ")}: ${r.stderr}`);
    };
    const shared = path.join(base, "shared");
    const priv = path.join(base, "private");
    fs.mkdirSync(path.join(shared, "late"), { recursive: true });
    fs.mkdirSync(priv);
    sh("mount", "--bind", shared, shared);
    sh("mount", "--make-rshared", shared);
    sh("mount", "--bind", priv, priv);
    sh("mount", "--make-private", priv);
    try {
      await ok(["run", "-d", "--name", "prop", "--mount", `type=bind,source=${shared},target=/b,bind-propagation=rslave`, "busybox", "sleep", "300"]);
      assert.deepEqual((await mounts("prop")).map((m) => m.Propagation), ["rslave"]);
      sh("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", path.join(shared, "late"));
      assert.match(await ok(["exec", "prop", "grep", " /b/late ", "/proc/self/mountinfo"]), /tmpfs/, "a host mount made after start propagates in");
      await ok(["rm", "-f", "prop"]);
      assert.match(await ok(["run", "--rm", "-v", `${shared}:/b:rshared`, "busybox", "grep", " /b ", "/proc/self/mountinfo"]), / shared:\d+ /);
      await fails(["run", "--rm", "-v", `${priv}:/b:rshared`, "busybox", "true"], new RegExp(`path ${priv} is mounted on ${priv} but it is not a shared mount`));
      await fails(["run", "--rm", "--mount", `type=bind,source=${priv},target=/b,bind-propagation=rslave`, "busybox", "true"], /is not a shared or slave mount/);
    } finally {
      spawnSync("umount", ["-l", path.join(shared, "late")]);
      spawnSync("umount", ["-l", shared]);
      spawnSync("umount", ["-l", priv]);
      fs.rmSync(base, { recursive: true, force: true });
    }
  });

  test("anonymous volumes from the image's VOLUME and -v /path; rm keeps them, rm -v and --rm remove them", async () => {
    await makeVolumeImage();
    await ok(["create", "--name", "anon1", "-v", "/scratch", "volimg", "true"]);
    const m = await mounts("anon1");
    const anon = m.filter((x) => x.Type === "volume");
    assert.deepEqual(anon.map((x) => x.Destination).sort(), ["/data", "/scratch"]);
    for (const x of anon) {
      assert.match(x.Name ?? "", /^[0-9a-f]{64}$/);
      const v = (await d.api("GET", `/volumes/${x.Name}`)).json<VolumeView>();
      assert.deepEqual(v.Labels, { "com.docker.volume.anonymous": "" });
    }
    await ok(["rm", "anon1"]);
    for (const x of anon) assert.equal((await d.api("GET", `/volumes/${x.Name}`)).status, 200, "rm without -v keeps anonymous volumes");
    await ok(["create", "--name", "anon2", "-v", "/scratch", "-v", "keepme:/data", "volimg", "true"]);
    const anon2 = (await mounts("anon2")).filter((x) => x.Type === "volume");
    await ok(["rm", "-v", "anon2"]);
    const scratch = anon2.find((x) => x.Destination === "/scratch");
    assert.equal((await d.api("GET", `/volumes/${scratch?.Name}`)).status, 404, "rm -v removes the anonymous volume");
    assert.equal((await d.api("GET", "/volumes/keepme")).status, 200, "rm -v keeps named volumes");
    const cid = (await ok(["create", "--rm", "volimg", "true"])).trim();
    const autoAnon = (await mounts(cid)).find((x) => x.Destination === "/data")?.Name;
    await ok(["start", "-a", cid]);
    for (let i = 0; i < 50 && (await d.api("GET", `/volumes/${autoAnon}`)).status === 200; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await d.api("GET", `/volumes/${autoAnon}`)).status, 404, "--rm removes the anonymous volume");
    // A VOLUME over a file of the image is Docker's error, and leaves nothing behind.
    await ok(["run", "--name", "fileimg-src", "busybox", "sh", "-c", "echo x > /datafile"]);
    await ok(["commit", "--change", "VOLUME /datafile", "fileimg-src", "fileimg"]);
    await ok(["rm", "fileimg-src"]);
    const volsBefore = await volumeNames();
    await fails(["create", "fileimg", "true"], /cannot mount volume over existing file, file exists .*\/datafile/);
    assert.deepEqual(await volumeNames(), volsBefore);
    // Left-overs for prune below.
    await ok(["volume", "prune", "-f"]);
  });

  test("copy-up fills an empty volume from the image (ownership, modes, links) and leaves a non-empty one alone", async () => {
    const out = await ok(["run", "--rm", "-v", "cpy:/data", "volimg", "sh", "-c", "stat -c '%u:%g %a %n' /data /data/f /data/sub; cat /data/f; readlink /data/link"]);
    assert.equal(out, "1234:5678 750 /data\n1234:5678 704 /data/f\n1234:5678 755 /data/sub\nseed\nf\n");
    const st = fs.statSync(path.join(d.dataRoot, "volumes", "cpy", "_data"));
    assert.equal(st.uid, 1234);
    assert.equal(st.mode & 0o7777, 0o750);
    await ok(["run", "--rm", "-v", "full:/data", "busybox", "sh", "-c", "echo mine > /data/own"]);
    assert.equal(await ok(["run", "--rm", "-v", "full:/data", "volimg", "ls", "/data"]), "own\n");
    assert.equal(await ok(["run", "--rm", "--mount", "type=volume,source=nocp,target=/data,volume-nocopy", "volimg", "ls", "-A", "/data"]), "");
  });

  test("--volumes-from shares a container's volumes and binds, read-only with :ro", async () => {
    await ok(["create", "--name", "donor", "-v", "shared1:/shared", "-v", "/anon", "busybox", "true"]);
    await ok(["run", "--rm", "--volumes-from", "donor", "busybox", "sh", "-c", "echo from-taker > /shared/x && echo a > /anon/y"]);
    assert.equal(await ok(["run", "--rm", "-v", "shared1:/s", "busybox", "cat", "/s/x"]), "from-taker\n");
    const ro = await d.wharf(["run", "--rm", "--volumes-from", "donor:ro", "busybox", "touch", "/shared/z"]);
    assert.notEqual(ro.code, 0);
    const cid = (await ok(["create", "--volumes-from", "donor", "busybox", "true"])).trim();
    const anonName = (await mounts("donor")).find((x) => x.Destination === "/anon")?.Name;
    assert.equal((await mounts(cid)).find((x) => x.Destination === "/anon")?.Name, anonName);
    await ok(["rm", "-v", cid]);
    assert.equal((await d.api("GET", `/volumes/${anonName}`)).status, 200, "the donor's anonymous volume is not the taker's to remove");
    await ok(["rm", "-v", "donor"]);
    assert.equal((await d.api("GET", `/volumes/${anonName}`)).status, 404);
  });

  test("tmpfs: --tmpfs and --mount type=tmpfs with size and mode; a tmpfs volume is mounted only while used", async () => {
    const out = await ok(["run", "--rm", "--tmpfs", "/t1:size=8m,mode=1700", "--mount", "type=tmpfs,target=/t2,tmpfs-size=4m,tmpfs-mode=0750", "busybox", "sh", "-c", "grep -E ' /t[12] ' /proc/mounts; stat -c '%a' /t1 /t2"]);
    assert.match(out, /tmpfs \/t1 tmpfs rw,nosuid,nodev,noexec,relatime,size=8192k,mode=1700/);
    assert.match(out, /tmpfs \/t2 tmpfs rw,nosuid,nodev,noexec,relatime,size=4096k,mode=750/);
    assert.match(out, /1700\n750\n$/);
    await ok(["create", "--name", "tm", "--mount", "type=tmpfs,target=/t", "busybox", "true"]);
    assert.deepEqual((await mounts("tm")).map((m) => [m.Type, m.Destination, m.RW]), [["tmpfs", "/t", true]]);
    await ok(["rm", "tm"]);

    await ok(["volume", "create", "--driver", "local", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "--opt", "o=size=2m", "tvol"]);
    const data = path.join(d.dataRoot, "volumes", "tvol", "_data");
    assert.equal(mountedAt(data), false);
    await ok(["run", "-d", "--name", "tuser", "-v", "tvol:/t", "busybox", "sh", "-c", "echo in-tmpfs > /t/f; sleep 300"]);
    assert.equal(mountedAt(data), true);
    assert.match(await ok(["exec", "tuser", "grep", " /t ", "/proc/mounts"]), /tmpfs \/t tmpfs .*size=2048k/);
    // A crashed daemon finds its user running again: the volume stays mounted, and is released at the end.
    await d.crashAndRestart();
    assert.equal(mountedAt(data), true);
    assert.equal(await ok(["exec", "tuser", "cat", "/t/f"]), "in-tmpfs\n");
    await ok(["rm", "-f", "tuser"]);
    assert.equal(mountedAt(data), false, "the last user gone, the tmpfs is unmounted");
    const v = (await d.api("GET", "/volumes/tvol")).json<VolumeView>();
    assert.deepEqual(v.Options, { type: "tmpfs", device: "tmpfs", o: "size=2m" });
    await ok(["volume", "rm", "tvol"]);
  });

  test("volume ls filters and formats, rm while in use, rm -f, prune keeps named volumes unless -a", async () => {
    await ok(["volume", "create", "--label", "tier=db", "--label", "x", "lsvol1"]);
    await ok(["volume", "create", "lsvol2"]);
    assert.equal(await ok(["volume", "ls", "-q", "--filter", "label=tier=db"]), "lsvol1\n");
    assert.equal(await ok(["volume", "ls", "--filter", "name=lsvol", "--format", "{{.Name}} {{.Driver}} {{.Scope}}"]), "lsvol1 local local\nlsvol2 local local\n");
    assert.match(await ok(["volume", "ls", "--filter", "name=lsvol1"]), /^DRIVER\s+VOLUME NAME\nlocal\s+lsvol1\n$/);
    await ok(["create", "--name", "holder", "-v", "lsvol2:/d", "busybox", "true"]);
    const holderId = (await ok(["inspect", "-f", "{{.Id}}", "holder"])).trim();
    const dangling = await ok(["volume", "ls", "-q", "--filter", "dangling=true", "--filter", "name=lsvol"]);
    assert.equal(dangling, "lsvol1\n");
    assert.equal(await ok(["volume", "ls", "-q", "--filter", "dangling=false", "--filter", "name=lsvol"]), "lsvol2\n");
    const inUse = await d.api("DELETE", "/volumes/lsvol2");
    assert.equal(inUse.status, 409);
    assert.equal(inUse.json<{ message: string }>().message, `remove lsvol2: volume is in use - [${holderId}]`);
    await fails(["volume", "rm", "-f", "lsvol2"], /volume is in use/);
    assert.equal((await d.api("GET", "/volumes/lsvol2")).status, 200);
    await fails(["volume", "rm", "nosuchvol"], /get nosuchvol: no such volume/);
    await ok(["volume", "rm", "-f", "nosuchvol"]);
    await fails(["volume", "inspect", "nosuchvol"], /no such volume/);

    const anonId = (await ok(["volume", "create"])).trim();
    assert.match(anonId, /^[0-9a-f]{64}$/);
    const prune = await ok(["volume", "prune", "-f"]);
    assert.match(prune, new RegExp(`^Deleted Volumes:\\n${anonId}\\n\\nTotal reclaimed space: `));
    assert.ok((await volumeNames()).includes("lsvol1"), "named volumes survive a plain prune");
    const labelled = await ok(["volume", "prune", "-f", "-a", "--filter", "label=tier=db"]);
    assert.match(labelled, /Deleted Volumes:\nlsvol1\n/);
    const df = (await d.api("GET", "/system/df")).json<{ Volumes: Array<{ Name: string; UsageData: { Size: number; RefCount: number } }> }>();
    const named1 = df.Volumes.find((v) => v.Name === "named1");
    assert.equal(named1?.UsageData.Size, 6);
    assert.equal(named1?.UsageData.RefCount, 0);
    const lsvol2 = df.Volumes.find((v) => v.Name === "lsvol2");
    assert.equal(lsvol2?.UsageData.RefCount, 1);
    const dfCli = await ok(["system", "df", "--format", "{{.Type}} {{.TotalCount}} {{.Active}}"]);
    assert.match(dfCli, new RegExp(`^Local Volumes ${df.Volumes.length} 1$`, "m"));
    // API clients before 1.42 prune every unused volume, named ones too.
    const old = await d.api("POST", "/v1.41/volumes/prune");
    assert.equal(old.status, 200);
    const oldDeleted = old.json<{ VolumesDeleted: string[] | null }>().VolumesDeleted ?? [];
    assert.ok(oldDeleted.includes("named1") && !oldDeleted.includes("lsvol2"), "in use: never pruned");
    assert.equal((await d.api("GET", "/volumes/lsvol2")).status, 200);
    await ok(["rm", "holder"]);
    const t0 = Math.floor(Date.now() / 1000) - 1;
    await ok(["volume", "rm", "lsvol2"]);
    const destroyed = await ok(["events", "--since", String(t0), "--until", String(t0 + 30), "--filter", "volume=lsvol2", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.driver}}"]);
    assert.equal(destroyed, "volume destroy local\n");
  });

  test("hostile symlinks: at the image's mount path and inside a volume, copy-up and removal stay inside", async () => {
    const hostDir = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-vol-host-"));
    try {
      fs.writeFileSync(path.join(hostDir, "secret"), "host secret\n");
      // The image's /data is an absolute symlink aiming at the host directory.
      await ok(["run", "--name", "evil-src", "busybox", "sh", "-c", `ln -s /../../../../../../..${hostDir} /data`]);
      await ok(["commit", "--change", "VOLUME /data", "evil-src", "evilimg"]);
      await ok(["rm", "evil-src"]);
      assert.equal(await ok(["run", "--rm", "-v", "evilvol:/data", "evilimg", "sh", "-c", "ls -A /data; echo planted > /data/planted"]), "");
      assert.deepEqual(fs.readdirSync(hostDir), ["secret"], "nothing copied from or written to the host directory");
      assert.deepEqual(fs.readdirSync(path.join(d.dataRoot, "volumes", "evilvol", "_data")), ["planted"]);
      // A symlink inside the volume to the host directory: removing the volume removes the link only.
      await ok(["run", "--rm", "-v", "evilvol:/v", "busybox", "sh", "-c", `ln -s ${hostDir} /v/out && ln -s ${hostDir}/secret /v/file`]);
      await ok(["volume", "rm", "evilvol"]);
      assert.equal(fs.readFileSync(path.join(hostDir, "secret"), "utf8"), "host secret\n");
      // An anonymous image volume over a symlink resolves inside the container root too.
      await ok(["run", "--rm", "-v", "/data", "evilimg", "true"]);
      assert.deepEqual(fs.readdirSync(hostDir), ["secret"]);
    } finally {
      fs.rmSync(hostDir, { recursive: true, force: true });
    }
  });
});
