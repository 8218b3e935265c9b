#!/usr/bin/env bash
# The benchmark in one command: installs what it needs (fio and the build
# dependencies), builds a release build in build-release/ and runs
# tests/bench/run-bench against it. Arguments go to run-bench (--help lists
# them); the report is printed and every figure written to
# build-release/bench-result.json.
#
#   bash packaging/bench.sh
#   bash packaging/bench.sh --repeat 1 --seq-mib 256 --targets raw,plain,rvg-async
#
# BENCH_JOBS sets ninja's parallelism (default 1: the machines this runs on
# are small and shared, and a parallel build would slow what runs beside it).
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=build-release

bash packaging/install-deps.sh fio

if [[ ! -f "$BUILD/build.ninja" ]]; then
  meson setup --buildtype=release "$BUILD"
fi
# Only what the benchmark runs: the unit tests would take most of the time.
ninja -j"${BENCH_JOBS:-1}" -C "$BUILD" cli/rvgd/rvgd cli/rvgadm/rvgadm \
  tests/bench/plain-passthrough tests/bench/rvg-passthrough

exec /usr/bin/python3 tests/bench/run-bench --build "$BUILD" "$@"
