import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { encodeGuestNic, GUEST_TAP, pickNic } from "../../src/runtime/vm/guest-network";
import { prepareGuestMounts, wrapVirtiofsd } from "../../src/runtime/vm/guest-mounts";
import { vmRefusal } from "../../src/runtime/vm/vm-limits";

test("volumes and binds are accepted now; joining another container's network is refused", () => {
  assert.equal(vmRefusal({ binds: ["v:/data"], mounts: [{}] }), null);
  assert.match(vmRefusal({ networkMode: "container:web" }) ?? "", /does not support --network container:/);
});

test("the guest's NIC is the namespace's first addressed interface other than lo and the tap", () => {
  const addrs = [
    { ifname: "lo", address: "00:00:00:00:00:00", addr_info: [{ family: "inet", local: "127.0.0.1", prefixlen: 8 }] },
    { ifname: GUEST_TAP, mtu: 1500, address: "02:00:00:00:00:01", addr_info: [] },
    { ifname: "eth1", mtu: 1500, address: "aa:bb:cc:00:00:02", addr_info: [{ family: "inet", local: "10.1.0.2", prefixlen: 16 }] },
    { ifname: "eth0", mtu: 1450, address: "aa:bb:cc:00:00:01", addr_info: [{ family: "inet6", local: "fe80::1", prefixlen: 64 }, { family: "inet", local: "10.0.0.5", prefixlen: 24 }] },
  ];
  const routes = [{ dst: "default", gateway: "10.0.0.1", dev: "eth0" }, { dst: "10.0.0.0/24", dev: "eth0" }];
  const nic = pickNic(addrs, routes);
  assert.deepEqual(nic, { veth: "eth0", mac: "aa:bb:cc:00:00:01", address: "10.0.0.5", prefix: 24, gateway: "10.0.0.1", mtu: 1450 });
  assert.equal(encodeGuestNic(nic!).toString("utf8"), "aa:bb:cc:00:00:01\u000010.0.0.5\u000024\u000010.0.0.1\u00001450\u0000");
  assert.equal(pickNic(addrs.slice(0, 2), []), null, "--network none: no NIC");
  assert.equal(pickNic([{ ifname: "eth0; reboot", address: "aa:bb:cc:00:00:01", addr_info: [{ family: "inet", local: "10.0.0.5", prefixlen: 24 }] }], []), null, "no shell words in names");
});

test("mounts get their mount points inside the root, symlinks resolved there, kernel filesystems left to the agent", () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-vm-mounts-"));
  try {
    const rootfs = path.join(base, "rootfs");
    const outside = path.join(base, "outside");
    fs.mkdirSync(path.join(rootfs, "etc"), { recursive: true });
    fs.mkdirSync(outside);
    // An image's symlink pointing out of the root must land inside it.
    fs.symlinkSync("/escape", path.join(rootfs, "data"));
    fs.writeFileSync(path.join(base, "hosts"), "127.0.0.1 localhost\n");
    const mounts = prepareGuestMounts(rootfs, [
      { destination: "/proc", type: "proc", source: "proc", options: [] },
      { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["mode=1777"] },
      { destination: "/etc/hosts", type: "bind", source: path.join(base, "hosts"), options: ["rbind", "rprivate"] },
      { destination: "/data/sub", type: "bind", source: outside, options: ["rbind", "ro"] },
      { destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["nosuid", "size=65536k", "rw"] },
    ]);
    assert.deepEqual(
      mounts.map((m) => [m.kind, m.target, m.readOnly, m.options.join(",")]),
      [
        ["bind", path.join(rootfs, "etc/hosts"), false, ""],
        ["bind", path.join(rootfs, "escape/sub"), true, ""],
        ["tmpfs", path.join(rootfs, "scratch"), false, "nosuid,size=65536k"],
      ],
    );
    assert.ok(fs.statSync(path.join(rootfs, "etc/hosts")).isFile(), "a file mount point for a file");
    assert.ok(fs.statSync(path.join(rootfs, "escape/sub")).isDirectory());
    assert.deepEqual(fs.readdirSync(outside), [], "nothing was made outside the root");
    const argv = wrapVirtiofsd("/usr/bin/unshare", "/bin/sh", "/usr/lib/qemu/virtiofsd", ["--socket-path=x.sock"], mounts);
    assert.deepEqual(argv.slice(0, 6), ["/usr/bin/unshare", "--mount", "--propagation", "private", "--", "/bin/sh"]);
    assert.equal(argv[9], "3");
    assert.deepEqual(argv.slice(-4), ["/usr/lib/qemu/virtiofsd", "--socket-path=x.sock", "-o", "announce_submounts"]);
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});
