/**
 * Whiteouts: how a layer says "this path is deleted". In a layer tar (OCI/Docker) it is an
 * empty file `.wh.NAME`, and `.wh..wh..opq` inside a directory makes the directory opaque
 * (nothing from lower layers shows through). On disk, overlayfs wants a 0:0 character device
 * named NAME and the xattr trusted.overlay.opaque="y" on the directory.
 */
export const WHITEOUT_PREFIX = ".wh.";
export const WHITEOUT_META_PREFIX = ".wh..wh.";
export const WHITEOUT_OPAQUE = ".wh..wh..opq";
export const OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque";
/** overlayfs' own xattrs: never taken from a tar, never written into one. */
export const OVERLAY_XATTR_PREFIX = "trusted.overlay.";

export const S_IFMT = 0o170000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;
