#!/usr/bin/env bash
# Builds the small guest kernel for `--runtime vm` (opt-in; docs/vm-runtime.md): Debian's
# linux-source-6.1, `make tinyconfig` plus native/vm-agent/guest-kernel.config, everything built
# in, no modules. It boots in a fraction of the cloud kernel's time under TCG.
#
# Output: $WHARF_VM_DIR (default /var/lib/wharf-vm)/<release>/{vmlinux,config,initrd.img}, the
# initramfs holding only the agent, and the symlink $WHARF_VM_DIR/small -> <release>, which
# wharfd prefers over `current` (the cloud kernel of scripts/build-vm-assets.sh, left untouched).
# The source tree is unpacked in $WHARF_KERNEL_BUILD_DIR (default /var/tmp/wharf-vm-kernel).
# Idempotent: the kernel is rebuilt only when the config fragment or this script changed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
script=$repo/scripts/build-vm-kernel.sh
VM_DIR=${WHARF_VM_DIR:-/var/lib/wharf-vm}
BUILD_DIR=${WHARF_KERNEL_BUILD_DIR:-/var/tmp/wharf-vm-kernel}
FRAGMENT=$repo/native/vm-agent/guest-kernel.config
AGENT_SRC=$repo/native/vm-agent/agent.c
TARBALL=/usr/src/linux-source-6.1.tar.xz

# Not in scripts/setup.sh's list: the source is ~140 MB and only this opt-in script needs it.
if [ ! -f "$TARBALL" ] || ! command -v flex >/dev/null || ! command -v bison >/dev/null || ! command -v bc >/dev/null; then
  apt-get install -y --no-install-recommends linux-source-6.1 bc flex bison libelf-dev
fi
src=$BUILD_DIR/linux-source-6.1
if [ ! -f "$src/Makefile" ] || [ "$TARBALL" -nt "$src/Makefile" ]; then
  rm -rf "$src"
  mkdir -p "$BUILD_DIR"
  # --touch: the tree is as new as its unpacking, so only a newer linux-source redoes it.
  tar --touch -xf "$TARBALL" -C "$BUILD_DIR"
fi

cd "$src"
make_k() { make -s ARCH=x86_64 "$@"; }
# make leaves vmlinux as it was when nothing changed: a stamp records the last complete build.
stamp=.wharf-built
if [ ! -f vmlinux ] || [ ! -f "$stamp" ] || [ "$FRAGMENT" -nt "$stamp" ] || [ "$script" -nt "$stamp" ] || [ "$TARBALL" -nt "$stamp" ]; then
  make_k tinyconfig
  # The fragment: NAME=y|n|"string"|number, one a line.
  while IFS='=' read -r name value; do
    case "$name" in ''|'#'*) continue ;; esac
    case "$value" in
      y) scripts/config --file .config --enable "$name" ;;
      n) scripts/config --file .config --disable "$name" ;;
      \"*\") v=${value#\"}; scripts/config --file .config --set-str "$name" "${v%\"}" ;;
      *) scripts/config --file .config --set-val "$name" "$value" ;;
    esac
  done < "$FRAGMENT"
  make_k olddefconfig
  # An option whose dependencies are missing is dropped silently by olddefconfig: say so.
  while IFS='=' read -r name value; do
    case "$name" in ''|'#'*) continue ;; esac
    if [ "$value" = n ]; then
      grep -q "^$name=" .config && echo "build-vm-kernel: warning: $name is still set" >&2
    else
      grep -qx "$name=$value" .config || echo "build-vm-kernel: warning: $name=$value did not stick ($(grep "^$name=\|# $name is not set" .config || echo absent))" >&2
    fi
  done < "$FRAGMENT"
  start=$(date +%s)
  make_k -j"$(nproc)" vmlinux
  echo "build-vm-kernel: vmlinux built in $(( $(date +%s) - start )) s"
  touch "$stamp"
fi
release=$(make_k kernelrelease)
out=$VM_DIR/$release
initrd=$out/initrd.img
mkdir -p "$out"
if [ ! -f "$out/vmlinux" ] || [ vmlinux -nt "$out/vmlinux" ]; then
  cp .config "$out/config"
  cp vmlinux "$out/vmlinux.tmp"
  mv "$out/vmlinux.tmp" "$out/vmlinux"
fi

# The initramfs: the agent alone (every driver is built in, so it finds no /lib/modules).
if [ ! -f "$initrd" ] || [ "$AGENT_SRC" -nt "$initrd" ] || [ "$script" -nt "$initrd" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  root=$work/initramfs
  mkdir -p "$root"/{dev,proc,sys,newroot}
  gcc -static -O2 -Wall -Wextra -Wno-unused-parameter -o "$root/init" "$AGENT_SRC"
  strip "$root/init"
  (cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) > "$initrd.tmp"
  mv "$initrd.tmp" "$initrd"
fi
ln -sfn "$release" "$VM_DIR/small"
echo "build-vm-kernel: $out ($(($(stat -c %s "$out/vmlinux") >> 20)) MiB vmlinux, $(($(stat -c %s "$initrd") >> 10)) KiB initramfs); $VM_DIR/small points at it"
