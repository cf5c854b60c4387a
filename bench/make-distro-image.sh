#!/usr/bin/env bash
# A full Debian 12 system (minbase + systemd + Debian's cloud kernel and its initramfs) as a raw
# ext4 disk image, for the vm-distro benchmark: what booting a whole distribution in a VM costs,
# beside `--runtime vm`. Made once with debootstrap from Debian's mirror and cached; prints the
# directory holding distro.img and the kernel/initrd it boots.
set -euo pipefail
CACHE=${WHARF_BENCH_CACHE:-/var/cache/wharf-bench}
MIRROR=${WHARF_DEBIAN_MIRROR:-http://deb.debian.org/debian}
ROOTFS=$CACHE/distro-rootfs
IMAGE=$CACHE/distro.img
mkdir -p "$CACHE"
if [ ! -e "$ROOTFS/.complete" ]; then
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >&2
  rm -rf "$ROOTFS"
  debootstrap --variant=minbase --include=systemd-sysv,udev,initramfs-tools,linux-image-cloud-amd64 bookworm "$ROOTFS" "$MIRROR" >&2
  chroot "$ROOTFS" passwd -d root >/dev/null
  echo wharf-distro >"$ROOTFS/etc/hostname"
  touch "$ROOTFS/.complete"
fi
if [ ! -e "$IMAGE" ] || [ "$ROOTFS/.complete" -nt "$IMAGE" ]; then
  mkfs.ext4 -q -F -d "$ROOTFS" -L root "$IMAGE.tmp" 1G >&2
  mv "$IMAGE.tmp" "$IMAGE"
fi
ln -sf "$(ls "$ROOTFS"/boot/vmlinuz-* | head -1)" "$CACHE/vmlinuz"
ln -sf "$(ls "$ROOTFS"/boot/initrd.img-* | head -1)" "$CACHE/initrd.img"
echo "$CACHE"
