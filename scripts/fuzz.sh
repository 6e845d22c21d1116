#!/usr/bin/env bash
# Feeds N mutated IDX, model and settings files (default 1000) to dfkd, two at a time, and
# checks that each ends in success or a clear error with status 1: never a signal, a trap
# or a hang. A second argument picks another seed. Failing inputs are kept and named in the
# report. Needs the release build with tests (bash scripts/test.sh builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" OMP_WAIT_POLICY=PASSIVE
export DFKD_FUZZ_MUTATIONS="${1:-1000}" DFKD_FUZZ_SEED="${2:-20261201}"
exec swift test -c release --skip-build --disable-swift-testing --filter FuzzTests
