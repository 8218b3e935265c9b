#!/usr/bin/env bash
# Installs every Debian package needed to build, test and demo rvg, plus
# any package named as an argument (packaging/bench.sh adds fio).
#
# Fast when nothing is missing: the packages are checked with dpkg first and
# apt-get runs only if one of them is not installed. Installing needs root;
# run as another user with everything already present, it just says so.
set -euo pipefail

PACKAGES=(
  # build; the Debian package (dpkg-buildpackage, debhelper, lintian) is
  # the main build of packaging/test.sh
  build-essential g++ meson ninja-build pkg-config dpkg-dev debhelper lintian
  # man pages (scdoc builds them, man renders them in a test); the
  # systemd unit is checked with systemd-analyze
  scdoc man-db systemd
  # libraries rvg links against
  libfuse3-dev libzmq3-dev cppzmq-dev libmsgpack-cxx-dev libsqlite3-dev
  libspdlog-dev libfmt-dev nlohmann-json3-dev catch2 libisal-dev libxxhash-dev libsystemd-dev
  libmicrohttpd-dev libcli11-dev libsodium-dev
  # runtime: fusermount3, and what the demo and the tests use
  fuse3 e2fsprogs util-linux mount passwd procps
  # integration tests and benchmarks (Debian's python3 with its modules)
  python3 python3-zmq python3-msgpack
  # the Pacemaker agent's test (test_ocf.py): ocf-tester and the OCF shell
  # library are in resource-agents; ocf-tester checks the agent's metadata
  # with xmllint, which resource-agents only recommends
  resource-agents libxml2-utils
  # fuzzing (packaging/fuzz.sh): clang, and libFuzzer's runtime
  # (libclang_rt.fuzzer), which Debian 12 ships in libclang-rt-14-dev
  clang libclang-rt-14-dev
  "$@"
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: error: missing packages: ${missing[*]}" >&2
  echo "install-deps: run this script as root (sudo bash packaging/install-deps.sh)" \
       "or install them with apt-get" >&2
  exit 1
fi

echo "install-deps: installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# The package lists are refreshed only when they turn out to be too old (or
# absent): an update costs a download on every run otherwise.
if ! apt-get install -y -q --no-install-recommends "${missing[@]}"; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "install-deps: done"
