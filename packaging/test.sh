#!/usr/bin/env bash
# The test command: installs what is missing, builds the Debian package
# (whose build tree is the one the tests run on), checks it with lintian,
# runs every test, installs the package and runs the demo with the
# installed binaries, then builds again with AddressSanitizer + UBSan and
# runs the unit tests there, then fuzzes each libFuzzer target for a short
# time (packaging/fuzz.sh).
#
#   bash packaging/test.sh
#
# Prints one line per test and, last, `N passed, N failed` (`, N skipped`
# when some were skipped); each fuzz target counts as one test, and so do
# lintian and the package test. Exits non-zero if anything failed,
# including a build. Build dirs: build-deb/ (made by dpkg-buildpackage from
# scratch on every run), build-asan/ and build-fuzz/ in the repository; the
# packages go to dist/. Set RVG_SKIP_ASAN=1 to skip the sanitizer run,
# RVG_SKIP_FUZZ=1 to skip fuzzing; RVG_FUZZ_SECONDS sets the time per fuzz
# target (20 s by default).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
# debian/rules builds in build-deb/ (see there); the tests run on that tree.
BUILD_DIR=build-deb
DIST_DIR=dist
ASAN_BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}
export FUZZ_BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
build_failures=()
# Steps that count as tests of their own: "RESULT name seconds" lines.
step_results=()


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

# Main build: the Debian package. dpkg-buildpackage cleans and compiles
# everything (tests included) in build-deb/ with Debian's flags (-O2,
# hardening); here with line tables only and warnings as errors. Its own
# test run is skipped (nocheck): the suites run below, on the same tree.
build_package() {
  DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" DEB_CXXFLAGS_APPEND="-g1 -Werror" \
    DEB_CFLAGS_APPEND="-g1 -Werror" dpkg-buildpackage -us -uc -b || return 1
  # dpkg-buildpackage writes next to the source tree; keep its output here.
  local version
  version=$(dpkg-parsechangelog -S Version) || return 1
  mkdir -p "$DIST_DIR" || return 1
  mv ../rvg_"$version"_* ../rvg-dbgsym_"$version"_* "$DIST_DIR"/ 2>/dev/null
  compgen -G "$DIST_DIR/rvg_${version}_*.deb" > /dev/null
}

# Runs a step that counts as one test. $1 = its name, rest = the command;
# the result and the seconds taken go to step_results.
# Its output goes to the terminal and to $DIST_DIR/NAME.log, whose last
# lines the results repeat for a failed step.
record() {
  local name=$1 began=$SECONDS result=OK
  shift
  "$@" 2>&1 | tee "$DIST_DIR/$name.log"
  [[ ${PIPESTATUS[0]} -eq 0 ]] || result=FAIL
  step_results+=("$result $name $((SECONDS - began))")
}

step "building the Debian package (compiles in $BUILD_DIR)"
rm -rf "$DIST_DIR"
rm -rf "$BUILD_DIR/meson-logs"
rm -f "$ASAN_BUILD_DIR/meson-logs/testlog.json" "$FUZZ_BUILD_DIR/meson-logs/testlog.json"
if build_package; then
  step "lintian"
  record package:lintian lintian --allow-root --fail-on error \
    "$DIST_DIR"/rvg_*.changes
  # Unit tests two at a time (they share nothing); integration tests one
  # at a time (they drive real daemons, mounts and ports and must not
  # overlap). Each run writes its own log, both read by the results.
  step "running unit tests"
  meson test -C "$BUILD_DIR" --no-rebuild --print-errorlogs --suite unit --num-processes 2 \
    --logbase unitlog
  step "running integration tests"
  meson test -C "$BUILD_DIR" --no-rebuild --print-errorlogs --suite integration \
    --num-processes 1
  if [[ $(id -u) -eq 0 ]]; then
    step "installing the package, the demo with the installed binaries, removing it"
    record package:install bash tests/package/test_package.sh "$DIST_DIR"
  else
    echo "test.sh: the package test installs the .deb and needs root; skipped"
    step_results+=("SKIP package:install 0")
  fi
else
  build_failures+=("Debian package build in $BUILD_DIR")
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
  # -O1, as the AddressSanitizer documentation advises: it keeps reports
  # readable, and GCC compiles sanitized code at -O1 with a third less CPU
  # than at -O2 (measured on test_secondary_applier.cpp: 12.8 s vs 20.0 s).
  if setup "$ASAN_BUILD_DIR" -Db_sanitize=address,undefined -Db_lundef=false -Doptimization=1 \
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
mkdir -p "$DIST_DIR" && printf '%s\n' "${step_results[@]}" > "$DIST_DIR/step-results.txt"
python3 - "$BUILD_DIR" "$ASAN_BUILD_DIR" "$FUZZ_BUILD_DIR" "$DIST_DIR/step-results.txt" \
    "${build_failures[@]}" <<'EOF'
import json, os, sys

build_dir, asan_dir, fuzz_dir, steps_path = sys.argv[1:5]
build_failures = sys.argv[5:]
PASSED = {'OK', 'EXPECTEDFAIL'}
passed = failed = skipped = 0
why = []  # (name, output) of each failure


def count(result, name, seconds):
    global passed, failed, skipped
    print(f'{result:<8} {name:<58} {seconds:7.1f}s')
    if result in PASSED:
        passed += 1
    elif result == 'SKIP':
        skipped += 1
    else:
        failed += 1


for prefix, d, log in (('', build_dir, 'unitlog'), ('', build_dir, 'testlog'),
                       ('asan:', asan_dir, 'testlog'), ('fuzz:', fuzz_dir, 'testlog')):
    path = os.path.join(d, 'meson-logs', log + '.json')
    if not os.path.exists(path):
        continue
    with open(path) as f:
        for line in f:
            if line.strip():
                t = json.loads(line)
                count(t.get('result', '?'), prefix + t.get('name', '?'), t.get('duration', 0))
                if t.get('result') not in PASSED | {'SKIP'}:
                    why.append((prefix + t.get('name', '?'),
                                (t.get('stdout') or '') + (t.get('stderr') or '')))
if os.path.exists(steps_path):
    with open(steps_path) as f:
        for line in f:
            if line.strip():
                result, name, seconds = line.split()
                count(result, name, float(seconds))
                step_log = os.path.join(os.path.dirname(steps_path), name + '.log')
                if result == 'FAIL' and os.path.exists(step_log):
                    with open(step_log, errors='replace') as g:
                        why.append((name, g.read()))
for what in build_failures:
    count('FAIL', what, 0)
# Why each failure failed, in the last lines of its output: a CI log is
# often read only from its end.
for name, output in why:
    lines = [l for l in output.splitlines() if l.strip()][-4:]
    print(f'--- {name}:')
    for l in lines:
        print(f'    {l[:200]}')
line = f'{passed} passed, {failed} failed'
if skipped:
    line += f', {skipped} skipped'
print(line)
sys.exit(1 if failed or passed == 0 else 0)
EOF
