#!/usr/bin/env bash
# Real-client NVMe/TCP test (host side; CTest: guest_nvme_tcp). Starts `nvemu serve` on the host,
# boots a Linux guest under QEMU (TCG) that reaches it as 10.0.2.2 through user networking and runs
# nvme-tcp-guest.sh there: discover, connect, id-ctrl, id-ns, smart-log, list, fio verify, disconnect.
#
#   tests/guest/nvme_tcp_guest_test.sh [--nvemu PATH]
#
# Exit status: 0 pass; 1 fail (also when nvemu or `nvemu serve` is missing); 77 skipped because QEMU or
# the guest kernel could not be prepared (1 instead when NVEMU_GUEST_REQUIRE=1, as in CI).
#
# Environment:
#   NVEMU_BIN                     the nvemu binary (or --nvemu; CMake passes $<TARGET_FILE:nvemu_app>)
#   NVEMU_SERVE_ARGS              extra arguments for `nvemu serve` (split on spaces)
#   NVEMU_GUEST_NQN               subsystem NQN (default: the first NQN in nvemu's startup output, else the
#                                 first NVM subsystem of the discovery log)
#   NVEMU_GUEST_TARGET_PORT       host port of the I/O controller (4420)
#   NVEMU_GUEST_DISCOVERY_PORT    host port for nvme discover (8009 when something listens there, else
#                                 the target port)
#   NVEMU_GUEST_EXTERNAL_TARGET=1 start no nvemu: test whatever listens on those ports (reference-target.sh)
#   NVEMU_GUEST_CONNECT_ARGS      extra `nvme connect` arguments, e.g. "-g -G" (header + data digests)
#   NVEMU_GUEST_FIO_SIZE (8M), NVEMU_GUEST_FIO_JOBS (2), NVEMU_GUEST_FIO_DEPTH (16)
#   NVEMU_GUEST_TIMEOUT           guest run-time limit in seconds (480)
#   NVEMU_GUEST_REQUIRE=1         a preparation failure fails instead of skipping
#   NVEMU_GUEST_NO_INSTALL=1      do not call scripts/install-deps.sh --guest-only
#   plus run-guest.sh's and build-initramfs.sh's variables (NVEMU_GUEST_CACHE, NVEMU_GUEST_SMP, ...)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
START=$SECONDS

say() { printf '\n==================== guest test: %s [%ds] ====================\n' "$*" $((SECONDS - START)); }
fail() { printf 'guest test: FAIL: %s\n' "$*" >&2; exit 1; }
skip() {
  if [[ ${NVEMU_GUEST_REQUIRE:-0} == 1 ]]; then
    fail "$* (NVEMU_GUEST_REQUIRE=1: not skipping)"
  fi
  printf 'guest test: SKIP: %s\n' "$*" >&2
  exit 77
}

nvemu=${NVEMU_BIN:-}
while (($#)); do
  case "$1" in
    --nvemu) nvemu=${2:-}; shift 2 ;;
    --nvemu=*) nvemu=${1#*=}; shift ;;
    -h|--help) sed -n '2,27s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) fail "unknown argument '$1' (see --help)" ;;
  esac
done

external=${NVEMU_GUEST_EXTERNAL_TARGET:-0}
port=${NVEMU_GUEST_TARGET_PORT:-4420}
nqn=${NVEMU_GUEST_NQN:-}
guest_timeout=${NVEMU_GUEST_TIMEOUT:-480}

# ---------------------------------------------------------------------------------------------------
say "nvemu"
if [[ $external != 1 ]]; then
  [[ -n $nvemu ]] || fail "no nvemu binary given (--nvemu PATH or NVEMU_BIN); is the nvemu_app target built?"
  [[ -x $nvemu ]] || fail "nvemu binary '$nvemu' does not exist or is not executable"
  why=$(bash "$HERE/has-serve.sh" "$nvemu") || fail "$why: this nvemu has no 'serve' command yet (NVMe/TCP target pending)"
  echo "$nvemu: serve available"
else
  echo "external target (NVEMU_GUEST_EXTERNAL_TARGET=1): not starting nvemu"
fi

# ---------------------------------------------------------------------------------------------------
say "guest packages"
if [[ ${NVEMU_GUEST_NO_INSTALL:-0} != 1 ]]; then
  timeout 900 bash "$ROOT/scripts/install-deps.sh" --guest-only ||
    skip "scripts/install-deps.sh --guest-only failed: QEMU/busybox/nvme-cli/fio not available"
fi
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"

say "guest kernel + initramfs"
NVEMU_GUEST_KERNEL="" NVEMU_GUEST_INITRD=""
while IFS='=' read -r k v; do
  case "$k" in
    NVEMU_GUEST_KERNEL) NVEMU_GUEST_KERNEL=$v ;;
    NVEMU_GUEST_INITRD) NVEMU_GUEST_INITRD=$v ;;
  esac
done < <(timeout 900 "$HERE/build-initramfs.sh" || true)
[[ -n $NVEMU_GUEST_KERNEL && -n $NVEMU_GUEST_INITRD ]] ||
  skip "the guest kernel/initramfs could not be prepared (see build-initramfs.sh's message above)"
export NVEMU_GUEST_KERNEL NVEMU_GUEST_INITRD

# ---------------------------------------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/nvemu-guest-test.XXXXXX")
serve_pid="" serve_log="$work/serve.log"
listening() {  # listening PORT: is something listening on 127.0.0.1:PORT (or any address)?
  if command -v ss >/dev/null; then
    ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}
stop_serve() {
  [[ -n $serve_pid ]] || return 0
  local pid=$serve_pid i rc=0
  serve_pid=""
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || rc=$?
    echo "guest test: nvemu serve had already exited (status $rc)" >&2
    return 1
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "guest test: WARNING: nvemu serve ignored SIGTERM for 10 s; SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || rc=$?
  echo "guest test: nvemu serve stopped (exit status $rc after SIGTERM)"
}
on_exit() {
  local rc=$?
  stop_serve || true
  if [[ -s $serve_log ]]; then
    local lines=50
    ((rc == 0)) || lines=300
    printf '\n==================== guest test: nvemu serve log (%d lines, the last %d) ====================\n' \
      "$(wc -l <"$serve_log")" "$lines" >&2
    tail -n "$lines" "$serve_log" | sed 's/^/[nvemu] /' >&2
  fi
  rm -rf "$work"
  printf 'guest test: total %ds\n' $((SECONDS - START)) >&2
}
trap on_exit EXIT
trap 'exit 130' INT TERM HUP

if [[ $external != 1 ]]; then
  say "start nvemu serve"
  if listening "$port"; then
    fail "port $port is already in use on this host (another target running?): $(ss -Hltnp "sport = :$port" 2>/dev/null)"
  fi
  # shellcheck disable=SC2086  # NVEMU_SERVE_ARGS is a list of arguments
  echo "+ $nvemu serve ${NVEMU_SERVE_ARGS:-}"
  "$nvemu" serve ${NVEMU_SERVE_ARGS:-} </dev/null >"$serve_log" 2>&1 &
  serve_pid=$!
  for ((i = 0; i < 300; i++)); do
    kill -0 "$serve_pid" 2>/dev/null || { cat "$serve_log" >&2; fail "nvemu serve exited during startup"; }
    listening "$port" && break
    sleep 0.1
  done
  listening "$port" || fail "nvemu serve does not listen on port $port after 30 s"
  # The subsystem NQN from nvemu's startup output (it prints how to connect), if it says one soon.
  serve_nqn() {
    grep -aoE 'nqn\.[0-9]{4}-[0-9]{2}\.[A-Za-z0-9._:-]+' "$serve_log" |
      sed 's/:*$//' | grep -vxF nqn.2014-08.org.nvmexpress.discovery | head -n1 || true
  }
  if [[ -z $nqn ]]; then
    for ((i = 0; i < 20; i++)); do nqn=$(serve_nqn); [[ -n $nqn ]] && break; sleep 0.1; done
  fi
  sed 's/^/[nvemu] /' "$serve_log"
fi
if [[ -n ${NVEMU_GUEST_DISCOVERY_PORT:-} ]]; then
  disc_port=$NVEMU_GUEST_DISCOVERY_PORT
elif listening 8009; then
  disc_port=8009
else
  disc_port=$port
fi
[[ $nqn =~ ^[A-Za-z0-9._:-]*$ ]] || fail "unexpected characters in the NQN '$nqn'"
[[ ${NVEMU_GUEST_CONNECT_ARGS:-} =~ ^[A-Za-z0-9\ =._:-]*$ ]] || fail "unexpected characters in NVEMU_GUEST_CONNECT_ARGS"
echo "target: 10.0.2.2:$port (host 127.0.0.1:$port), discovery port $disc_port, nqn ${nqn:-<first in the discovery log>}"

# ---------------------------------------------------------------------------------------------------
# The guest script: variable assignments, then nvme-tcp-guest.sh.
{
  echo "#!/bin/sh"
  echo "# generated by nvme_tcp_guest_test.sh"
  echo "NVME_ADDR='10.0.2.2'"
  echo "NVME_PORT='$port'"
  echo "NVME_DISC_PORT='$disc_port'"
  echo "NVME_NQN='$nqn'"
  echo "NVME_CONNECT_ARGS='${NVEMU_GUEST_CONNECT_ARGS:-}'"
  # Spec-exact statuses for nvemu; an external target (the kernel's nvmet as reference) may show
  # the known deviations the guest script lists.
  if [[ $external == 1 ]]; then echo "NVME_STRICT=0"; else echo "NVME_STRICT=1"; fi
  echo "FIO_SIZE='${NVEMU_GUEST_FIO_SIZE:-8M}'"
  echo "FIO_JOBS='${NVEMU_GUEST_FIO_JOBS:-2}'"
  echo "FIO_DEPTH='${NVEMU_GUEST_FIO_DEPTH:-16}'"
  cat "$HERE/nvme-tcp-guest.sh"
} >"$work/guest.sh"

say "boot the guest and run the client test (timeout ${guest_timeout}s)"
rc=0
"$HERE/run-guest.sh" "$work/guest.sh" "$guest_timeout" || rc=$?
if [[ $external != 1 && -n $serve_pid ]] && ! kill -0 "$serve_pid" 2>/dev/null; then
  stop_serve || true
  fail "nvemu serve died during the test"
fi
case $rc in
  0) ;;
  124) fail "the guest timed out after ${guest_timeout}s" ;;
  125) fail "the guest did not report a status (kernel panic or QEMU error; see the console above)" ;;
  *) fail "the guest test failed with status $rc (see the console above)" ;;
esac
say "PASS"
