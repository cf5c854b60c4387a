#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks, then builds wharf. Idempotent and quiet when
# everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(runc conmon busybox-static containernetworking-plugins tini catatonit
  golang-github-containers-common iproute2 iptables
  tmux # the terminal the TTY tests type into
  docker-registry apache2-utils # a reference registry (and htpasswd) for the pull tests
  skopeo umoci # independent image tools for the registry and pull tests
  docker.io) # Docker 20.10's dockerd, started privately by the registry interop test (docker push/pull)

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

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages from the lock file"
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "setup: building"
npx tsc -p tsconfig.json
if [ ! -f native/build/Release/wharf_native.node ] || [ native/wharf_native.c -nt native/build/Release/wharf_native.node ]; then
  (cd native && npx node-gyp rebuild --silent >/dev/null)
fi

for tool in wharf wharfd; do
  ln -sf "$PWD/bin/$tool" "/usr/local/bin/$tool"
done
