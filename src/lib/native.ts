import * as path from "node:path";

/** The tiny N-API addon in native/: syscalls Node does not expose. */
interface NativeAddon {
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  umount2(target: string, flags: number): void;
  /** Connects a blocking SOCK_SEQPACKET unix socket and returns its fd. */
  seqpacketConnect(socketPath: string): number;
  shutdownWrite(fd: number): void;
  /** shutdown(SHUT_RDWR): wakes a read blocked on the socket in the thread pool. */
  shutdownReadWrite(fd: number): void;
  mknod(path: string, mode: number, major: number, minor: number): void;
  /** Never follows symlinks. */
  lsetxattr(path: string, name: string, value: Buffer): void;
  /** null when the attribute is absent. */
  lgetxattr(path: string, name: string): Buffer | null;
  llistxattr(path: string): string[];
  /** A pty pair [master, slave], close-on-exec; the slave is not made our controlling terminal. */
  openPty(): [number, number];
  /** TIOCSWINSZ on a terminal fd. */
  setWinsize(fd: number, rows: number, cols: number): void;
  /** A new user namespace with these uid_map/gid_map texts ("inside outside count" lines); returns its fd (close-on-exec). */
  userNamespaceFd(uidMap: string, gidMap: string): number;
  /** open_tree(OPEN_TREE_CLONE | AT_RECURSIVE): a detached copy of the mount tree at path, as an fd. */
  openTreeClone(path: string): number;
  /** mount_setattr(MOUNT_ATTR_IDMAP): ids seen through the detached mount are mapped by the namespace. */
  mountSetattrIdmap(treeFd: number, usernsFd: number): void;
  /** move_mount(MOVE_MOUNT_F_EMPTY_PATH): attaches the detached mount at target. */
  moveMount(treeFd: number, target: string): void;
}

export const MS_RDONLY = 0x1;
export const MS_BIND = 0x1000;
export const MS_REC = 0x4000;
export const MS_PRIVATE = 0x40000;
export const MS_REMOUNT = 0x20;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MNT_DETACH = 0x2;
export const S_IFCHR = 0o020000;

let addon: NativeAddon | undefined;

/** Where `npm run build` (node-gyp, in place) puts what native/ builds: the addon and helper programs. */
export function nativeBinaryPath(name: string): string {
  // dist/src/lib -> project root
  return path.resolve(__dirname, "..", "..", "..", "native", "build", "Release", name);
}

export function native(): NativeAddon {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  addon ??= require(nativeBinaryPath("wharf_native.node")) as NativeAddon;
  return addon;
}

/** Node errors from the addon carry `errno`; this reads it without an `any`. */
export function nativeErrno(err: unknown): number | undefined {
  if (err && typeof err === "object" && "errno" in err && typeof (err as { errno: unknown }).errno === "number") {
    return (err as { errno: number }).errno;
  }
  return undefined;
}
