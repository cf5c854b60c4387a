import assert from "node:assert/strict";
import * as fs from "node:fs";
import { defaultVmAssets, kernelIn } from "../../src/runtime/vm/assets";
import type { Terminal } from "./tmux";

/** What the `--runtime vm` tests share: where the guest assets are, when to skip, how long a boot may take. */

/** The assets a daemon without --vm-kernel boots: the small kernel when built, else the cloud one. */
export const VM_ASSETS = defaultVmAssets();

export const vmSkip: string | false =
  process.getuid?.() !== 0
    ? "needs root"
    : !fs.existsSync("/usr/bin/qemu-system-x86_64") || !fs.existsSync(kernelIn(VM_ASSETS))
      ? "needs qemu-system-x86 and scripts/build-vm-assets.sh"
      : false;

/** A guest boot under TCG takes seconds, more on a loaded machine. */
export const VM_TIMEOUT = 180_000;

/**
 * In an interactive shell of a VM container (run -it or exec -it): a terminal resize reaches
 * the guest's pty, Ctrl-C interrupts the foreground command, and `exit N` ends the session
 * (the caller's command prints EXIT=$? after it).
 */
export async function checkGuestTerminal(t: Terminal, exitCode: number): Promise<void> {
  t.resize(70, 15);
  let seen = "";
  for (let i = 0; i < 40 && !new RegExp(`^${t.paneSize()}$`, "m").test(seen); i++) {
    t.line("clear; stty size");
    await new Promise((r) => setTimeout(r, 250));
    seen = t.screen();
  }
  assert.match(seen, new RegExp(`^${t.paneSize()}$`, "m"), "the resize reached the guest's pty");
  t.line("sleep 500");
  await new Promise((r) => setTimeout(r, 500));
  t.keys("C-c");
  t.line("echo after-$((6*7))");
  await t.waitFor(/^after-42\s*$/m, 60_000);
  t.line(`exit ${exitCode}`);
  await t.waitFor(new RegExp(`^EXIT=${exitCode}\\s*$`, "m"), 60_000);
}
