import * as fs from "node:fs";
import * as path from "node:path";

/**
 * Which guest kernel and initramfs the vm runtime boots by default: the small kernel
 * (scripts/build-vm-kernel.sh, opt-in) when it is built and complete, else the Debian cloud
 * kernel of scripts/build-vm-assets.sh. wharfd's --vm-kernel/--vm-initrd override both.
 */

const VM_ASSETS_ROOT = "/var/lib/wharf-vm";
/** The cloud kernel's assets (scripts/build-vm-assets.sh). */
export const CLOUD_VM_ASSETS = path.join(VM_ASSETS_ROOT, "current");
/** The small kernel's assets (scripts/build-vm-kernel.sh). */
export const SMALL_VM_ASSETS = path.join(VM_ASSETS_ROOT, "small");

/** The kernel file in an assets dir: the uncompressed vmlinux (PVH entry) when there, else the bzImage. */
export function kernelIn(dir: string): string {
  const vmlinux = path.join(dir, "vmlinux");
  return fs.existsSync(vmlinux) ? vmlinux : path.join(dir, "vmlinuz");
}

/**
 * Whether the guest kernel has ACPI, from the `config` both build scripts put beside it; a
 * kernel without one (--vm-kernel elsewhere) is taken to have it, as Debian's kernels do.
 */
export function kernelHasAcpi(kernel: string): boolean {
  try {
    return /^CONFIG_ACPI=y$/m.test(fs.readFileSync(path.join(path.dirname(kernel), "config"), "utf8"));
  } catch {
    return true;
  }
}

/** `small` once both its files exist (a half-built one is ignored), else `current`. */
export function defaultVmAssets(): string {
  const smallComplete = ["vmlinux", "initrd.img"].every((f) => fs.existsSync(path.join(SMALL_VM_ASSETS, f)));
  return smallComplete ? SMALL_VM_ASSETS : CLOUD_VM_ASSETS;
}
