import * as fs from "node:fs";
import * as path from "node:path";

/**
 * What the daemon found for the vm runtime, written to `<runtime root>/vm-host.json` at
 * daemon start and read by every `wharf-vm-runtime` call (conmon gives the runtime no other
 * channel than its --root).
 */
export interface VmHostConfig {
  qemu: string;
  virtiofsd: string;
  /** The shim conmon watches (native/vm-agent/shim.c, built by scripts/build-vm-assets.sh). */
  shim: string;
  kernel: string;
  initrd: string;
  accel: "kvm" | "tcg";
  /** Why this accelerator: shown in `wharf info` and the debug log. */
  accelReason: string;
  /** The host's TSC rate: TCG guests cannot always calibrate theirs and hang without it. */
  tscKhz: number;
  /**
   * false for a kernel without ACPI (the small one of scripts/build-vm-kernel.sh): the microvm
   * then has no ACPI tables and qemu lists the virtio-mmio devices on the kernel command line.
   * Absent (an older vm-host.json) means true.
   */
  acpi?: boolean;
}

export const HOST_CONFIG_FILE = "vm-host.json";

export function writeHostConfig(root: string, config: VmHostConfig): void {
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  const file = path.join(root, HOST_CONFIG_FILE);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(config, null, 2), { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}

export function readHostConfig(root: string): VmHostConfig {
  let text: string;
  try {
    text = fs.readFileSync(path.join(root, HOST_CONFIG_FILE), "utf8");
  } catch {
    throw new Error(`the vm runtime is not set up under ${root}: start containers through wharfd`);
  }
  return JSON.parse(text) as VmHostConfig;
}

/** The host's TSC rate in kHz (from /proc/cpuinfo), or 0 when unknown. */
export function hostTscKhz(): number {
  try {
    const m = /^cpu MHz\s*:\s*([\d.]+)/m.exec(fs.readFileSync("/proc/cpuinfo", "utf8"));
    return m ? Math.round(Number(m[1]) * 1000) : 0;
  } catch {
    return 0;
  }
}
