#!/usr/bin/env bash
# Runs the benchmark suite: wharf against Docker 20.10 side by side (Docker only when dockerd is
# installed; bench/install-docker.sh installs Debian's docker.io without starting it). Both engines
# are private instances started and stopped here.
#   bash bench/run.sh                 full sizes (density N=100,500; API with 500 containers)
#   bash bench/run.sh --quick         small N, to check that everything works (a few minutes)
#   bash bench/run.sh --n1000         adds density N=1000 and API with 1000 containers
#   bash bench/run.sh --only latency,logs   some scenarios only
#   bash bench/run.sh 20              number of `run --rm` latency runs (as before)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
# The PNG chart is rendered from the SVG by Debian's rsvg-convert.
if ! command -v rsvg-convert >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends librsvg2-bin >/dev/null 2>&1 || echo "bench: librsvg2-bin not installed; only the SVG chart is written"
fi
exec node dist/bench/suite.js "$@"
