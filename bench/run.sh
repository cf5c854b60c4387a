#!/usr/bin/env bash
# Runs the benchmarks: wharf against Docker side by side (Docker only when dockerd is installed;
# bench/install-docker.sh installs Debian's docker.io without starting it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
node dist/bench/latency.js "$@"
