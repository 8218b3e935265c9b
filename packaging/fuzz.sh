#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang, AddressSanitizer
# and UBSan, and fuzzes each one for a bounded time.
#
#   bash packaging/fuzz.sh [SECONDS_PER_TARGET]
#   RVG_FUZZ_SECONDS=3600 bash packaging/fuzz.sh     # a long run
#
# The time per target is the argument, else RVG_FUZZ_SECONDS, else 20 s.
# Each target starts from its committed seeds (tests/fuzz/corpus/TARGET,
# read only) plus what earlier runs found (BUILD/tests/fuzz/corpus/TARGET,
# where new inputs go). A crash or a violated oracle leaves its input in
# BUILD/tests/fuzz/crashes/TARGET/; reproduce it with
#   BUILD/tests/fuzz/fuzz_TARGET PATH_OF_THE_INPUT
#
# Prints one line per target (runs, result, the crashing input if any).
# Exit status: 0 all passed, 1 a target failed, 2 the build failed.
# Build dir: build-fuzz/ (override with FUZZ_BUILD_DIR); the runs are
# meson tests of suite 'fuzz' there, which packaging/test.sh counts.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
FUZZ_BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
seconds=${1:-${RVG_FUZZ_SECONDS:-20}}
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz.sh: SECONDS_PER_TARGET must be a whole number of seconds, not '$seconds'" >&2
  exit 2
fi

# Only the libraries the targets need get built, with coverage
# instrumentation (fuzzer-no-link); the targets link libFuzzer's main.
options=(-Dwerror=true -Dfuzz=true -Dtests=false -Ddebug=false
         "-Dcpp_args=-fsanitize=fuzzer-no-link -gline-tables-only"
         -Db_sanitize=address,undefined -Db_lundef=false)
if [[ -f "$FUZZ_BUILD_DIR/meson-private/coredata.dat" ]]; then
  meson setup --reconfigure "$FUZZ_BUILD_DIR" "${options[@]}" > /dev/null || exit 2
else
  CC=clang CXX=clang++ meson setup "$FUZZ_BUILD_DIR" "${options[@]}" > /dev/null || exit 2
fi
mapfile -t targets < <(meson introspect --tests "$FUZZ_BUILD_DIR" | python3 -c '
import json, os, sys
build = os.path.realpath(sys.argv[1])
for test in json.load(sys.stdin):
    if any(s.split(":")[-1] == "fuzz" for s in test["suite"]):
        print(os.path.relpath(os.path.realpath(test["cmd"][0]), build))' "$FUZZ_BUILD_DIR")
if [[ ${#targets[@]} -eq 0 ]]; then
  echo "fuzz.sh: no fuzz targets in $FUZZ_BUILD_DIR" >&2
  exit 2
fi
build_log="$FUZZ_BUILD_DIR/meson-logs/fuzz-build.txt"
if ! ninja -C "$FUZZ_BUILD_DIR" "${targets[@]}" > "$build_log" 2>&1; then
  cat "$build_log"
  echo "fuzz.sh: building the fuzz targets failed" >&2
  exit 2
fi

# One target at a time: each fuzzer keeps a core busy for its whole time.
rm -f "$FUZZ_BUILD_DIR/meson-logs/testlog.json"
echo "fuzz.sh: ${#targets[@]} targets, ${seconds} s each"
meson test -C "$FUZZ_BUILD_DIR" --no-rebuild --suite fuzz --num-processes 1 \
  --test-args="-max_total_time=$seconds" > "$FUZZ_BUILD_DIR/meson-logs/fuzz-run.txt" 2>&1

python3 - "$FUZZ_BUILD_DIR" <<'PY'
import json, os, re, sys

build = sys.argv[1]
failed = 0
with open(os.path.join(build, 'meson-logs', 'testlog.json')) as f:
    for line in f:
        if not line.strip():
            continue
        t = json.loads(line)
        out = (t.get('stdout') or '') + (t.get('stderr') or '')  # libFuzzer: stderr
        runs = re.search(r'stat::number_of_executed_units:\s*(\d+)', out)
        runs = runs.group(1) if runs else '?'
        result = t.get('result', '?')
        detail = f'{runs} runs in {t.get("duration", 0):.0f} s'
        if result != 'OK':
            failed += 1
            saved = re.findall(r'Test unit written to (\S+)', out)
            why = re.search(r'(fuzz oracle violated: .*|ERROR: \w+Sanitizer: [\w-]+|'
                            r'ERROR: libFuzzer: [\w-]+|SUMMARY: .*)', out)
            detail += '; ' + (why.group(1) if why else 'see ' + build + '/meson-logs/testlog.txt')
            if saved:
                detail += '; input: ' + saved[-1]
        print(f'fuzz {t.get("name", "?"):<12} {result:<6} {detail}')
sys.exit(1 if failed else 0)
PY
