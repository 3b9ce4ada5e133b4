#!/bin/sh
# Guest side of the real-client NVMe/TCP test: runs inside the QEMU guest (busybox sh) as the fw_cfg
# test script. The host driver (nvme_tcp_guest_test.sh) prepends variable assignments to this file:
#   NVME_ADDR        target address as the guest sees it (10.0.2.2 = the host's loopback)
#   NVME_PORT        I/O controller port (4420)
#   NVME_DISC_PORT   discovery port (8009)
#   NVME_NQN         subsystem NQN; empty = the first NVM subsystem in the discovery log
#   NVME_CONNECT_ARGS extra `nvme connect` arguments (e.g. "-g -G" for header + data digests)
#   FIO_SIZE (8M per job), FIO_JOBS (2), FIO_DEPTH (16)
# Steps: discover, connect, wait for the namespace, id-ctrl, id-ns, smart-log, list, fio randwrite +
# crc32c verify (4 KiB, then 128 KiB sequential), smart-log again, disconnect. Any failure exits non-zero.
set -eu
# shellcheck disable=SC3040  # busybox ash has pipefail
set -o pipefail 2>/dev/null || true

: "${NVME_ADDR:=10.0.2.2}" "${NVME_PORT:=4420}" "${NVME_DISC_PORT:=8009}" "${NVME_NQN:=}"
: "${NVME_CONNECT_ARGS:=}" "${FIO_SIZE:=8M}" "${FIO_JOBS:=2}" "${FIO_DEPTH:=16}"
DISCOVERY_NQN=nqn.2014-08.org.nvmexpress.discovery

t0=$(cut -d' ' -f1 /proc/uptime)
section() {
  echo
  echo "==== guest: $* [t=$(cut -d' ' -f1 /proc/uptime)s] ===="
}
fail() {
  echo "GUEST FAIL: $*"
  exit 1
}
# run CMD...: echoes the command, runs it, fails the test on a non-zero status.
run() {
  echo "+ $*"
  rc=0
  "$@" || rc=$?
  [ $rc -eq 0 ] || fail "'$*' exited with status $rc"
}
# run_to FILE CMD...: the same, with the command's stdout also kept in FILE.
run_to() {
  out=$1
  shift
  echo "+ $*"
  rc=0
  "$@" >"$out" || rc=$?
  cat "$out"
  [ $rc -eq 0 ] || fail "'$*' exited with status $rc"
}

# Kernel messages (nvme connect/errors) on the console from here on, interleaved with the output.
echo 7 >/proc/sys/kernel/printk

section "environment"
echo "kernel $(uname -r); $(nvme version); fio $(fio --version)"
echo "hostnqn $(cat /etc/nvme/hostnqn)"
echo "target $NVME_ADDR port $NVME_PORT, discovery port $NVME_DISC_PORT, nqn '${NVME_NQN:-<from discovery>}'"
[ -e /dev/nvme-fabrics ] || fail "/dev/nvme-fabrics missing (nvme-tcp not loaded?)"

section "nvme discover"
run_to /tmp/discover.txt nvme discover -t tcp -a "$NVME_ADDR" -s "$NVME_DISC_PORT"
# Subsystem entries of the log ("subtype: nvme subsystem"), their NQNs in order.
awk '/^subtype:/ { sub_ok = ($0 ~ /nvme subsystem/) }
     /^subnqn:/ { if (sub_ok) print $2 }' /tmp/discover.txt >/tmp/subnqns.txt
[ -s /tmp/subnqns.txt ] || fail "the discovery log lists no NVM subsystem"
if [ -z "$NVME_NQN" ]; then
  NVME_NQN=$(head -n1 /tmp/subnqns.txt)
  echo "using the first subsystem of the discovery log: $NVME_NQN"
elif ! grep -qxF "$NVME_NQN" /tmp/subnqns.txt; then
  fail "the discovery log does not list $NVME_NQN"
fi
[ "$NVME_NQN" != "$DISCOVERY_NQN" ] || fail "refusing to connect to the discovery NQN"

section "nvme connect"
# shellcheck disable=SC2086  # NVME_CONNECT_ARGS is a list of options
# --ctrl-loss-tmo 60: a target that goes away fails the I/O within about a minute (default: 10 minutes).
run nvme connect -t tcp -a "$NVME_ADDR" -s "$NVME_PORT" -n "$NVME_NQN" --ctrl-loss-tmo=60 $NVME_CONNECT_ARGS
connected=1
# From here on, leave no controller behind whatever fails (the guest powers off anyway).
trap '[ "${connected:-0}" = 1 ] && nvme disconnect -n "$NVME_NQN" >/dev/null 2>&1' EXIT

# The controller (/dev/nvmeX) and its namespace block device whose subsystem NQN is ours.
ctrl="" dev=""
i=0
while [ $i -lt 300 ]; do
  for c in /sys/class/nvme/nvme*; do
    [ -r "$c/subsysnqn" ] && [ "$(cat "$c/subsysnqn")" = "$NVME_NQN" ] && [ "$(cat "$c/transport")" = tcp ] &&
      ctrl=/dev/$(basename "$c")
  done
  for b in /sys/block/nvme*n*; do
    [ -e "$b" ] || continue
    case $(basename "$b") in nvme*c*n*) continue ;; esac  # per-path devices under multipath: hidden
    parent=$(dirname "$(readlink -f "$b")")
    [ -r "$parent/subsysnqn" ] && [ "$(cat "$parent/subsysnqn")" = "$NVME_NQN" ] && dev=/dev/$(basename "$b") && break
  done
  [ -n "$ctrl" ] && [ -n "$dev" ] && [ -b "$dev" ] && break
  sleep 0.1
  i=$((i + 1))
done
[ -n "$ctrl" ] || fail "no NVMe/TCP controller for $NVME_NQN after nvme connect"
csys=/sys/class/nvme/${ctrl#/dev/}
[ -n "$dev" ] && [ -b "$dev" ] || fail "no namespace block device for $NVME_NQN within 30 s ($ctrl: state $(cat "$csys/state"))"
echo "controller $ctrl ($(cat "$csys/state"), $(cat "$csys/address")), namespace $dev"

section "nvme id-ctrl $ctrl"
run_to /tmp/id-ctrl.txt nvme id-ctrl "$ctrl"
subnqn=$(awk '$1 == "subnqn" { print $3 }' /tmp/id-ctrl.txt)
[ "$subnqn" = "$NVME_NQN" ] || fail "Identify Controller SUBNQN '$subnqn' != '$NVME_NQN'"

section "nvme id-ns $dev"
run nvme id-ns "$dev"

section "nvme smart-log $ctrl"
run nvme smart-log "$ctrl"

section "nvme list"
run nvme list

section "fio: randwrite 4k + crc32c verify ($FIO_JOBS jobs x $FIO_SIZE, iodepth $FIO_DEPTH)"
size_bytes=$(blockdev --getsize64 "$dev")
job_bytes=$(awk -v s="$FIO_SIZE" 'BEGIN { n = s + 0; u = toupper(substr(s, length(s)));
  if (u == "K") n *= 1024; else if (u == "M") n *= 1048576; else if (u == "G") n *= 1073741824; printf "%d", n }')
echo "namespace: $size_bytes bytes, logical block $(blockdev --getss "$dev") bytes"
[ "$size_bytes" -ge $((job_bytes * FIO_JOBS)) ] || fail "namespace too small for $FIO_JOBS x $FIO_SIZE"
engine=libaio
fio --enghelp 2>/dev/null | grep -qw io_uring && engine=io_uring
# Each job owns its own region (offset_increment), so the verify of one never sees the other's data
# (fio still warns "multiple writers may overwrite blocks": expected, harmless here).
fio_run() {
  name=$1
  shift
  rc=0
  fio --name="$name" --filename="$dev" --ioengine="$engine" --direct=1 --numjobs="$FIO_JOBS" \
      --size="$FIO_SIZE" --offset_increment="$FIO_SIZE" --verify=crc32c --do_verify=1 --verify_fatal=1 \
      --verify_dump=0 --group_reporting=1 "$@" >/tmp/fio-"$name".txt 2>&1 || rc=$?
  cat /tmp/fio-"$name".txt
  [ $rc -eq 0 ] || fail "fio $name exited with status $rc"
  ! grep -qE 'err= *[1-9]|verify: bad|crc32c: verify failed|io_u error' /tmp/fio-"$name".txt ||
    fail "fio $name reported errors"
  grep -qE 'err= *0' /tmp/fio-"$name".txt || fail "fio $name printed no error count"
}
fio_run randwrite4k --rw=randwrite --bs=4k --iodepth="$FIO_DEPTH"

section "fio: write 128k + crc32c verify ($FIO_JOBS jobs x $FIO_SIZE, iodepth 4)"
fio_run write128k --rw=write --bs=128k --iodepth=4

section "nvme smart-log $ctrl (after I/O)"
run nvme smart-log "$ctrl"

section "nvme disconnect"
run_to /tmp/disconnect.txt nvme disconnect -n "$NVME_NQN"
connected=0
grep -q 'disconnected 1 controller' /tmp/disconnect.txt || fail "nvme disconnect did not disconnect exactly one controller"
i=0
while [ -e "$dev" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ ! -e "$dev" ] || fail "$dev still present 10 s after nvme disconnect"

section "PASS (guest test time $(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }')s)"
echo "GUEST PASS: discover, connect, id-ctrl, id-ns, smart-log, list, fio verify, disconnect"
