#!/usr/bin/env bash
# Imports the default busybox:latest image into the daemon at $1 through wharf's import path,
# unless it is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
HOST="${1:-unix:///run/wharf.sock}"
if node bin/wharf -H "$HOST" image inspect busybox:latest >/dev/null 2>&1; then
  exit 0
fi
bash scripts/make-busybox-rootfs.sh | node bin/wharf -H "$HOST" import --change 'CMD ["sh"]' - busybox:latest >/dev/null
echo "busybox:latest imported"
