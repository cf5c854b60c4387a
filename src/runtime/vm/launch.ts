import * as fs from "node:fs";
import * as path from "node:path";

/**
 * What `create` decided and the shim (native/vm-agent/shim.c) carries out, written into the
 * state dir as plain files (the shim reads no JSON): argv files of NUL-terminated strings, the
 * guest process raw, the virtiofs socket's name and a line for the debug log.
 */
export interface VmLaunch {
  qemu: string;
  qemuArgs: string[];
  virtiofsd: string;
  virtiofsdArgs: string[];
  virtiofsSocket: string;
  /** The guest process (guest-process.ts encoding). */
  process: Buffer;
  /** A line for the debug log: machine, accelerator and why. */
  describe: string;
  /** -t: conmon's console socket, which gets the master of the pty the shim makes. */
  consoleSocket?: string;
}

export function writeLaunch(dir: string, launch: VmLaunch): void {
  const argv = (items: string[]): string => items.map((a) => `${a}\0`).join("");
  const files: Array<[string, string | Buffer]> = [
    ["qemu.argv", argv([launch.qemu, ...launch.qemuArgs])],
    ["virtiofsd.argv", argv([launch.virtiofsd, ...launch.virtiofsdArgs])],
    ["process.bin", launch.process],
    ["virtiofs.name", launch.virtiofsSocket],
    ["describe.txt", launch.describe],
    ...(launch.consoleSocket ? ([["console.path", path.resolve(launch.consoleSocket)]] as Array<[string, string]>) : []),
  ];
  for (const [name, data] of files) fs.writeFileSync(path.join(dir, name), data, { mode: 0o600 });
}
