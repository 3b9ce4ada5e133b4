#!/usr/bin/env bash
# Known-good reference for the real-client test: boots a second guest that runs the Linux kernel's own
# NVMe/TCP target (nvmet-tcp, RAM-backed null_blk; nvmet-target-guest.sh), forwards host
# 127.0.0.1:PORT -> guest :4420 and 127.0.0.1:DISC_PORT -> guest :8009, and runs the client test
# (nvme_tcp_guest_test.sh with NVEMU_GUEST_EXTERNAL_TARGET=1) against it through 10.0.2.2:PORT.
# It proves the client side (guest, nvme-cli, fio, networking) on this machine, and gives a reference
# console log to compare nvemu's behaviour with.
#
#   tests/guest/reference-target.sh             client test against the kernel target
#   tests/guest/reference-target.sh --serve     only run the reference target (until Ctrl-C or its
#                                               lifetime), e.g. to point `nvemu identify` at it
#
# Environment:
#   NVEMU_REF_PORT (14420), NVEMU_REF_DISC_PORT (18009)   host ports (the next free ones are used if busy)
#   NVEMU_REF_NQN (nqn.2014-08.io.nvemu:reference)         subsystem NQN
#   NVEMU_REF_LIFETIME (600)                              seconds the target guest stays up at most
#   plus nvme_tcp_guest_test.sh's NVEMU_GUEST_* variables for the client (e.g. NVEMU_GUEST_CONNECT_ARGS="-g -G")
# Both guests get -smp 1 (TCG keeps a core busy per vCPU; the machine has 2).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log() { printf 'reference-target: %s\n' "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

mode="test"
case "${1:-}" in
  "") ;;
  --serve) mode=serve ;;
  -h|--help) sed -n '2,20s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
  *) fail "unknown argument '$1' (see --help)" ;;
esac

nqn=${NVEMU_REF_NQN:-nqn.2014-08.io.nvemu:reference}
lifetime=${NVEMU_REF_LIFETIME:-600}
[[ $nqn =~ ^[A-Za-z0-9._:-]+$ ]] || fail "unexpected characters in NVEMU_REF_NQN"

busy() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
free_port() {
  local p=$1 n
  for ((n = 0; n < 100; n++, p++)); do busy "$p" || { echo "$p"; return 0; }; done
  return 1
}
port=$(free_port "${NVEMU_REF_PORT:-14420}") || fail "no free port near ${NVEMU_REF_PORT:-14420}"
disc_port=$(free_port "${NVEMU_REF_DISC_PORT:-18009}") || fail "no free port near ${NVEMU_REF_DISC_PORT:-18009}"

# The guest kernel/initramfs once, shared by both guests.
if [[ ${NVEMU_GUEST_NO_INSTALL:-0} != 1 ]]; then
  bash "$HERE/../../scripts/install-deps.sh" --guest-only || fail "installing the guest packages failed"
fi
while IFS='=' read -r k v; do
  case "$k" in NVEMU_GUEST_KERNEL|NVEMU_GUEST_INITRD) export "$k=$v" ;; esac
done < <("$HERE/build-initramfs.sh" || true)
[[ -n ${NVEMU_GUEST_INITRD:-} ]] || fail "build-initramfs.sh failed"

work=$(mktemp -d "${TMPDIR:-/tmp}/nvemu-ref.XXXXXX")
target_pid=""
cleanup() {
  if [[ -n $target_pid ]]; then
    kill -TERM "$target_pid" 2>/dev/null || true
    wait "$target_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  log "total ${SECONDS}s"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

{
  echo "#!/bin/sh"
  echo "NVMET_NQN='$nqn'"
  echo "NVMET_LIFETIME='$lifetime'"
  cat "$HERE/nvmet-target-guest.sh"
} >"$work/target.sh"

log "target guest: nvmet-tcp, $nqn, host 127.0.0.1:$port -> :4420, 127.0.0.1:$disc_port -> :8009"
t_boot=$SECONDS
NVEMU_GUEST_PREFIX="[target] " NVEMU_GUEST_LOG="$work/target.log" NVEMU_GUEST_SMP=1 \
  NVEMU_GUEST_HOSTFWD="tcp:127.0.0.1:$port-:4420,tcp:127.0.0.1:$disc_port-:8009" \
  "$HERE/run-guest.sh" "$work/target.sh" $((lifetime + 60)) &
target_pid=$!
for ((i = 0; i < 1200; i++)); do
  grep -aq '^NVEMU-TARGET-READY' "$work/target.log" 2>/dev/null && break
  kill -0 "$target_pid" 2>/dev/null || fail "the target guest stopped before it was ready"
  sleep 0.1
done
grep -aq '^NVEMU-TARGET-READY' "$work/target.log" || fail "the target guest was not ready within 120 s"
log "target ready after $((SECONDS - t_boot))s"

if [[ $mode == serve ]]; then
  log "serving: nvme connect -t tcp -a 127.0.0.1 -s $port -n $nqn (from a guest: -a 10.0.2.2); Ctrl-C stops"
  wait "$target_pid" || true
  target_pid=""
  exit 0
fi

t_client=$SECONDS
rc=0
NVEMU_GUEST_EXTERNAL_TARGET=1 NVEMU_GUEST_NO_INSTALL=1 NVEMU_GUEST_SMP=1 \
  NVEMU_GUEST_TARGET_PORT=$port NVEMU_GUEST_DISCOVERY_PORT=$disc_port NVEMU_GUEST_NQN=$nqn \
  "$HERE/nvme_tcp_guest_test.sh" || rc=$?
log "client test: status $rc in $((SECONDS - t_client))s (target boot $((t_client - t_boot))s)"
((rc == 0)) || fail "the client test failed against the kernel's own target"
log "PASS: the client test passes against the Linux nvmet-tcp reference target"
