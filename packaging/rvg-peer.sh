#!/usr/bin/env bash
# rvg as the "custom" config of peerbench's peers.sh (the comparison with a
# plain FUSE passthrough and qemu's replication; README, "Benchmarks").
#
# peers.sh gives us, in the environment:
#   PB_SRC      the primary's image (exists; its size is the volume's)
#   PB_REPLICA  the secondary's image (peers.sh seeds it with PB_SRC's bytes
#               when it verifies, as rvg has no initial sync of its own)
#   PB_MNT      an empty directory: the volume must appear as PB_MNT/data
#               within 30 s
#   PB_WORK     scratch space: both homes and SRLs go there
# and we choose with
#   RVG_MODE      async (default) | sync (synchronous=override
#                 sync_ack=received) | syncdurable (synchronous=override
#                 sync_ack=durable)
#   RVGADM        the rvgadm to run (default: build-release's, beside this
#                 script's tree); it starts the rvgd beside it, or $RVGD
#   RVG_SRL_SIZE  each side's SRL (default: the image's size, so that an
#                 asynchronous backlog of a whole sequential pass fits)
#
# A secondary (on PB_REPLICA) and a primary (on PB_SRC) run on 127.0.0.1,
# paired by CURVE keys as rvgadm pairs any RLINK. On SIGTERM or SIGINT we
# wait until the secondary has data-acked everything, stop both daemons and
# exit 0, so that PB_REPLICA then equals PB_SRC.
set -uo pipefail

for var in PB_SRC PB_REPLICA PB_MNT PB_WORK; do
  if [[ -z "${!var:-}" ]]; then
    echo "rvg-peer: error: $var is not set (peers.sh sets it)" >&2
    exit 2
  fi
done
tree=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RVGADM=${RVGADM:-$tree/build-release/cli/rvgadm/rvgadm}
case "${RVG_MODE:-async}" in
  async) attributes=(synchronous=off) ;;
  sync) attributes=(synchronous=override sync_ack=received) ;;
  syncdurable) attributes=(synchronous=override sync_ack=durable) ;;
  *) echo "rvg-peer: error: RVG_MODE must be async, sync or syncdurable" >&2; exit 2 ;;
esac
if [[ ! -x "$RVGADM" ]]; then
  echo "rvg-peer: error: no rvgadm at $RVGADM (build it, or set RVGADM)" >&2
  exit 2
fi

RVG=pb
# Short names: rvgd's control socket lives under each home, and ipc:// paths
# are limited to about 100 characters.
primary=$PB_WORK/p
secondary=$PB_WORK/s
started=()  # homes whose rvgd runs, in start order

adm() { "$RVGADM" "$@"; }

stop_all() {
  local status=0
  while ((${#started[@]})); do
    adm --home "${started[-1]}" stop "$RVG" || status=1
    unset 'started[-1]'
  done
  return $status
}

fail() {
  echo "rvg-peer: error: $*" >&2
  stop_all
  exit 1
}

sleeper=
shutdown() {
  trap '' TERM INT
  [[ -n "$sleeper" ]] && kill "$sleeper" 2>/dev/null
  local status=0
  if ((${#started[@]} == 2)); then
    echo "rvg-peer: draining"
    adm --home "$primary" drain "$RVG" --timeout 600 || status=1
  fi
  stop_all || status=1
  echo "rvg-peer: stopped (exit $status)"
  exit $status
}
trap shutdown TERM INT

mkdir -p "$PB_WORK" "$PB_MNT"
mkdir -m 700 "$primary" "$secondary" || fail "cannot make the homes under $PB_WORK (left from a run?)"
size=$(stat -c %s "$PB_SRC") || fail "cannot stat PB_SRC $PB_SRC"
srl_size=${RVG_SRL_SIZE:-$size}
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') ||
  fail "cannot find a free TCP port"
endpoint=tcp://127.0.0.1:$port

primary_key=$(adm --home "$primary" pubkey) || fail "rvgadm pubkey failed"
secondary_key=$(adm --home "$secondary" pubkey) || fail "rvgadm pubkey failed"
adm --home "$secondary" create "$RVG" --role secondary --volume "data=$PB_REPLICA:$size" \
    --srl "$secondary/srl:$srl_size" --listen "$endpoint" --primary-key "$primary_key" ||
  fail "creating the secondary failed"
adm --home "$primary" create "$RVG" --role primary --volume "data=$PB_SRC:$size" \
    --srl "$primary/srl:$srl_size" || fail "creating the primary failed"
adm --home "$primary" addsec "$RVG" sec --address "$endpoint" --peer-key "$secondary_key" \
    "${attributes[@]}" || fail "addsec failed"
# Each home is listed before its start: a SIGTERM during the start is
# handled after it returns, and must stop that daemon too.
started+=("$secondary")
adm --home "$secondary" start "$RVG" || { unset 'started[-1]'; fail "starting the secondary failed"; }
started+=("$primary")
adm --home "$primary" start "$RVG" --mount "$PB_MNT" ||
  { unset 'started[-1]'; fail "starting the primary failed"; }
# An image that already holds data (peers.sh prewrites it and seeds the
# replica with the same bytes) makes addsec add the RLINK stale: a checksum
# sync proves the replica equal (only hashes travel) before fio starts.
if adm --home "$primary" status "$RVG" --json | grep -q '"state": *"stale"'; then
  adm --home "$primary" startrep "$RVG" sec --checksum --wait ||
    fail "the checksum sync of the replica failed"
fi
echo "rvg-peer: serving $PB_MNT/data (${RVG_MODE:-async}, rvgd pids" \
     "$(cat "$primary/run/$RVG.pid") and $(cat "$secondary/run/$RVG.pid"))"

# Bash runs a trap only between commands; waiting on a background sleep
# lets SIGTERM in at once.
while :; do
  sleep 3600 &
  sleeper=$!
  wait "$sleeper"
done
