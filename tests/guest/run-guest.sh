#!/usr/bin/env bash
# Boots the test guest under QEMU (TCG) with SCRIPT as its test script, streams the serial console to
# stdout and exits with the script's exit status (from the guest's "NVEMU-GUEST-EXIT <status>" line).
#
#   tests/guest/run-guest.sh SCRIPT [TIMEOUT_SECONDS]      (timeout default 300)
#
# Exit status: the guest script's status; 124 on timeout (QEMU is killed); 125 when QEMU stopped without
# the marker (a kernel panic, a QEMU error); 2 for bad usage.
#
# Environment:
#   NVEMU_GUEST_KERNEL, NVEMU_GUEST_INITRD   the guest (default: from build-initramfs.sh, cached)
#   NVEMU_GUEST_SMP (1), NVEMU_GUEST_MEM (1024)   vCPUs and MiB
#   NVEMU_GUEST_HOSTFWD    comma-separated QEMU hostfwd rules, e.g. tcp:127.0.0.1:14420-:4420
#   NVEMU_GUEST_LOG        also keep the console log in this file (default: a temporary file)
#   NVEMU_GUEST_PREFIX     prefix for every streamed console line (e.g. "[target] ")
#   NVEMU_GUEST_APPEND     extra kernel command line; NVEMU_GUEST_VERBOSE=1 drops "quiet"
#   NVEMU_GUEST_QEMU       QEMU binary (default qemu-system-x86_64)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log() { printf 'run-guest: %s\n' "$*" >&2; }

if [[ $# -lt 1 || $# -gt 2 || $1 == -h || $1 == --help ]]; then
  sed -n '2,20s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
  [[ ${1:-} == -h || ${1:-} == --help ]] && exit 0
  exit 2
fi
script=$1
timeout_s=${2:-300}
[[ -r $script ]] || { log "cannot read the script '$script'"; exit 2; }
[[ $timeout_s =~ ^[0-9]+$ && $timeout_s -gt 0 ]] || { log "bad timeout '$timeout_s'"; exit 2; }

qemu=${NVEMU_GUEST_QEMU:-qemu-system-x86_64}
command -v "$qemu" >/dev/null || { log "$qemu not found: run scripts/install-deps.sh --guest"; exit 125; }

if [[ -z ${NVEMU_GUEST_KERNEL:-} || -z ${NVEMU_GUEST_INITRD:-} ]]; then
  while IFS='=' read -r k v; do
    case "$k" in
      NVEMU_GUEST_KERNEL) NVEMU_GUEST_KERNEL=$v ;;
      NVEMU_GUEST_INITRD) NVEMU_GUEST_INITRD=$v ;;
    esac
  done < <("$HERE/build-initramfs.sh" || echo "FAILED=1")
fi
for f in "${NVEMU_GUEST_KERNEL:-}" "${NVEMU_GUEST_INITRD:-}"; do
  [[ -n $f && -r $f ]] || { log "no guest kernel/initramfs (build-initramfs.sh failed?)"; exit 125; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/nvemu-guest.XXXXXX")
qpid="" tpid=""
cleanup() {
  # QEMU first; the streaming tail then ends by itself (--pid) after printing the rest of the console.
  if [[ -n $qpid ]]; then
    kill "$qpid" 2>/dev/null || true
    wait "$qpid" 2>/dev/null || true
  fi
  [[ -n $tpid ]] && wait "$tpid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'log "stopped by a signal: QEMU killed"; exit 130' INT TERM HUP

# fw_cfg's file= option cannot hold commas: pass a copy with a safe name.
cp "$script" "$work/script"
console=${NVEMU_GUEST_LOG:-$work/console.log}
: >"$console"

netdev="user,id=n0"
if [[ -n ${NVEMU_GUEST_HOSTFWD:-} ]]; then
  IFS=',' read -ra rules <<<"$NVEMU_GUEST_HOSTFWD"
  for r in "${rules[@]}"; do netdev+=",hostfwd=$r"; done
fi
# no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer check can fail and panic
# ("IO-APIC + timer doesn't work!"), seen at load average 18; the check proves nothing in a VM.
append="console=ttyS0 panic=-1 no_timer_check"
[[ ${NVEMU_GUEST_VERBOSE:-0} == 1 ]] || append+=" quiet"
[[ -n ${NVEMU_GUEST_APPEND:-} ]] && append+=" $NVEMU_GUEST_APPEND"

# shellcheck disable=SC2054  # the commas belong to QEMU option values
cmd=("$qemu" -machine q35 -accel tcg -cpu max
     -m "${NVEMU_GUEST_MEM:-1024}" -smp "${NVEMU_GUEST_SMP:-1}"
     -nographic -no-reboot
     -kernel "$NVEMU_GUEST_KERNEL" -initrd "$NVEMU_GUEST_INITRD" -append "$append"
     -netdev "$netdev" -device virtio-net-pci,netdev=n0,romfile=
     -fw_cfg "name=opt/test/script,file=$work/script")
log "$(basename "$NVEMU_GUEST_KERNEL") + $(basename "$NVEMU_GUEST_INITRD"), smp ${NVEMU_GUEST_SMP:-1}, timeout ${timeout_s}s${NVEMU_GUEST_HOSTFWD:+, hostfwd $NVEMU_GUEST_HOSTFWD}"

start=$(date +%s.%N)
# QEMU writes the console (and its own errors) to the log; tail streams it until QEMU is gone.
timeout -k 5 "$timeout_s" "${cmd[@]}" </dev/null >"$console" 2>&1 &
qpid=$!
# (A shell loop, not awk: Debian's mawk holds pipe input back until its buffer fills.)
stream() {
  local line prefix=${NVEMU_GUEST_PREFIX:-}
  while IFS= read -r line || [[ -n $line ]]; do printf '%s%s\n' "$prefix" "${line%$'\r'}"; done
}
tail -n +1 -s 0.2 -f --pid="$qpid" "$console" | stream &
tpid=$!
set +e
wait "$qpid"
qrc=$?
set -e
qpid=""
wait "$tpid" 2>/dev/null || true
tpid=""
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')

marker=$(tr -d '\r' <"$console" | grep -aE '^NVEMU-GUEST-EXIT [0-9]+$' | tail -n1 || true)
if [[ -n $marker ]]; then
  status=${marker##* }
  log "guest script exited with status $status after ${elapsed}s"
  exit "$status"
fi
if ((qrc == 124 || qrc == 137)); then
  log "TIMEOUT: the guest did not finish within ${timeout_s}s; QEMU killed"
  exit 124
fi
log "QEMU exited ($qrc) after ${elapsed}s without the NVEMU-GUEST-EXIT marker (kernel panic or QEMU error)"
exit 125
