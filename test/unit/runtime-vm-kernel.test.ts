import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { defaultVmAssets, kernelHasAcpi, kernelIn } from "../../src/runtime/vm/assets";
import { kernelRelease } from "../../src/runtime/vm/kernel-release";
import { qemuArgs } from "../../src/runtime/vm/qemu-args";

function withTempDir(fn: (dir: string) => void): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-vm-kernel-"));
  try {
    fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test("the release is read from a vmlinux banner, even across the 1 MiB read boundary", () => {
  withTempDir((dir) => {
    const file = path.join(dir, "vmlinux");
    const banner = Buffer.from("Linux version 6.1.99-wharf (root@build) #1 SMP\0");
    const image = Buffer.alloc((1 << 20) + 4096);
    image.write("\x7fELF", 0, "latin1");
    banner.copy(image, (1 << 20) - 5);
    fs.writeFileSync(file, image);
    assert.equal(kernelRelease(file), "6.1.99-wharf");
  });
});

test("the release is read from a bzImage's header; no kernel, no release", () => {
  withTempDir((dir) => {
    const file = path.join(dir, "vmlinuz");
    const image = Buffer.alloc(0x1000);
    image.write("HdrS", 0x202, "latin1");
    image.writeUInt16LE(0x300, 0x20e);
    image.write("6.1.0-56-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP\0", 0x500, "latin1");
    fs.writeFileSync(file, image);
    assert.equal(kernelRelease(file), "6.1.0-56-cloud-amd64");
    assert.equal(kernelRelease(path.join(dir, "missing")), undefined);
    fs.writeFileSync(path.join(dir, "empty"), "");
    assert.equal(kernelRelease(path.join(dir, "empty")), undefined);
  });
});

test("the installed default kernel names the release its assets dir is named after", { skip: !fs.existsSync(kernelIn(defaultVmAssets())) && "no guest kernel built" }, () => {
  const assets = defaultVmAssets();
  assert.equal(kernelRelease(kernelIn(assets)), path.basename(fs.realpathSync(assets)));
});

test("a kernel whose config lacks ACPI gets a microvm with acpi=off; others keep ACPI", () => {
  withTempDir((dir) => {
    const kernel = path.join(dir, "vmlinux");
    assert.equal(kernelHasAcpi(kernel), true, "no config beside it: assumed to have ACPI, as Debian's do");
    fs.writeFileSync(path.join(dir, "config"), "CONFIG_64BIT=y\n# CONFIG_ACPI is not set\nCONFIG_PVH=y\n");
    assert.equal(kernelHasAcpi(kernel), false);
    fs.writeFileSync(path.join(dir, "config"), "CONFIG_64BIT=y\nCONFIG_ACPI=y\n");
    assert.equal(kernelHasAcpi(kernel), true);
  });
  const host = { qemu: "q", virtiofsd: "v", shim: "s", kernel: "k", initrd: "i", accel: "tcg" as const, accelReason: "", tscKhz: 0 };
  const machine = (acpi: boolean | undefined) => {
    const args = qemuArgs({ ...host, acpi }, { memoryMiB: 256, cpus: 1, stateDir: "/x" });
    return args[args.indexOf("-machine") + 1];
  };
  assert.equal(machine(false), "microvm,acpi=off,memory-backend=mem");
  assert.equal(machine(true), "microvm,memory-backend=mem");
  assert.equal(machine(undefined), "microvm,memory-backend=mem", "an older vm-host.json keeps ACPI");
});
