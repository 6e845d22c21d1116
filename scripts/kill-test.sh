#!/usr/bin/env bash
# Kills a short distillation with SIGKILL N times (default 20), at random moments and, every
# other trial, just as a checkpoint write starts (checkpoints written every iteration), and
# checks each time that every checkpoint left reads back whole, that the run resumes from
# the newest, and that it ends bit for bit as the uninterrupted one. Needs the release build
# with tests (bash scripts/test.sh builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
trials="${1:-20}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" OMP_WAIT_POLICY=PASSIVE DFKD_KILL_TRIALS="$trials"
exec swift test -c release --skip-build --disable-swift-testing --filter CheckpointResumeTests.testKilledRunsResumeToTheUninterruptedResult
