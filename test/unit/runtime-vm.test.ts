import { test } from "node:test";
import * as assert from "node:assert/strict";
import type { OciSpec } from "../../src/runtime/oci-spec";
import { encodeGuestProcess } from "../../src/runtime/vm/guest-process";
import { qemuArgs, virtiofsdArgs } from "../../src/runtime/vm/qemu-args";
import { guestCpus, guestMemoryMiB, VM_MIN_MEMORY, vmRefusal } from "../../src/runtime/vm/vm-limits";

const spec = (over: Partial<OciSpec["process"]> = {}): OciSpec =>
  ({
    ociVersion: "1.0.2",
    process: { terminal: false, user: { uid: 1000, gid: 100, additionalGids: [10, 20] }, args: ["sh", "-c", "echo hi"], env: ["PATH=/bin", "A=b c"], cwd: "/work", ...over },
    root: { path: "rootfs", readonly: false },
    hostname: "box",
    mounts: [],
    linux: { resources: {} },
  }) as unknown as OciSpec;

test("the guest process is NUL-separated fields in the agent's order", () => {
  const fields = encodeGuestProcess(spec(), true).toString("utf8").split("\0");
  assert.deepEqual(fields, ["1000", "100", "2", "10", "20", "/work", "box", "1", "3", "sh", "-c", "echo hi", "2", "PATH=/bin", "A=b c", "0", "0", "0", ""]);
  const tty = encodeGuestProcess(spec({ terminal: true, consoleSize: { height: 30, width: 100 } }), true).toString("utf8").split("\0");
  assert.deepEqual(tty.slice(-4), ["1", "30", "100", ""]);
  assert.throws(() => encodeGuestProcess(spec({ args: ["a\0b"] }), false), /NUL/);
});

test("options a VM cannot honour are refused by name", () => {
  assert.equal(vmRefusal({}), null);
  assert.equal(vmRefusal({ networkMode: "bridge", pidMode: "", memory: 64 * 1024 * 1024 }), null);
  assert.match(vmRefusal({ pidMode: "host" }) ?? "", /--pid host/);
  assert.match(vmRefusal({ networkMode: "host" }) ?? "", /--network host/);
  assert.match(vmRefusal({ ipcMode: "host" }) ?? "", /--ipc host/);
  assert.match(vmRefusal({ privileged: true }) ?? "", /--privileged/);
  assert.match(vmRefusal({ devices: [{}] }) ?? "", /--device/);
  assert.match(vmRefusal({ memory: VM_MIN_MEMORY - 1 }) ?? "", /Minimum memory limit allowed for the vm runtime is 32MB/);
});

test("-m and --cpus become guest RAM and vCPUs", () => {
  assert.equal(guestMemoryMiB(64 * 1024 * 1024), 64 + 96);
  assert.equal(guestMemoryMiB(undefined), 512 + 96);
  assert.equal(guestCpus(undefined, undefined, 8), 1);
  assert.equal(guestCpus(150000, 100000, 8), 2);
  assert.equal(guestCpus(50000, 100000, 8), 1);
  assert.equal(guestCpus(1600000, 100000, 4), 4);
});

test("qemu's command line carries the state dir and the machine's shape", () => {
  const host = { qemu: "/q", virtiofsd: "/v", shim: "", kernel: "/k", initrd: "/i", accel: "tcg" as const, accelReason: "", tscKhz: 2000000 };
  const args = qemuArgs(host, { memoryMiB: 160, cpus: 2, stateDir: "/tmp/wharf-test-x/exec/vm/abc" });
  const after = (flag: string): string[] => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));
  assert.deepEqual(after("-m"), ["160M"]);
  assert.deepEqual(after("-smp"), ["2"]);
  assert.deepEqual(after("-pidfile"), ["/tmp/wharf-test-x/exec/vm/abc/qemu.pid"]);
  assert.match(after("-append")[0], /tsc_early_khz=2000000/);
  assert.match(after("-accel")[0], /^tcg,tb-size=\d+$/);
  assert.ok(after("-chardev").some((c) => c.includes("path=vfs-abc.sock")));
  assert.deepEqual(virtiofsdArgs("/root fs", "/x/abc").slice(0, 3), ["--socket-path=vfs-abc.sock", "-o", "source=/root fs"]);
  assert.equal(virtiofsdArgs("/a,b", "/x/abc")[2], "source=/a\\,b");
});
