#!/usr/bin/env bash
# The Debian package test (run by packaging/test.sh, as root): installs
# dist/rvg_*.deb with apt-get, checks that every part of rvg landed where
# an administrator looks for it, runs the demo pair with the installed
# binaries (not the build tree), then purges the package and checks that
# nothing of it is left.
#
#   bash tests/package/test_package.sh DIST_DIR
#
# The package must not be installed beforehand: the test would otherwise
# remove an administrator's installation. Exits non-zero on any failure,
# with one line saying what.
set -euo pipefail

cd "$(dirname "$0")/../.."
DIST_DIR=$1
fail() { echo "test_package: FAIL: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || fail "needs root (apt-get install)"
# Any trace of an installed rvg (held, half-configured, or only its
# conffiles left) belongs to an administrator: the purge below would take it.
status=$(dpkg-query -W -f='${db:Status-Status}' rvg 2>/dev/null || true)
if [[ -n "$status" && "$status" != not-installed ]]; then
  fail "package rvg is on this machine ($status); remove it first (apt-get purge rvg)"
fi
version=$(dpkg-parsechangelog -S Version)
arch=$(dpkg --print-architecture)
deb=$(realpath "$DIST_DIR/rvg_${version}_${arch}.deb")
[[ -f "$deb" ]] || fail "$deb was not built"

installed=0
purge() {
  [[ $installed -eq 1 ]] || return 0
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -q rvg > /dev/null
  installed=0
}
trap 'rc=$?; purge || true; exit $rc' EXIT

echo "test_package: apt-get install $deb"
# Its dependencies are the libraries the build used, already here, so
# nothing is downloaded. (Not --no-download: with it, apt 2.6 refuses a
# local .deb: "Internal Error, Pathname to install is not absolute".)
# Set first: a failed or half-configured install is purged too.
installed=1
apt_log="$DIST_DIR/apt-install.log"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "$deb" > "$apt_log" 2>&1 \
  || { tail -15 "$apt_log"; fail "apt-get install $deb failed: $(grep -E '^(E|W|dpkg):' "$apt_log" | tail -1) (log: $apt_log)"; }
files=$(dpkg -L rvg)

expect_file() {  # $1 = path the package must install, $2 = "x" when executable
  grep -qx "$1" <<< "$files" || fail "the package does not list $1"
  [[ -f "$1" ]] || fail "$1 is listed but not on disk"
  [[ "${2:-}" != x || -x "$1" ]] || fail "$1 is not executable"
}
expect_file /usr/bin/rvgd x
expect_file /usr/bin/rvgadm x
expect_file /lib/systemd/system/rvgd@.service
expect_file /usr/lib/ocf/resource.d/rvg/rvg x
expect_file /usr/share/man/man8/rvgadm.8.gz
expect_file /usr/share/man/man8/rvgd.8.gz
expect_file /usr/share/bash-completion/completions/rvgadm
expect_file /etc/default/rvgd
grep -qx /etc/default/rvgd < /var/lib/dpkg/info/rvg.conffiles \
  || fail "/etc/default/rvgd is not a conffile (an upgrade would overwrite local edits)"
grep -q '^ExecStart=/usr/bin/rvgd ' /lib/systemd/system/rvgd@.service \
  || fail "the installed unit does not run /usr/bin/rvgd"
man -w rvgadm > /dev/null || fail "man rvgadm finds no page"
help=$(/usr/bin/rvgadm --help) || fail "the installed rvgadm --help failed"
grep -q '^ *create ' <<< "$help" || fail "the installed rvgadm prints no command list"

echo "test_package: the demo pair with /usr/bin/rvgadm and /usr/bin/rvgd"
# PATH without the build tree: rvgadm finds rvgd next to itself.
env -u RVGD PATH=/usr/sbin:/usr/bin:/sbin:/bin RVG_BINDIR=/usr/bin bash packaging/demo.sh \
  > "$DIST_DIR/demo-installed.log" 2>&1 \
  || { tail -20 "$DIST_DIR/demo-installed.log"; fail "the demo failed with the installed binaries (log: $DIST_DIR/demo-installed.log)"; }
grep -q 'secondary copy verified: identical' "$DIST_DIR/demo-installed.log" \
  || fail "the demo did not verify the secondary's copy"

echo "test_package: apt-get purge rvg"
purge
left=()
while read -r path; do
  # Directories are shared with other packages; only files count.
  [[ -e "$path" && ! -d "$path" ]] && left+=("$path")
done <<< "$files"
[[ ${#left[@]} -eq 0 ]] || fail "purge left: ${left[*]}"
status=$(dpkg-query -W -f='${db:Status-Status}' rvg 2>/dev/null || true)
[[ -z "$status" || "$status" == not-installed ]] || fail "dpkg still lists rvg ($status) after purge"
echo "test_package: OK (installed, demo verified, purged clean)"
