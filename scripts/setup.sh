#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks, then builds wharf. Idempotent and quiet when
# everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(crun runc conmon busybox-static containernetworking-plugins tini catatonit
  golang-github-containers-common iproute2 iptables
  tmux # the terminal the TTY tests type into
  docker-registry apache2-utils # a reference registry (and htpasswd) for the pull tests
  skopeo umoci # independent image tools for the registry and pull tests
  docker.io # Docker 20.10's dockerd, started privately by the registry interop test (docker push/pull)
  qemu-system-x86 cpio gcc libc6-dev # --runtime vm: qemu + virtiofsd, and the guest agent's static build and initramfs
  lz4 # --runtime vm: unpacks the guest kernel's vmlinux for a direct (PVH) boot
  rootlesskit slirp4netns uidmap) # rootless mode (docs/rootless.md): user namespace, user-mode network, newuidmap/newgidmap

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # No package may start a service (docker-registry would take port 5000): tests start their own.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
  trap - EXIT
fi

getent group wharf >/dev/null || groupadd --system wharf
# slirp4netns (rootless mode) opens /dev/net/tun as an ordinary user: Debian's udev makes it 0666,
# machines without udev leave it 0600.
[ -c /dev/net/tun ] && chmod 0666 /dev/net/tun

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages from the lock file"
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "setup: building"
npx tsc -p tsconfig.json
node scripts/bundle-cli.js # the CLI's one-file bundle (bin/wharf falls back to dist/ without it)
# The addon and wharf-hide-cgroup2 (how crun runs on a cgroup v1 hybrid host: src/runtime/detect.ts).
if [ ! -f native/build/Release/wharf_native.node ] || [ ! -f native/build/Release/wharf-hide-cgroup2 ] ||
  [ native/wharf_native.c -nt native/build/Release/wharf_native.node ] ||
  [ native/hide-cgroup2.c -nt native/build/Release/wharf-hide-cgroup2 ] || [ native/binding.gyp -nt native/build/Release/wharf_native.node ]; then
  (cd native && npx node-gyp rebuild --silent >/dev/null)
fi

# The vm runtime's guest kernel (unpacked from Debian's cloud kernel package, not installed) and
# initramfs with the agent: /var/lib/wharf-vm/current/{vmlinuz,initrd.img}. Quick when up to date.
scripts/build-vm-assets.sh

for tool in wharf wharfd wharfd-rootless wharf-vm-runtime; do
  ln -sf "$PWD/bin/$tool" "/usr/local/bin/$tool"
done
