#!/usr/bin/env bash
# rvg in two minutes: a primary and a secondary "host" on this machine (two
# homes, loopback TCP), data written through the primary's FUSE mount, and
# the secondary's copy checked byte for byte.
#
#   bash packaging/demo.sh
#
# Installs what is missing (as root), builds into build/ (BUILD_DIR) unless
# RVG_BINDIR names a directory with installed rvgadm and rvgd, runs
# in a temp dir under /tmp that is removed at the end (KEEP_DEMO=1 keeps
# it). As root, and if loop devices work, it also puts ext4 on a replicated
# volume and checks the secondary's copy with fsck.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*" >&2; "$@"; }

if [[ -n "${RVG_BINDIR:-}" ]]; then
  # Installed binaries (the package test: RVG_BINDIR=/usr/bin); rvgadm
  # starts the rvgd next to it.
  say "using rvgadm and rvgd from $RVG_BINDIR"
  RVGADM=$RVG_BINDIR/rvgadm
else
  say "dependencies and build"
  bash packaging/install-deps.sh
  if [[ ! -f "$BUILD_DIR/meson-private/coredata.dat" ]]; then
    meson setup "$BUILD_DIR" >/dev/null
  fi
  ninja -C "$BUILD_DIR" cli/rvgadm/rvgadm cli/rvgd/rvgd
  BUILD_ABS=$(cd "$BUILD_DIR" && pwd)
  RVGADM=$BUILD_ABS/cli/rvgadm/rvgadm
  export RVGD=$BUILD_ABS/cli/rvgd/rvgd   # tells rvgadm which rvgd to start
fi

DEMO=$(mktemp -d /tmp/rvg-demo.XXXXXX)
P=$DEMO/primary
S=$DEMO/secondary
MNT=$DEMO/mnt
FS=$DEMO/ext4
LOOP=
mkdir -p "$P" "$S" "$MNT"

rvgadm_p() { run "$RVGADM" --home "$P/home" "$@"; }
rvgadm_s() { run "$RVGADM" --home "$S/home" "$@"; }

is_mounted() { grep -q " $1 " /proc/self/mounts; }

stop_host() {  # $1 = home: clean stop, then SIGKILL if it would not go
  local home=$1 pid
  pid=$(cat "$home/run/demo.pid" 2>/dev/null || true)
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
  "$RVGADM" --home "$home" stop demo >/dev/null 2>&1 || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  echo "demo: rvgd $pid did not stop; killing it" >&2
  kill -9 "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  set +e
  if is_mounted "$FS"; then umount "$FS" || umount -l "$FS"; fi
  [[ -n "$LOOP" ]] && losetup -d "$LOOP"
  stop_host "$P/home"
  stop_host "$S/home"
  if is_mounted "$MNT"; then fusermount3 -u -z "$MNT" 2>/dev/null || umount -l "$MNT"; fi
  if [[ "${KEEP_DEMO:-0}" == 1 ]]; then
    echo "demo: kept $DEMO"
  elif ! grep -q " $DEMO/" /proc/self/mounts; then
    rm -rf "$DEMO"
  fi
  if [[ $rc -ne 0 ]]; then
    echo "demo: FAILED (exit $rc). Daemon logs: $P/home/log/demo.log, $S/home/log/demo.log" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT

PORT=$(python3 - <<'EOF'
import socket
for port in range(7001, 7200):
    with socket.socket() as s:
        try:
            s.bind(('127.0.0.1', port))
        except OSError:
            continue
    print(port)
    break
EOF
)

say "pair the hosts: each one's CURVE public key (made at first use) is pinned on the other"
P_KEY=$(rvgadm_p pubkey)
S_KEY=$(rvgadm_s pubkey)
echo "primary's key:   $P_KEY"
echo "secondary's key: $S_KEY"

say "create the RVG 'demo' on both hosts: volumes data (64M) and logs (32M)"
rvgadm_s create demo --volume "data=$S/data.img:64M" --volume "logs=$S/logs.img:32M" \
  --srl "$S/srl:128M" --role secondary --listen "tcp://127.0.0.1:$PORT" --primary-key "$P_KEY"
rvgadm_p create demo --volume "data=$P/data.img:64M" --volume "logs=$P/logs.img:32M" \
  --srl "$P/srl:128M" --role primary
rvgadm_p addsec demo backup --address "tcp://127.0.0.1:$PORT" --peer-key "$S_KEY"

say "start both; the primary's volumes appear as files in $MNT"
rvgadm_s start demo
rvgadm_p start demo --mount "$MNT"
ls -l "$MNT"

say "write through the mount: 24 MiB of random data, then patterned blocks"
run dd if=/dev/urandom of="$MNT/data" bs=1M count=24 conv=notrunc status=none
for i in 0 1 2 3 4 5 6 7; do
  head -c 65536 < <(yes "rvg demo block $i") |
    dd of="$MNT/data" bs=65536 seek=$((400 + i * 7)) conv=notrunc status=none
  printf 'log record %d\n' "$i" |
    dd of="$MNT/logs" bs=4096 seek=$((i * 97)) conv=notrunc status=none
done
run sync "$MNT/data" "$MNT/logs"   # fsync: the durability point
rvgadm_p drain demo --timeout 60

say "status"
rvgadm_p status demo
rvgadm_p status demo --json | python3 -m json.tool

verify() {
  local v
  for v in data logs; do
    cmp "$P/$v.img" "$S/$v.img"
    sha256sum "$P/$v.img" "$S/$v.img"
  done
  echo "secondary copy verified: identical"
}
say "compare the secondary's images with the primary's"
verify

if [[ $(id -u) -eq 0 ]] && LOOP=$(losetup -f --show "$MNT/data" 2>/dev/null); then
  say "ext4 on the replicated volume: $LOOP -> $MNT/data"
  run mkfs.ext4 -q "$LOOP"
  mkdir -p "$FS"
  run mount "$LOOP" "$FS"
  run cp -r /usr/include/linux "$FS/"
  echo "$(find "$FS/linux" -type f | wc -l) files copied"
  run umount "$FS"
  run losetup -d "$LOOP"
  LOOP=
  run sync "$MNT/data"
  rvgadm_p drain demo --timeout 120
  rvgadm_s stop demo
  run fsck.ext4 -fn "$S/data.img"
  verify
else
  say "skipping the ext4-on-loop part (needs root and a working loop device)"
fi

say "stop"
rvgadm_p stop demo
stop_host "$S/home"
rvgadm_p status demo
echo
echo "demo finished: everything written on the primary is on the secondary"
