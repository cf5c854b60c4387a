import * as fs from "node:fs";
import * as path from "node:path";
import { findBinary } from "../detect";
import { defaultVmAssets, kernelHasAcpi, kernelIn } from "./assets";
import { type VmHostConfig, hostTscKhz, writeHostConfig } from "./host-config";
import { kernelRelease } from "./kernel-release";
import { cachedProbeKvm } from "./kvm-probe";

/**
 * The daemon's side of the vm runtime: finds qemu, virtiofsd, the guest kernel and initramfs,
 * picks the accelerator (the KVM probe runs at daemon start, in the background, its answer kept
 * for the host's boot in /run/wharf-vm; until it
 * answers, VMs use TCG), and writes what it found where the runtime binary reads it.
 */

/** The shim conmon watches per VM (native/vm-agent/shim.c). */
const DEFAULT_SHIM = "/var/lib/wharf-vm/bin/wharf-vm-shim";
const VIRTIOFSD_PATHS = ["/usr/libexec/virtiofsd", "/usr/lib/qemu/virtiofsd"];

export interface VmRuntimeOptions {
  /** The runtime's --root (execRoot/vm). */
  root: string;
  kernel?: string;
  initrd?: string;
  log: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

export interface VmRuntimeSetup {
  /** The runtime binary conmon runs. */
  runtimePath: string;
  /** Shown by `info` under the vm runtime; updated when the probe answers. */
  status: Record<string, string>;
  /** Resolves once the accelerator is known (tests, benchmarks). */
  probed: Promise<void>;
}

export function runtimeBinary(): string {
  return path.resolve(__dirname, "../../../../bin/wharf-vm-runtime");
}

export function setupVmRuntime(opts: VmRuntimeOptions): VmRuntimeSetup {
  // The small kernel when built (scripts/build-vm-kernel.sh), else the cloud one; the
  // uncompressed vmlinux when there (qemu boots its PVH entry: no decompressor, ~0.3 s less under TCG).
  const assets = defaultVmAssets();
  const kernel = opts.kernel ?? kernelIn(assets);
  const initrd = opts.initrd ?? path.join(assets, "initrd.img");
  const qemu = findBinary("qemu-system-x86_64") ?? "/usr/bin/qemu-system-x86_64";
  const virtiofsd = VIRTIOFSD_PATHS.find((p) => fs.existsSync(p)) ?? VIRTIOFSD_PATHS[0];
  const shim = DEFAULT_SHIM;
  const base = { qemu, virtiofsd, shim, kernel, initrd, tscKhz: hostTscKhz(), acpi: kernelHasAcpi(kernel) };
  const write = (accel: VmHostConfig["accel"], reason: string): void => {
    writeHostConfig(opts.root, { ...base, accel, accelReason: reason });
    status["accelerator"] = accel;
    status["accelerator reason"] = reason;
  };
  const status: Record<string, string> = { kernel, initrd };
  // Read when `info` first asks, not at every start: finding the banner in a 50 MB vmlinux takes ~12 ms.
  let release: string | undefined;
  Object.defineProperty(status, "kernel release", { enumerable: true, get: () => (release ??= kernelRelease(kernel) ?? "unknown") });
  const missing = [
    [qemu, "qemu (apt-get install --no-install-recommends qemu-system-x86)"],
    [virtiofsd, "virtiofsd (apt-get install --no-install-recommends qemu-system-common)"],
    [shim, "the VM shim (scripts/build-vm-assets.sh)"],
    [kernel, "the guest kernel (scripts/build-vm-assets.sh)"],
    [initrd, "the guest initramfs (scripts/build-vm-assets.sh)"],
  ].filter(([file]) => !fs.existsSync(file));
  if (missing.length) {
    const reason = `not usable: missing ${missing.map(([file, what]) => `${what} at ${file}`).join(", ")}`;
    write("tcg", reason);
    status["accelerator"] = "none";
    opts.log.warn({ missing: missing.map(([f]) => f) }, `vm runtime ${reason}`);
    return { runtimePath: runtimeBinary(), status, probed: Promise.resolve() };
  }
  write("tcg", "KVM probe still running: software emulation (TCG)");
  const probed = cachedProbeKvm(base).then((choice) => {
    write(choice.accel, choice.reason);
    opts.log.info({ accel: choice.accel }, `vm runtime: ${choice.reason}`);
  });
  return { runtimePath: runtimeBinary(), status, probed };
}
