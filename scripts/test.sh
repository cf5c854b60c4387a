#!/usr/bin/env bash
# Command 2 of the README (and what CI runs): install what is missing, build, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# Suites run one file at a time: integration tests each start a private wharfd with real
# runc, conmon and overlayfs, and the machine has two cores.
node --test --test-concurrency=1 --test-timeout=300000 \
  dist/test/unit/ dist/test/fuzz/ dist/test/integration/ dist/test/e2e/
# Runs last, on its own: nothing the suites started may still be on the machine.
node --test --test-timeout=60000 dist/test/leaks/
