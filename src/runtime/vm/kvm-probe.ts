import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { VmHostConfig } from "./host-config";
import { qemuArgs } from "./qemu-args";

/**
 * Whether KVM really runs guests here. /dev/kvm may exist and open while a nested guest hangs
 * (these machines): the probe boots the real kernel and initramfs with `wharf.probe=1` (the agent
 * reboots at once, qemu -no-reboot exits) and gives it a bounded time.
 */

export const KVM_PROBE_TIMEOUT_MS = 4000;

export interface AccelChoice {
  accel: "kvm" | "tcg";
  reason: string;
}

function kvmOpenable(): string | null {
  try {
    fs.closeSync(fs.openSync("/dev/kvm", fs.constants.O_RDWR));
    return null;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? "error";
  }
}

export function probeKvm(host: Omit<VmHostConfig, "accel" | "accelReason">, timeoutMs = KVM_PROBE_TIMEOUT_MS): Promise<AccelChoice> {
  const openError = kvmOpenable();
  if (openError) return Promise.resolve({ accel: "tcg", reason: `/dev/kvm is not usable (${openError}): software emulation (TCG)` });
  const args = qemuArgs({ ...host, accel: "kvm", accelReason: "" }, { memoryMiB: 256, cpus: 1, stateDir: "" }, { probe: true });
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(host.qemu, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (c: string) => {
      if (stderr.length < 4096) stderr += c;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      resolve({ accel: "tcg", reason: `KVM probe could not run qemu (${err.message}): software emulation (TCG)` });
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ accel: "kvm", reason: `KVM probe booted a guest in ${Date.now() - started} ms` });
      if (signal === "SIGKILL") {
        return resolve({ accel: "tcg", reason: `KVM probe guest did not finish within ${timeoutMs} ms (nested KVM hangs): software emulation (TCG)` });
      }
      const detail = stderr.trim().split("\n").pop() ?? `exit ${code ?? signal}`;
      resolve({ accel: "tcg", reason: `KVM probe failed (${detail}): software emulation (TCG)` });
    });
  });
}

/** The probe's answer is kept for this boot of the host: /run is emptied at boot, boot_id changes. */
const PROBE_CACHE = "/run/wharf-vm/kvm-probe.json";

function bootId(): string {
  try {
    return fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return "";
  }
}

/**
 * probeKvm, once per host boot and qemu/kernel: a hung probe costs seconds of a CPU, and every
 * daemon started on this host (tests start many) would pay it again for the same answer.
 */
export async function cachedProbeKvm(host: Omit<VmHostConfig, "accel" | "accelReason">): Promise<AccelChoice> {
  const key = JSON.stringify([bootId(), host.qemu, host.kernel, host.initrd]);
  try {
    const cached = JSON.parse(fs.readFileSync(PROBE_CACHE, "utf8")) as { key?: string; choice?: AccelChoice };
    if (cached.key === key && cached.choice) return { ...cached.choice, reason: `${cached.choice.reason} (probed earlier this boot)` };
  } catch {
    // no answer yet
  }
  const choice = await probeKvm(host);
  try {
    fs.mkdirSync(path.dirname(PROBE_CACHE), { recursive: true, mode: 0o700 });
    fs.writeFileSync(`${PROBE_CACHE}.tmp`, JSON.stringify({ key, choice }), { mode: 0o600 });
    fs.renameSync(`${PROBE_CACHE}.tmp`, PROBE_CACHE);
  } catch {
    // the next daemon probes again
  }
  return choice;
}
