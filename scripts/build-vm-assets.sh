#!/usr/bin/env bash
# Builds what `--runtime vm` boots: a Debian cloud kernel (unpacked, never installed on the
# host: /boot and grub stay untouched) and an initramfs holding the static guest agent
# (native/vm-agent/agent.c) and the kernel modules it loads.
#
# Output: $WHARF_VM_DIR (default /var/lib/wharf-vm)/<kernel-version>/{vmlinuz,initrd.img}
# and the symlink $WHARF_VM_DIR/current -> <kernel-version>; and the host-side shim
# (native/vm-agent/shim.c) as $WHARF_VM_DIR/bin/wharf-vm-shim. Idempotent: nothing is redone
# when the outputs are newer than their sources.
set -euo pipefail
cd "$(dirname "$0")/.."
VM_DIR=${WHARF_VM_DIR:-/var/lib/wharf-vm}
AGENT_SRC=native/vm-agent/agent.c
SHIM_SRC=native/vm-agent/shim.c
SHIM="$VM_DIR/bin/wharf-vm-shim"
if [ ! -x "$SHIM" ] || [ "$SHIM_SRC" -nt "$SHIM" ]; then
  mkdir -p "$VM_DIR/bin"
  gcc -O2 -Wall -Wextra -o "$SHIM.tmp" "$SHIM_SRC" -lutil
  mv "$SHIM.tmp" "$SHIM"
fi
# Modules the guest needs that the cloud kernel builds as modules: virtio transports (mmio
# for -machine microvm, pci for q35), the serial port the agent talks on, virtiofs for the root,
# the NIC (virtio_net needs net_failover and failover). In dependency order: the initramfs
# numbers them so, and the agent loads them by name in one pass.
MODULES=(virtio_ring virtio virtio_mmio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
  virtio_console fuse virtiofs failover net_failover virtio_net)

# The versioned image package the meta package points at, e.g. linux-image-6.1.0-56-cloud-amd64.
pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -1)
if [ -z "$pkg" ]; then
  echo "build-vm-assets: cannot find linux-image-cloud-amd64's kernel package (apt-get update?)" >&2
  exit 1
fi
version=${pkg#linux-image-}
out="$VM_DIR/$version"
initrd="$out/initrd.img"
if [ -f "$out/vmlinuz" ] && [ -f "$initrd" ] && [ "$initrd" -nt "$AGENT_SRC" ] && [ "$initrd" -nt "$0" ]; then
  ln -sfn "$version" "$VM_DIR/current"
  exit 0
fi

echo "build-vm-assets: preparing kernel $version and the guest agent in $out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
modules_missing=0
for m in "${MODULES[@]}"; do [ -f "$out/modules/$m.ko" ] || modules_missing=1; done
if [ ! -f "$out/vmlinuz" ] || [ "$modules_missing" = 1 ]; then
  (cd "$work" && apt-get download -q "$pkg" >/dev/null 2>&1)
  dpkg-deb -x "$work"/"$pkg"_*.deb "$work/pkg"
  rm -rf "$out/modules"
  mkdir -p "$out/modules"
  for m in "${MODULES[@]}"; do
    f=$(find "$work/pkg/lib/modules/$version" -name "$m.ko*" | head -1)
    [ -n "$f" ] || { echo "build-vm-assets: module $m not in $pkg" >&2; exit 1; }
    case "$f" in
      *.ko.xz) xz -dc "$f" > "$out/modules/$m.ko" ;;
      *) cp "$f" "$out/modules/$m.ko" ;;
    esac
  done
  cp "$work/pkg/boot/config-$version" "$out/config"
  cp "$work/pkg/boot/vmlinuz-$version" "$out/vmlinuz.tmp"
  mv "$out/vmlinuz.tmp" "$out/vmlinuz"
fi

# The uncompressed kernel (ELF with a PVH entry note): qemu boots it directly, skipping the
# bzImage's real-mode setup and decompressor (~0.3 s of a TCG boot). Debian compresses it with
# LZ4; the payload starts at the LZ4 frame magic. Without it wharfd boots vmlinuz.
if [ ! -f "$out/vmlinux" ] && grep -q '^CONFIG_PVH=y' "$out/config" && command -v lz4 >/dev/null; then
  for offset in $(LC_ALL=C grep -obUaP '\x02\x21\x4c\x18' "$out/vmlinuz" | cut -d: -f1); do
    tail -c +$((offset + 1)) "$out/vmlinuz" | lz4 -dc > "$out/vmlinux.tmp" 2>/dev/null || true
    if [ "$(head -c 4 "$out/vmlinux.tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
      mv "$out/vmlinux.tmp" "$out/vmlinux"
      break
    fi
  done
  rm -f "$out/vmlinux.tmp"
fi

root="$work/initramfs"
mkdir -p "$root"/{dev,proc,sys,newroot,lib/modules}
gcc -static -O2 -Wall -Wextra -Wno-unused-parameter -o "$root/init" "$AGENT_SRC"
strip "$root/init"
n=10
for m in "${MODULES[@]}"; do
  cp "$out/modules/$m.ko" "$root/lib/modules/$n-$m.ko"
  n=$((n + 1))
done
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) > "$initrd.tmp"
mv "$initrd.tmp" "$initrd"
ln -sfn "$version" "$VM_DIR/current"
echo "build-vm-assets: done ($(du -h "$initrd" | cut -f1) initramfs)"
