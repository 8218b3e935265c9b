#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs every test, then
# builds again with AddressSanitizer + UBSan and runs the unit tests there,
# then fuzzes each libFuzzer target for a short time (packaging/fuzz.sh).
#
#   bash packaging/test.sh
#
# Prints one line per test and, last, `N passed, N failed` (`, N skipped`
# when some were skipped); each fuzz target counts as one test. Exits
# non-zero if anything failed, including a build. Build dirs: build/,
# build-asan/ and build-fuzz/ in the repository (override with BUILD_DIR /
# ASAN_BUILD_DIR / FUZZ_BUILD_DIR). Set RVG_SKIP_ASAN=1 to skip the
# sanitizer run, RVG_SKIP_FUZZ=1 to skip fuzzing; RVG_FUZZ_SECONDS sets the
# time per fuzz target (20 s by default).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
BUILD_DIR=${BUILD_DIR:-build}
ASAN_BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}
export FUZZ_BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
build_failures=()


# meson setup, or reconfigure an existing build dir. $1 = dir, rest = options.
# Warnings are errors here (the project's default is not, for packagers).
# Line tables only (-g1) instead of full debug info: backtraces and
# sanitizer reports keep file:line, and the build takes 3.8 instead of 6.5
# minutes on the 2-core CI machine. Configure a build dir of your own for
# a debugger.
setup() {
  local dir=$1
  shift
  local options=(-Dwerror=true -Ddebug=false -Dcpp_args=-g1 "$@")
  if [[ -f "$dir/meson-private/coredata.dat" ]]; then
    meson setup --reconfigure "$dir" "${options[@]}"
  else
    meson setup "$dir" "${options[@]}"
  fi
}

started=$SECONDS
# Every step says when it began, so a slow CI run shows where time went.
step() { printf '\n==> [%d min %02d s] %s\n' $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60)) "$*"; }

# Removes what a killed test run may have left mounted under the tests'
# temp dirs (/tmp/rvgt-*). The tests clean up after themselves; this only
# matters after a crash of the test runner itself.
sweep_mounts() {
  local mnt
  while read -r _ mnt _; do
    case "$mnt" in
      /tmp/rvgt-*)
        echo "test.sh: unmounting leftover $mnt"
        fusermount3 -u -z "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true ;;
    esac
  done < <(sort -r -k2 /proc/self/mounts)
}
trap sweep_mounts EXIT

step "installing dependencies"
if ! bash packaging/install-deps.sh; then
  echo "test.sh: dependencies missing; see above" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

# Main build: unit + integration tests, one at a time (integration tests
# drive real daemons, mounts and ports and must not overlap).
step "building in $BUILD_DIR"
rm -f "$BUILD_DIR/meson-logs/testlog.json" "$BUILD_DIR/meson-logs/unitlog.json" \
  "$ASAN_BUILD_DIR/meson-logs/testlog.json" "$FUZZ_BUILD_DIR/meson-logs/testlog.json"
if setup "$BUILD_DIR" && ninja -C "$BUILD_DIR"; then
  # Unit tests two at a time (they share nothing); integration tests one
  # at a time. Each run writes its own log, both read by the results.
  step "running unit tests"
  meson test -C "$BUILD_DIR" --no-rebuild --print-errorlogs --suite unit --num-processes 2 \
    --logbase unitlog
  step "running integration tests"
  meson test -C "$BUILD_DIR" --no-rebuild --print-errorlogs --suite integration \
    --num-processes 1
else
  build_failures+=("build in $BUILD_DIR")
fi

# The executables of the unit suite in build dir $1, relative to it: the
# sanitizer build compiles only these (half the project, on a 2-core CI).
unit_test_targets() {
  meson introspect --tests "$1" | python3 -c '
import json, os, sys
build = os.path.realpath(sys.argv[1])
for test in json.load(sys.stdin):
    exe = os.path.realpath(test["cmd"][0])
    if any(s.split(":")[-1] == "unit" for s in test["suite"]) and exe.startswith(build + "/"):
        print(os.path.relpath(exe, build))' "$1"
}

# Sanitizer build: unit tests only (the daemons under ASan are too slow
# for the timing of the integration tests' crash scenarios). Warnings stay
# errors here too; tests/meson.build silences the one false warning GCC 12
# raises inside libstdc++ for Catch2's main under -fsanitize.
if [[ "${RVG_SKIP_ASAN:-0}" != 1 ]]; then
  step "building the unit tests with -Db_sanitize=address,undefined in $ASAN_BUILD_DIR"
  if setup "$ASAN_BUILD_DIR" -Db_sanitize=address,undefined -Db_lundef=false \
      && mapfile -t targets < <(unit_test_targets "$ASAN_BUILD_DIR") \
      && [[ ${#targets[@]} -gt 0 ]] && ninja -C "$ASAN_BUILD_DIR" "${targets[@]}"; then
    step "running unit tests under AddressSanitizer + UBSan"
    meson test -C "$ASAN_BUILD_DIR" --no-rebuild --print-errorlogs --suite unit --num-processes 2
  else
    build_failures+=("sanitizer build in $ASAN_BUILD_DIR")
  fi
fi

# Fuzzing: clang + ASan/UBSan, a bounded time per target. fuzz.sh prints
# one line per target; its runs are meson tests whose testlog is counted
# below. Exit status 2 is a build failure, 1 a failed target (counted).
if [[ "${RVG_SKIP_FUZZ:-0}" != 1 ]]; then
  step "fuzzing each target for ${RVG_FUZZ_SECONDS:-20} s in $FUZZ_BUILD_DIR"
  bash packaging/fuzz.sh
  [[ $? -eq 2 ]] && build_failures+=("fuzz build in $FUZZ_BUILD_DIR")
fi

step "results"
python3 - "$BUILD_DIR" "$ASAN_BUILD_DIR" "$FUZZ_BUILD_DIR" "${build_failures[@]}" <<'EOF'
import json, os, sys

build_dir, asan_dir, fuzz_dir, build_failures = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
PASSED = {'OK', 'EXPECTEDFAIL'}
passed = failed = skipped = 0
for prefix, d, log in (('', build_dir, 'unitlog'), ('', build_dir, 'testlog'),
                       ('asan:', asan_dir, 'testlog'), ('fuzz:', fuzz_dir, 'testlog')):
    path = os.path.join(d, 'meson-logs', log + '.json')
    if not os.path.exists(path):
        continue
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            t = json.loads(line)
            result = t.get('result', '?')
            name = prefix + t.get('name', '?')
            print(f'{result:<8} {name:<58} {t.get("duration", 0):7.1f}s')
            if result in PASSED:
                passed += 1
            elif result == 'SKIP':
                skipped += 1
            else:
                failed += 1
for what in build_failures:
    print(f'{"FAIL":<8} {what}')
    failed += 1
line = f'{passed} passed, {failed} failed'
if skipped:
    line += f', {skipped} skipped'
print(line)
sys.exit(1 if failed or passed == 0 else 0)
EOF
