import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { type MountContext, type MountPoint, mountsView, ociMounts, planMounts } from "../../src/engine/containers/mounts";
import { copyUp } from "../../src/engine/volumes/copy-up";
import { parseMountOptions } from "../../src/engine/volumes/volume-service";

function ctx(donors: Record<string, MountPoint[]> = {}): MountContext {
  return {
    dataRoot: "/var/lib/wharf-unit",
    execRoot: "/run/wharf-unit",
    apiSockets: ["/run/wharf-unit.sock"],
    mountPointsOf: (ref) => {
      const mounts = donors[ref];
      if (!mounts) throw new Error(`No such container: ${ref}`);
      return { id: ref, mounts };
    },
  };
}

test("-v specs: named volumes (Mode z), binds (rprivate), modes, anonymous VOLUMEs, and Docker's errors", () => {
  const plan = planMounts({ Binds: ["data:/data:ro", "/tmp:/host:private"], Volumes: { "/data": {}, "/cache/": {} } }, ctx());
  assert.deepEqual(mountsView(plan.mounts), [
    { Type: "volume", Name: "data", Source: "", Destination: "/data", Driver: "local", Mode: "ro", RW: false, Propagation: "" },
    { Type: "bind", Source: "/tmp", Destination: "/host", Mode: "private", RW: true, Propagation: "private" },
    { Type: "volume", Name: "", Source: "", Destination: "/cache", Driver: "local", Mode: "", RW: true, Propagation: "" },
  ]);
  assert.equal(plan.mounts[2].anonymous, true);
  assert.equal(planMounts({ Binds: ["v:/x"] }, ctx()).mounts[0].Mode, "z");
  const bad: Array<[string[], RegExp]> = [
    [["/tmp:rel"], /invalid volume specification: '\/tmp:rel': invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute$/],
    [["/tmp:/"], /destination can't be '\/'/],
    [["/x:ro"], /invalid volume specification: '\/x:ro'$/],
    [["v:/x:bogus"], /invalid mode: bogus$/],
    [["v:/x:rshared"], /invalid mode: rshared$/],
    [["a:/x", "b:/x/"], /Duplicate mount point: \/x$/],
    [["/var/lib/wharf-unit/containers:/c"], /refusing to bind the daemon's own state directory/],
  ];
  for (const [binds, re] of bad) assert.throws(() => planMounts({ Binds: binds }, ctx()), re, binds.join(" "));
});

test("--mount objects: bind source must exist, tmpfs options, volume options; unknown types", () => {
  assert.throws(() => planMounts({ Mounts: [{ Type: "bind", Source: "/no/such/dir", Target: "/x" }] }, ctx()), /invalid mount config for type "bind": bind source path does not exist: \/no\/such\/dir$/);
  assert.throws(() => planMounts({ Mounts: [{ Type: "bind", Source: "rel", Target: "/x" }] }, ctx()), /invalid mount path: 'rel' mount path must be absolute/);
  assert.throws(() => planMounts({ Mounts: [{ Type: "tmpfs", Source: "x", Target: "/x" }] }, ctx()), /field Source must not be specified/);
  assert.throws(() => planMounts({ Mounts: [{ Type: "weird", Target: "/x" }] }, ctx()), /invalid mount config for type "weird": mount type unknown/);
  assert.throws(() => planMounts({ Tmpfs: { "/t": "size=1m,bogus" } }, ctx()), /invalid tmpfs option \["bogus"\]/);
  const plan = planMounts({ Mounts: [{ Type: "tmpfs", Target: "/t", TmpfsOptions: { SizeBytes: 1048576, Mode: 0o750 } }, { Type: "volume", Source: "v", Target: "/v", VolumeOptions: { NoCopy: true } }], Tmpfs: { "/run": "size=64m" } }, ctx());
  assert.equal(plan.mounts.find((m) => m.Destination === "/v")?.copyData, false);
  const oci = ociMounts(plan.mounts, () => "/volumes/v/_data");
  assert.deepEqual(oci, [
    { destination: "/t", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "noexec", "size=1048576", "mode=750", "rw"] },
    { destination: "/v", type: "bind", source: "/volumes/v/_data", options: ["rbind", "rprivate", "rw"] },
    { destination: "/run", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "noexec", "size=64m", "rw"] },
  ]);
  assert.deepEqual(mountsView(plan.mounts).map((m) => m.Destination), ["/t", "/v"], "--tmpfs is not in inspect's Mounts");
});

test("--volumes-from copies the donor's mount points, with :ro; -v at the same place wins; the API socket is warned about", () => {
  const donor: MountPoint[] = [{ Type: "volume", Name: "shared", Source: "/s", Destination: "/data", Driver: "local", Mode: "z", RW: true, Propagation: "", anonymous: true }];
  const plan = planMounts({ VolumesFrom: ["donor:ro"] }, ctx({ donor }));
  assert.equal(plan.mounts[0].RW, false);
  assert.equal(plan.mounts[0].anonymous, false, "the taker does not own the donor's anonymous volume");
  assert.equal(planMounts({ VolumesFrom: ["donor"], Binds: ["other:/data"] }, ctx({ donor })).mounts[0].Name, "other");
  assert.throws(() => planMounts({ VolumesFrom: ["ghost"] }, ctx()), /No such container: ghost/);
  assert.throws(() => planMounts({ VolumesFrom: ["donor:bogus"] }, ctx({ donor })), /invalid mode: bogus/);
  assert.match(planMounts({ Binds: ["/run/wharf-unit.sock:/var/run/docker.sock"] }, ctx()).warnings.join(""), /API socket/);
});

test("local driver o= options split into mount flags and data", () => {
  assert.deepEqual(parseMountOptions("size=64m,uid=1000"), { flags: 0, data: "size=64m,uid=1000" });
  assert.deepEqual(parseMountOptions("bind,ro"), { flags: 0x1000 | 0x1, data: "" });
  assert.deepEqual(parseMountOptions("addr=1.2.3.4,rw,nosuid"), { flags: 0x2, data: "addr=1.2.3.4" });
});

test("copy-up keeps owners, modes and links, never follows a symlink out, and leaves a non-empty volume alone", async () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-unit-copyup-"));
  try {
    const root = path.join(base, "root");
    const outside = path.join(base, "outside");
    fs.mkdirSync(path.join(root, "data", "sub"), { recursive: true });
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, "secret"), "no");
    fs.writeFileSync(path.join(root, "data", "f"), "content");
    fs.chownSync(path.join(root, "data", "f"), 4321, 8765);
    fs.chmodSync(path.join(root, "data", "f"), 0o640);
    fs.chmodSync(path.join(root, "data"), 0o711);
    fs.linkSync(path.join(root, "data", "f"), path.join(root, "data", "hard"));
    fs.symlinkSync(outside, path.join(root, "data", "out"));
    // /evil is an absolute link to the host directory: inside the root it means <root>/<outside>.
    fs.symlinkSync(`/../../..${outside}`, path.join(root, "evil"));
    const vol = path.join(base, "vol");
    fs.mkdirSync(vol);
    assert.equal(await copyUp(root, "/data", vol), "copied");
    assert.deepEqual(fs.readdirSync(vol).sort(), ["f", "hard", "out", "sub"]);
    const st = fs.statSync(path.join(vol, "f"));
    assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [4321, 8765, 0o640]);
    assert.equal(st.ino, fs.statSync(path.join(vol, "hard")).ino);
    assert.equal(fs.readlinkSync(path.join(vol, "out")), outside);
    assert.equal(fs.statSync(vol).mode & 0o7777, 0o711);
    assert.equal(await copyUp(root, "/data", vol), "not-empty");
    const vol2 = path.join(base, "vol2");
    fs.mkdirSync(vol2);
    assert.equal(await copyUp(root, "/evil", vol2), "no-source");
    assert.deepEqual(fs.readdirSync(vol2), []);
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});
