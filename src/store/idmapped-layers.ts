import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { mapText, toHostId, type IdMapping } from "../lib/id-mapping";
import { SystemError } from "../lib/errors";
import { native } from "../lib/native";
import { isMountPoint, unmountAll } from "./mounts";

/**
 * How a user-namespaced container sees the shared image layers with its own ids.
 *
 * "idmap": each lower dir is an idmapped bind mount (open_tree + mount_setattr(MOUNT_ATTR_IDMAP)
 * + move_mount) at <container>/m/<n>, so a layer's root-owned files appear owned by the
 * container's mapped root while the layer on disk is never touched. "copy" (the fallback where
 * the kernel or filesystem cannot idmap): each layer is copied once per container to
 * <container>/c/<n> with its owners shifted into the container's range. "auto" probes idmapping
 * once and uses it when it works.
 */
export type LayerSharing = "auto" | "idmap" | "copy";

const MOUNTS_DIR = "m";
const COPIES_DIR = "c";

export class IdmappedLayers {
  private idmapWorks: boolean | undefined;

  constructor(
    private readonly scratchRoot: string,
    private readonly mode: LayerSharing = "auto",
  ) {}

  /** Whether layers are shared through idmapped mounts (probed once); false means copies. */
  usesIdmap(): boolean {
    if (this.mode === "copy") return false;
    if (this.idmapWorks === undefined) this.idmapWorks = probeIdmappedOverlay(this.scratchRoot);
    if (!this.idmapWorks && this.mode === "idmap") {
      throw new SystemError("idmapped mounts do not work here (open_tree/mount_setattr or overlayfs on idmapped layers refused)");
    }
    return this.idmapWorks;
  }

  /** The lower dirs (bottom first) as the container must see them: idmapped mounts or shifted copies. */
  async prepare(containerDir: string, lowerDirs: string[], mapping: IdMapping): Promise<string[]> {
    if (this.usesIdmap()) return mountIdmapped(path.join(containerDir, MOUNTS_DIR), lowerDirs, mapping);
    return copyShifted(path.join(containerDir, COPIES_DIR), lowerDirs, mapping);
  }

  /** Unmounts the idmapped lower mounts (copies stay until the container goes). Idempotent. */
  release(containerDir: string): void {
    const dir = path.join(containerDir, MOUNTS_DIR);
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) unmountAll(path.join(dir, name));
  }
}

/** A user namespace with the mapping, held open only while `use` runs. */
function withUserNamespace<T>(mapping: IdMapping, use: (usernsFd: number) => T): T {
  const fd = native().userNamespaceFd(mapText(mapping.uidBase, mapping.size), mapText(mapping.gidBase, mapping.size));
  try {
    return use(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function idmappedBind(source: string, target: string, usernsFd: number): void {
  const tree = native().openTreeClone(source);
  try {
    native().mountSetattrIdmap(tree, usernsFd);
    native().moveMount(tree, target);
  } finally {
    fs.closeSync(tree);
  }
}

function mountIdmapped(dir: string, lowerDirs: string[], mapping: IdMapping): string[] {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const targets = lowerDirs.map((_d, i) => path.join(dir, String(i)));
  withUserNamespace(mapping, (usernsFd) => {
    lowerDirs.forEach((source, i) => {
      const target = targets[i];
      fs.mkdirSync(target, { recursive: true, mode: 0o755 });
      if (!isMountPoint(target)) idmappedBind(source, target, usernsFd);
    });
  });
  return targets;
}

/** Copies each layer (cp -a keeps modes, times, xattrs, whiteouts) and shifts its owners into the range. */
async function copyShifted(dir: string, lowerDirs: string[], mapping: IdMapping): Promise<string[]> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const out: string[] = [];
  for (const [i, source] of lowerDirs.entries()) {
    const target = path.join(dir, String(i));
    if (!fs.existsSync(target)) {
      const temp = path.join(dir, `tmp-${randomBytes(6).toString("hex")}`);
      await run("cp", ["-a", "--", source, temp]);
      await shiftOwners(temp, mapping);
      fs.renameSync(temp, target); // only a complete copy gets the final name
    }
    out.push(target);
  }
  return out;
}

/** lchown every entry by the mapping (never following links); chown drops set-id bits, so they are put back. */
export async function shiftOwners(root: string, mapping: IdMapping): Promise<void> {
  const stack = [root];
  while (stack.length > 0) {
    const p = stack.pop() as string;
    const st = await fs.promises.lstat(p);
    const uid = toHostId(st.uid, mapping.uidBase, mapping.size);
    const gid = toHostId(st.gid, mapping.gidBase, mapping.size);
    await fs.promises.lchown(p, uid < 0 ? st.uid : uid, gid < 0 ? st.gid : gid);
    if (!st.isSymbolicLink() && (st.mode & 0o6000) !== 0) await fs.promises.chmod(p, st.mode & 0o7777);
    if (st.isDirectory()) for (const name of await fs.promises.readdir(p)) stack.push(path.join(p, name));
  }
}

/** Can this kernel idmap a bind mount of the data root's filesystem and stack overlay on it? */
function probeIdmappedOverlay(scratchRoot: string): boolean {
  const dir = path.join(scratchRoot, `tmp-idmap-probe-${randomBytes(6).toString("hex")}`);
  const sub = (name: string): string => path.join(dir, name);
  const probeMapping: IdMapping = { uidBase: 4_000_000_000, gidBase: 4_000_000_000, size: 1 };
  try {
    for (const name of ["lower", "idmapped", "upper", "work", "merged"]) fs.mkdirSync(sub(name), { recursive: true });
    fs.writeFileSync(path.join(sub("lower"), "probe"), "");
    withUserNamespace(probeMapping, (fd) => idmappedBind(sub("lower"), sub("idmapped"), fd));
    native().mount("overlay", sub("merged"), "overlay", 0, `index=off,lowerdir=${sub("idmapped")},upperdir=${sub("upper")},workdir=${sub("work")}`);
    return fs.statSync(path.join(sub("merged"), "probe")).uid === probeMapping.uidBase;
  } catch {
    return false;
  } finally {
    unmountAll(sub("merged"));
    unmountAll(sub("idmapped"));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, (err, _stdout, stderr) => {
      if (err) reject(new SystemError(`${cmd}: ${String(stderr).trim() || err.message}`));
      else resolve();
    });
  });
}
