#!/usr/bin/env bash
# Command 1 of the README: install, build, start wharfd, make the default image, run a container.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

SOCK=/run/wharf.sock
if ! wharf -H "unix://$SOCK" system ping >/dev/null 2>&1; then
  echo "quickstart: starting wharfd (log: /var/log/wharfd.log)"
  nohup wharfd >>/var/log/wharfd.log 2>&1 &
  for _ in $(seq 1 100); do
    wharf -H "unix://$SOCK" system ping >/dev/null 2>&1 && break
    sleep 0.1
  done
fi
bash scripts/ensure-busybox.sh "unix://$SOCK"
wharf -H "unix://$SOCK" run --rm busybox echo "hello from wharf"
