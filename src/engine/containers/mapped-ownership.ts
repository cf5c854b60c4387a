import * as fs from "node:fs";
import * as path from "node:path";
import { SystemError } from "../../lib/errors";
import { type IdMapping, OVERFLOW_ID, toContainerId, toHostId } from "../../lib/id-mapping";

/**
 * Host-side ownership for a user-namespaced container. The runtime sets the container up as the
 * container's mapped root, which is an unprivileged uid on the host: it must be able to walk to
 * the container's root and its /etc files (as dockerd makes its data root 0711 when remapping),
 * and the files the engine writes for it are its own.
 */
export function prepareMappedContainerDirs(dataRoot: string, containerDir: string, mapping: IdMapping): void {
  assertAncestorsSearchable(dataRoot);
  for (const dir of [dataRoot, path.dirname(containerDir)]) {
    const mode = fs.statSync(dir).mode & 0o7777;
    if ((mode & 0o001) === 0) fs.chmodSync(dir, mode | 0o001);
  }
  fs.chownSync(containerDir, 0, mapping.gidBase);
}

/** hostname, hosts and resolv.conf belong to the container's root, so it can edit them as Docker allows. */
export function chownEtcFiles(containerDir: string, mapping: IdMapping): void {
  for (const name of ["hostname", "hosts", "resolv.conf"]) {
    const file = path.join(containerDir, name);
    if (fs.existsSync(file)) fs.chownSync(file, mapping.uidBase, mapping.gidBase);
  }
}

type OwnerMap = (uid: number, gid: number) => { uid: number; gid: number };

/** Both directions: ids through the mapping, and an id the other side has no name for as the overflow id. */
function ownersThrough(mapping: IdMapping | undefined, convert: (id: number, base: number, size: number) => number): OwnerMap | undefined {
  if (!mapping) return undefined;
  const one = (id: number, base: number): number => {
    const out = convert(id, base, mapping.size);
    return out < 0 ? OVERFLOW_ID : out;
  };
  return (uid, gid) => ({ uid: one(uid, mapping.uidBase), gid: one(gid, mapping.gidBase) });
}

/**
 * What leaves a user-namespaced container (commit, export, cp out) carries the ids the
 * container sees, not the host ids of its range; host ids outside the range (nobody inside) are
 * written as the overflow id. Undefined for a container with the host's ids.
 */
export function containerOwners(mapping: IdMapping | undefined): OwnerMap | undefined {
  return ownersThrough(mapping, toContainerId);
}

/**
 * What comes into a user-namespaced container with its owners (cp -a) gets the host ids the
 * container sees as those owners. An id beyond the range has no host id: it becomes the host's
 * 65534, unmapped, so the container sees it as nobody, as the kernel shows unmapped ids.
 */
export function hostOwners(mapping: IdMapping | undefined): OwnerMap | undefined {
  return ownersThrough(mapping, toHostId);
}

/** Every parent of the data root must be searchable by others, or the mapped root cannot reach its root. */
function assertAncestorsSearchable(dataRoot: string): void {
  for (let dir = path.dirname(path.resolve(dataRoot)); ; dir = path.dirname(dir)) {
    const st = fs.statSync(dir);
    if ((st.mode & 0o001) === 0) {
      throw new SystemError(
        `user namespaces: ${dir} (mode ${(st.mode & 0o777).toString(8)}) is not searchable by others, so a container's mapped root cannot reach the data root ${dataRoot}; chmod o+x it (dockerd needs the same for --userns-remap)`,
      );
    }
    if (dir === "/") return;
  }
}
