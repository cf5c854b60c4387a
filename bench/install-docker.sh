#!/usr/bin/env bash
# Installs Docker 20.10 (Debian's docker.io) as the reference to compare with, without letting
# the package start a daemon: the benchmark starts its own on a private socket and data root.
set -euo pipefail
if command -v dockerd >/dev/null; then exit 0; fi
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker.io >/dev/null
