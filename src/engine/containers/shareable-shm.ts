import * as fs from "node:fs";
import * as path from "node:path";
import { MS_NODEV, MS_NOEXEC, MS_NOSUID, native } from "../../lib/native";
import { unmountAll } from "../../store/mounts";

/**
 * A `--ipc shareable` container's /dev/shm is a tmpfs on the host (in its bundle dir), as
 * Docker's is: a container joining its IPC namespace binds the same tmpfs, which a mount made
 * inside the donor's own mount namespace could not be.
 */

export function shareableShmPath(bundleDir: string): string {
  return path.join(bundleDir, "shm");
}

export function mountShareableShm(bundleDir: string, sizeBytes: number): string {
  const target = shareableShmPath(bundleDir);
  fs.mkdirSync(target, { recursive: true, mode: 0o700 });
  native().mount("shm", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, `mode=1777,size=${sizeBytes}`);
  return target;
}

/** Before the bundle dir goes: a container that was never shareable has nothing mounted there. */
export function unmountShareableShm(bundleDir: string): void {
  unmountAll(shareableShmPath(bundleDir));
}
