#!/bin/sh
# Guest side of the real-client NVMe/TCP test: runs inside the QEMU guest (busybox sh) as the fw_cfg
# test script. The host driver (nvme_tcp_guest_test.sh) prepends variable assignments to this file:
#   NVME_ADDR        target address as the guest sees it (10.0.2.2 = the host's loopback)
#   NVME_PORT        I/O controller port (4420)
#   NVME_DISC_PORT   discovery port (8009)
#   NVME_NQN         subsystem NQN; empty = the first NVM subsystem in the discovery log
#   NVME_CONNECT_ARGS extra `nvme connect` arguments of the first association (e.g. "-g -G")
#   NVME_STRICT      1 (nvemu): spec statuses exactly; 0 (the kernel's nvmet as reference): known
#                    nvmet 6.1 deviations are reported and tolerated
#   FIO_SIZE (8M per job), FIO_JOBS (2), FIO_DEPTH (16)
# What an nvme-cli user does against an SSD, each step checked (README.md lists them):
#   1. discover, connect, identify (controller, namespace, descriptors, lists), properties;
#   2. features (SEL current/default/saved/capabilities, set, save), logs (error, SMART, firmware,
#      effects, raw LIDs, an unsupported LID);
#   3. I/O commands with data compare: write/read, compare (match, mismatch), verify, flush,
#      write zeroes, deallocate (dsm, blkdiscard), write uncorrectable, copy; reservations;
#   4. device self-test, firmware download/commit/activation by `nvme reset`, saved features and
#      data across the reset, format to another LBA size and back;
#   5. fio with crc32c verify (4 KiB random, 128 KiB sequential, 4 jobs x 256 KiB random);
#   6. a second association with header + data digests and a 10 s KATO, fio through it, a second
#      host (another host NQN) on the same subsystem at the same time, reservations between the
#      two hosts; disconnect.
# Steps a target does not advertise (Identify OACS/ONCS/LPA/FRMW bits) are skipped with a message.
# Any failure exits non-zero.
set -eu
# shellcheck disable=SC3040  # busybox ash has pipefail
set -o pipefail 2>/dev/null || true

: "${NVME_ADDR:=10.0.2.2}" "${NVME_PORT:=4420}" "${NVME_DISC_PORT:=8009}" "${NVME_NQN:=}"
: "${NVME_CONNECT_ARGS:=}" "${NVME_STRICT:=1}" "${FIO_SIZE:=8M}" "${FIO_JOBS:=2}" "${FIO_DEPTH:=16}"
DISCOVERY_NQN=nqn.2014-08.org.nvmexpress.discovery
HOSTNQN2=nqn.2014-08.org.nvmexpress:uuid:6e76656d-7567-7565-7374-000000000002
HOSTID2=6e76656d-7567-7565-7374-000000000002

t0=$(cut -d' ' -f1 /proc/uptime)
section() {
  echo
  echo "==== guest: $* [t=$(cut -d' ' -f1 /proc/uptime)s] ===="
}
fail() {
  echo "GUEST FAIL: $*"
  exit 1
}
skip() { echo "SKIP: $*"; }
# A known deviation of the reference target (NVME_STRICT=0) is tolerated; nvemu must not have it.
deviation() {
  [ "$NVME_STRICT" = 0 ] || fail "$*"
  echo "REFERENCE DEVIATION (tolerated, NVME_STRICT=0): $*"
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
# expect_status TEXT CMD...: the command must fail with the NVMe status TEXT (nvme-cli prints
# "NVMe status: TEXT: ..."). Returns 1 (for deviation handling) when it failed otherwise.
expect_status() {
  want=$1
  shift
  echo "+ $*   (expecting NVMe status '$want')"
  rc=0
  "$@" >/tmp/expect.out 2>/tmp/expect.err || rc=$?
  cat /tmp/expect.out /tmp/expect.err
  [ $rc -ne 0 ] || fail "'$*' succeeded; expected NVMe status '$want'"
  grep -q "NVMe status: $want" /tmp/expect.err && return 0
  echo "got: $(grep 'NVMe status' /tmp/expect.err || echo "exit status $rc")"
  return 1
}
# field FILE NAME: the value of "NAME : VALUE" in nvme-cli output.
field() { awk -v k="$2" '$1 == k && $2 == ":" { print $3; exit }' "$1"; }
# bit VALUE N: bit N of VALUE (decimal or 0x hex).
bit() { echo $((($1 >> $2) & 1)); }
# zeros FILE: the file holds only zero bytes.
zeros() { [ -z "$(od -An -v -tx1 "$1" | tr -d ' 0\n')" ]; }
# wait_for SECONDS CMD...: polls CMD every 0.1 s until it succeeds; fails after SECONDS.
wait_for() {
  limit=$(($1 * 10))
  shift
  i=0
  until "$@"; do
    i=$((i + 1))
    [ $i -lt $limit ] || return 1
    sleep 0.1
  done
}

# Kernel messages (nvme connect/errors) on the console from here on, interleaved with the output.
echo 7 >/proc/sys/kernel/printk

section "environment"
echo "kernel $(uname -r); $(nvme version); fio $(fio --version)"
echo "hostnqn $(cat /etc/nvme/hostnqn), hostid $(cat /etc/nvme/hostid)"
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

# find_devices HOSTNQN: sets ctrl (/dev/nvmeX: the live NVMe/TCP controller of NVME_NQN connected
# with HOSTNQN) and dev (the namespace block device of that subsystem); 0 once both exist.
find_devices() {
  ctrl="" dev=""
  for c in /sys/class/nvme/nvme*; do
    [ -r "$c/subsysnqn" ] && [ "$(cat "$c/subsysnqn")" = "$NVME_NQN" ] &&
      [ "$(cat "$c/transport")" = tcp ] && [ "$(cat "$c/hostnqn")" = "$1" ] &&
      [ "$(cat "$c/state")" = live ] && ctrl=/dev/$(basename "$c")
  done
  for b in /sys/block/nvme*n*; do
    [ -e "$b" ] || continue
    case $(basename "$b") in nvme*c*n*) continue ;; esac  # per-path devices under multipath: hidden
    parent=$(dirname "$(readlink -f "$b")")
    [ -r "$parent/subsysnqn" ] && [ "$(cat "$parent/subsysnqn")" = "$NVME_NQN" ] && dev=/dev/$(basename "$b") && break
  done
  [ -n "$ctrl" ] && [ -n "$dev" ] && [ -b "$dev" ]
}
HOSTNQN=$(cat /etc/nvme/hostnqn)
# connect_main ARGS...: nvme connect with the default host NQN, then waits for its devices.
connect_main() {
  # shellcheck disable=SC2086  # the arguments are lists of options
  # --ctrl-loss-tmo 60: a target that goes away fails the I/O within about a minute (default: 10 minutes).
  run nvme connect -t tcp -a "$NVME_ADDR" -s "$NVME_PORT" -n "$NVME_NQN" --ctrl-loss-tmo=60 "$@"
  connected=1
  wait_for 30 find_devices "$HOSTNQN" ||
    fail "no live controller and namespace block device for $NVME_NQN within 30 s after nvme connect"
  csys=/sys/class/nvme/${ctrl#/dev/}
  echo "controller $ctrl ($(cat "$csys/state"), $(cat "$csys/address")), namespace $dev"
}
# disconnect_all EXPECTED: nvme disconnect -n NQN must disconnect EXPECTED controllers, and the
# namespace block device must disappear.
disconnect_all() {
  run_to /tmp/disconnect.txt nvme disconnect -n "$NVME_NQN"
  connected=0
  grep -q "disconnected $1 controller" /tmp/disconnect.txt ||
    fail "nvme disconnect did not disconnect exactly $1 controller(s)"
  wait_for 10 eval "[ ! -e $dev ]" || fail "$dev still present 10 s after nvme disconnect"
}

section "nvme connect $NVME_CONNECT_ARGS"
# shellcheck disable=SC2086  # NVME_CONNECT_ARGS is a list of options
connect_main $NVME_CONNECT_ARGS
# From here on, leave no controller behind whatever fails (the guest powers off anyway).
trap '[ "${connected:-0}" = 1 ] && nvme disconnect -n "$NVME_NQN" >/dev/null 2>&1' EXIT

# ===================================================================================================
section "identify: id-ctrl, id-ns, ns-descs, list-ns, list-subsys, list, ns-rescan"
run_to /tmp/id-ctrl.txt nvme id-ctrl "$ctrl"
subnqn=$(field /tmp/id-ctrl.txt subnqn)
[ "$subnqn" = "$NVME_NQN" ] || fail "Identify Controller SUBNQN '$subnqn' != '$NVME_NQN'"
oacs=$(field /tmp/id-ctrl.txt oacs) oncs=$(field /tmp/id-ctrl.txt oncs) lpa=$(field /tmp/id-ctrl.txt lpa)
frmw=$(field /tmp/id-ctrl.txt frmw) fr=$(field /tmp/id-ctrl.txt fr) vwc=$(field /tmp/id-ctrl.txt vwc)
echo "OACS $oacs ONCS $oncs LPA $lpa FRMW $frmw VWC $vwc FR $fr"
run_to /tmp/ns-id.txt nvme get-ns-id "$dev"
nsid=$(awk -F: '{ gsub(/ /, "", $NF); print $NF }' /tmp/ns-id.txt)
echo "namespace id $nsid"
run_to /tmp/id-ns.txt nvme id-ns "$dev"
[ "$(field /tmp/id-ns.txt ncap)" != 0 ] || fail "Identify Namespace NCAP is 0"
flbas=$(($(field /tmp/id-ns.txt flbas) & 0xf))
dlfeat=$(field /tmp/id-ns.txt dlfeat)
run_to /tmp/ns-descs.txt nvme ns-descs "$dev"
grep -qE '^(eui64|nguid|uuid) *:' /tmp/ns-descs.txt || fail "ns-descs lists no namespace identifier"
run_to /tmp/list-ns.txt nvme list-ns "$ctrl"
grep -qE "\]:(0x)?$(printf %x "$nsid")\$" /tmp/list-ns.txt || fail "list-ns does not list NSID $nsid"
run nvme list-subsys
run nvme list
run nvme ns-rescan "$ctrl"
wait_for 10 find_devices "$HOSTNQN" || fail "the namespace block device is gone after ns-rescan"

section "properties: get-property CAP, VS, CC, CSTS; INTMS (PCIe only)"
# (`nvme show-regs` is not used: nvme-cli 2.3 fails it on every fabrics target, nvmet included.)
run_to /tmp/cap.txt nvme get-property "$ctrl" -o 0
run_to /tmp/vs.txt nvme get-property "$ctrl" -o 8
run_to /tmp/cc.txt nvme get-property "$ctrl" -o 0x14
run_to /tmp/csts.txt nvme get-property "$ctrl" -o 0x1c
prop() { awk '{ print $NF }' "$1"; }
[ "$(bit "0x$(prop /tmp/cc.txt)" 0)" = 1 ] || fail "CC.EN is not 1 on a live controller"
[ "$(bit "0x$(prop /tmp/csts.txt)" 0)" = 1 ] || fail "CSTS.RDY is not 1 on a live controller"
[ $((0x$(prop /tmp/vs.txt) >> 16)) -ge 1 ] || fail "VS major version < 1"
expect_status "Invalid Field in Command" nvme get-property "$ctrl" -o 0xc ||
  fail "Property Get of INTMS: not Invalid Field in Command"

# ===================================================================================================
section "features: get-feature (several FIDs, SEL), set-feature, save"
# Mandatory features (NVMe Base 2.0, Figure 309); nvmet 6.1 answers Invalid Field for 01h-05h, 08h.
for f in 1 2 4 5 6 7 8 0xa 0xb 0xf; do
  if [ "$f" = 6 ] && [ "$(bit "$vwc" 0)" = 0 ]; then skip "feature 06h: no volatile write cache"; continue; fi
  case $f in
    7 | 0xb | 0xf) run nvme get-feature "$ctrl" -f "$f" -H ;;
    *)
      echo "+ nvme get-feature $ctrl -f $f -H"
      nvme get-feature "$ctrl" -f "$f" -H || deviation "Get Features of the mandatory feature $f failed"
      ;;
  esac
done
run_to /tmp/kato.txt nvme get-feature "$ctrl" -f 0xf
grep -q "Current value:0x00001388" /tmp/kato.txt || fail "KATO is not the 5000 ms nvme connect asked for"
# Host Identifier (81h, 128-bit): the Connect HOSTID, i.e. /etc/nvme/hostid.
run_to /tmp/hostid.txt nvme get-feature "$ctrl" -f 0x81 -c 1
got=$(awk '/^0000:/ { for (i = 2; i <= 17; i++) printf "%s", $i }' /tmp/hostid.txt)
want=$(tr -d '\n-' </etc/nvme/hostid)
[ "$got" = "$want" ] || fail "Host Identifier $got != hostid $want"
# Asynchronous Event Configuration (0Bh): set, read back, restore.
run_to /tmp/aen.txt nvme get-feature "$ctrl" -f 0xb
aen=$(sed -n 's/.*Current value:\(0x[0-9a-f]*\).*/\1/p' /tmp/aen.txt)
run nvme set-feature "$ctrl" -f 0xb -v 0x100
run_to /tmp/aen2.txt nvme get-feature "$ctrl" -f 0xb
grep -q "Current value:0x00000100" /tmp/aen2.txt || fail "feature 0Bh did not read back 0x100"
run nvme set-feature "$ctrl" -f 0xb -v "${aen:-0}"
saved_temp=""
if [ "$(bit "$oncs" 4)" = 1 ]; then  # ONCS bit 4: Save field in Set Features, SEL in Get Features
  for s in 0 1 2 3; do run nvme get-feature "$ctrl" -f 4 -s $s; done
  run_to /tmp/cap4.txt nvme get-feature "$ctrl" -f 4 -s 3
  if grep -q "Feature is saveable" /tmp/cap4.txt && grep -q "Feature is changeable" /tmp/cap4.txt; then
    run nvme set-feature "$ctrl" -f 4 -v 0x15f
    run_to /tmp/t.txt nvme get-feature "$ctrl" -f 4
    grep -q "Current value:0x0000015f" /tmp/t.txt || fail "temperature threshold did not read back 0x15f"
    run nvme set-feature "$ctrl" -f 4 -v 0x160 -s
    run_to /tmp/t.txt nvme get-feature "$ctrl" -f 4 -s 2
    grep -q "Saved value:0x00000160" /tmp/t.txt || fail "saved temperature threshold is not 0x160"
    saved_temp=0x00000160
  else
    skip "feature 04h is not saveable and changeable"
  fi
else
  skip "ONCS bit 4 clear: no SEL / Save"
fi

# ===================================================================================================
section "logs: smart-log, error-log, fw-log, effects-log, raw get-log, unsupported LID"
run nvme smart-log "$ctrl"
run nvme fw-log "$ctrl"
if [ "$(bit "$lpa" 1)" = 1 ]; then
  # --csi 0: without it nvme-cli 2.3 reads CAP from the PCI BAR and prints nothing over fabrics.
  run_to /tmp/effects.txt nvme effects-log "$ctrl" --csi=0
  grep -q "ACS" /tmp/effects.txt || fail "effects-log lists no admin command"
else
  skip "LPA bit 1 clear: no Commands Supported and Effects log"
fi
run_to /tmp/raw2.txt nvme get-log "$ctrl" -i 2 -l 512
[ "$(grep -c '^0[0-9a-f]*:' /tmp/raw2.txt)" = 32 ] || fail "get-log LID 02h did not return 512 bytes"
run nvme get-log "$ctrl" -i 3 -l 512
run nvme changed-ns-list-log "$ctrl"
# Supported Log Pages (LID 00h, NVMe Base 2.0 5.16.1.1): LSUPP (bit 0 of LID x 4) is set for every
# page read in this section and for 00h itself, clear for C0h. nvmet 6.1 has no LID 00h.
echo "+ nvme supported-log-pages $ctrl"
if nvme supported-log-pages "$ctrl"; then
  echo "+ nvme get-log $ctrl -i 0 -l 1024 -b"
  nvme get-log "$ctrl" -i 0 -l 1024 -b >/tmp/slp.bin || fail "get-log LID 00h failed"
  [ "$(wc -c </tmp/slp.bin)" -eq 1024 ] || fail "get-log LID 00h did not return 1024 bytes"
  # lsupp LID: bit 0 of the LID Supported and Effects dword of LID.
  lsupp() { echo $(($(dd if=/tmp/slp.bin bs=4 skip="$1" count=1 2>/dev/null | od -An -tu4) & 1)); }
  for lid in 0 1 2 3 4; do
    [ "$(lsupp $lid)" = 1 ] || fail "LID $lid is supported but its LSUPP bit is clear"
  done
  [ "$(bit "$lpa" 1)" = 0 ] || [ "$(lsupp 5)" = 1 ] || fail "LPA bit 1 is set but LID 05h is not listed"
  [ "$(lsupp 192)" = 0 ] || fail "LID C0h is listed as supported"
else
  deviation "nvme supported-log-pages failed: no Supported Log Pages (LID 00h)"
fi
expect_status "Invalid Log Page" nvme get-log "$ctrl" -i 0xc0 -l 512 ||
  deviation "Get Log Page of the unsupported LID C0h: not Invalid Log Page"
# That failure is in the Error Information log (every failed command gets an entry).
run_to /tmp/error-log.txt nvme error-log "$ctrl" -e 1
[ "$(field /tmp/error-log.txt error_count)" != 0 ] || fail "the error log has no entry after a failed command"
grep -qE "status_field.*(Invalid Log Page|Invalid Field)" /tmp/error-log.txt ||
  fail "the newest error log entry is not the failed Get Log Page"

# ===================================================================================================
bs=$(blockdev --getss "$dev")
size_bytes=$(blockdev --getsize64 "$dev")
# I/O commands work 32 MiB into the namespace, away from fio's regions (which start at 0).
base=$((32 * 1048576 / bs))
nblk=$((16384 / bs))
[ "$size_bytes" -ge $((48 * 1048576)) ] || fail "namespace smaller than 48 MiB"
dd if=/dev/urandom of=/tmp/data1 bs=16384 count=1 2>/dev/null
dd if=/dev/urandom of=/tmp/data2 bs=16384 count=1 2>/dev/null
# rw OP SLBA FILE: nvme read/write of 16 KiB at SLBA.
rw() { run nvme "$1" "$dev" -s "$2" -c $((nblk - 1)) -z 16384 -d "$3"; }

section "I/O: write, read back and compare (16 KiB at LBA $base, $bs-byte blocks)"
rw write $base /tmp/data1
rw read $base /tmp/read
cmp /tmp/data1 /tmp/read || fail "read data differ from written data"
run nvme flush "$dev"

section "I/O: compare (match, mismatch), verify"
if [ "$(bit "$oncs" 0)" = 1 ]; then
  run nvme compare "$dev" -s $base -c $((nblk - 1)) -z 16384 -d /tmp/data1
  expect_status "Compare Failure" nvme compare "$dev" -s $base -c $((nblk - 1)) -z 16384 -d /tmp/data2 ||
    fail "a mismatching Compare did not fail with Compare Failure"
else
  skip "ONCS bit 0 clear: no Compare"
fi
if [ "$(bit "$oncs" 7)" = 1 ]; then
  run nvme verify "$dev" -s $base -c $((nblk - 1))
else
  skip "ONCS bit 7 clear: no Verify"
fi

section "I/O: write zeroes, deallocate (dsm --ad), write uncorrectable, copy"
if [ "$(bit "$oncs" 3)" = 1 ]; then
  rw write $((base + nblk)) /tmp/data2
  run nvme write-zeroes "$dev" -s $((base + nblk)) -c $((nblk - 1))
  rw read $((base + nblk)) /tmp/read
  zeros /tmp/read || fail "blocks read after Write Zeroes are not zero"
else
  skip "ONCS bit 3 clear: no Write Zeroes"
fi
# DLFEAT bits 2:0 = 001b: deallocated blocks read as zeroes.
if [ "$(bit "$oncs" 2)" = 1 ] && [ $((dlfeat & 7)) = 1 ]; then
  rw write $((base + 2 * nblk)) /tmp/data2
  run nvme dsm "$dev" --ad -s $((base + 2 * nblk)) -b $nblk
  rw read $((base + 2 * nblk)) /tmp/read
  zeros /tmp/read || fail "deallocated blocks do not read as zeroes (DLFEAT $dlfeat)"
  rw write $((base + 2 * nblk)) /tmp/data2
  run blkdiscard -o $(((base + 2 * nblk) * bs)) -l 16384 "$dev"
  rw read $((base + 2 * nblk)) /tmp/read
  zeros /tmp/read || fail "blocks discarded by blkdiscard do not read as zeroes"
else
  skip "no deallocate with zeroes (ONCS bit 2 / DLFEAT $dlfeat)"
fi
if [ "$(bit "$oncs" 1)" = 1 ]; then
  rw write $((base + 3 * nblk)) /tmp/data2
  run nvme write-uncor "$dev" -s $((base + 3 * nblk)) -c 0
  expect_status "Unrecovered Read Error" nvme read "$dev" -s $((base + 3 * nblk)) -c 0 -z "$bs" -d /tmp/read ||
    fail "reading an uncorrectable block did not fail with Unrecovered Read Error"
  rw write $((base + 3 * nblk)) /tmp/data2
  rw read $((base + 3 * nblk)) /tmp/read
  cmp /tmp/data2 /tmp/read || fail "rewritten uncorrectable blocks read back wrong"
else
  skip "ONCS bit 1 clear: no Write Uncorrectable"
fi
if [ "$(bit "$oncs" 8)" = 1 ]; then
  run nvme copy "$dev" -d $((base + 4 * nblk)) -s $base -b $((nblk - 1))
  rw read $((base + 4 * nblk)) /tmp/read
  cmp /tmp/data1 /tmp/read || fail "copied blocks differ from the source"
else
  skip "ONCS bit 8 clear: no Copy"
fi

section "reservations: register, report, acquire, release, unregister"
if [ "$(bit "$oncs" 5)" = 1 ]; then
  run nvme resv-register "$dev" -n "$nsid" -k 0xa1 -r 0
  run_to /tmp/resv.txt nvme resv-report "$dev" -n "$nsid" -e
  [ "$(field /tmp/resv.txt regctl)" = 1 ] || fail "resv-report: not exactly one registrant"
  grep -q "hostid *: $(tr -d '\n-' </etc/nvme/hostid)" /tmp/resv.txt || fail "resv-report: registrant is not our host ID"
  # A 128-bit host identifier needs the extended data structure (NVM Command Set 1.0, 3.2.5).
  expect_status "Host Identifier Inconsistent Format" nvme resv-report "$dev" -n "$nsid" ||
    fail "resv-report without -e: not Host Identifier Inconsistent Format"
  run nvme resv-acquire "$dev" -n "$nsid" -c 0xa1 -t 1 -a 0
  run_to /tmp/resv.txt nvme resv-report "$dev" -n "$nsid" -e
  [ "$(field /tmp/resv.txt rtype)" = 1 ] || fail "resv-report: no Write Exclusive reservation after acquire"
  rw write $base /tmp/data1  # the holder may write
  run nvme resv-release "$dev" -n "$nsid" -c 0xa1 -t 1 -a 0
  run nvme resv-register "$dev" -n "$nsid" -c 0xa1 -r 1
  run_to /tmp/resv.txt nvme resv-report "$dev" -n "$nsid" -e
  [ "$(field /tmp/resv.txt regctl)" = 0 ] || fail "resv-report: registrants left after unregister"
else
  skip "ONCS bit 5 clear: no reservations"
fi

# ===================================================================================================
section "device self-test: short test, log, abort"
if [ "$(bit "$oacs" 4)" = 1 ]; then
  run nvme device-self-test "$ctrl" -n 0xffffffff -s 1
  run_to /tmp/dst.txt nvme self-test-log "$ctrl" -e 1
  grep -qE "Current operation *: 0x1" /tmp/dst.txt || fail "self-test-log shows no short test in progress"
  run nvme device-self-test "$ctrl" -s 0xf
  run_to /tmp/dst.txt nvme self-test-log "$ctrl" -e 1
  grep -qE "Current operation *: 0$" /tmp/dst.txt || fail "a self-test is still in progress after the abort"
  grep -qE "Operation Result *: 0x1$" /tmp/dst.txt || fail "the newest self-test result is not 'aborted'"
else
  skip "OACS bit 4 clear: no Device Self-test"
fi

section "firmware: download, commit, activation by nvme reset"
# nvemu's image format (docs/admin.md): "NVEMUFW1", revision (8 bytes), payload length (LE32),
# CRC-32 of the payload (LE32; gzip's trailer holds the same CRC), 8 reserved bytes, payload.
# 4096 bytes in all: nvme-cli 2.3 cannot download an image whose size is not a multiple of 4 KiB.
mkfw() {
  dd if=/dev/urandom of=/tmp/payload bs=4064 count=1 2>/dev/null
  printf 'NVEMUFW1%-8s\340\017\000\000' "$2" >"$1"  # 4064 = 0x0fe0
  gzip -c /tmp/payload | tail -c 8 | head -c 4 >>"$1"
  printf '\000\000\000\000\000\000\000\000' >>"$1"
  cat /tmp/payload >>"$1"
}
# nvme-cli 2.3 prints the status (Firmware Activation Requires ... Reset, NVMe Base 2.0 Figure 160:
# the commit succeeded); later versions print "Success activating ..., but firmware requires ... reset".
needs_reset="NVMe status: Firmware Activation Requires (Conventional|NVM Subsystem|Controller Level) Reset|requires .*reset"
fw_slots=$((($(field /tmp/id-ctrl.txt frmw) >> 1) & 7))
fw_rev=""
if [ "$(bit "$oacs" 2)" = 1 ] && [ "$fw_slots" -ge 2 ]; then
  fw_rev=GUEST-$(($(date +%s) % 100))
  mkfw /tmp/fw.bin "$fw_rev"
  run nvme fw-download "$ctrl" -f /tmp/fw.bin
  run_to /tmp/commit.txt nvme fw-commit "$ctrl" -s 2 -a 0
  run_to /tmp/fw-log.txt nvme fw-log "$ctrl"
  grep -q "frs2 .*($fw_rev" /tmp/fw-log.txt || fail "fw-log slot 2 does not hold $fw_rev"
  # CA 010b: activate slot 2 at the next reset ("requires ... reset" is the expected answer).
  echo "+ nvme fw-commit $ctrl -s 2 -a 2"
  nvme fw-commit "$ctrl" -s 2 -a 2 >/tmp/commit.txt 2>&1 || true
  cat /tmp/commit.txt
  grep -qE "$needs_reset" /tmp/commit.txt || fail "fw-commit -a 2 did not answer 'activation requires reset'"
else
  skip "no firmware update (OACS bit 2 / FRMW $frmw)"
fi

section "nvme reset: controller reset over fabrics, then I/O, firmware, saved feature"
run nvme reset "$ctrl"
wait_for 30 find_devices "$HOSTNQN" || fail "the controller is not live 30 s after nvme reset"
echo "controller $ctrl $(cat /sys/class/nvme/"${ctrl#/dev/}"/state) after the reset"
rw read $base /tmp/read
cmp /tmp/data1 /tmp/read || fail "data written before the reset read back wrong"
if [ -n "$fw_rev" ]; then
  run_to /tmp/fw-log.txt nvme fw-log "$ctrl"
  grep -q "afi *: 0x2$" /tmp/fw-log.txt || fail "fw-log: slot 2 not active after the reset"
  run_to /tmp/id-ctrl2.txt nvme id-ctrl "$ctrl"
  [ "$(field /tmp/id-ctrl2.txt fr)" = "$fw_rev" ] || fail "Identify FR is not $fw_rev after the reset"
  # Back to slot 1 (activate at the next reset); the next association reports the old revision.
  nvme fw-commit "$ctrl" -s 1 -a 2 >/tmp/commit.txt 2>&1 || true
  cat /tmp/commit.txt
  grep -qE "$needs_reset" /tmp/commit.txt || fail "fw-commit -s 1 -a 2 did not answer 'activation requires reset'"
fi
if [ -n "$saved_temp" ]; then
  run_to /tmp/t.txt nvme get-feature "$ctrl" -f 4
  grep -q "Current value:$saved_temp" /tmp/t.txt || fail "temperature threshold not restored to the saved value after the reset"
fi

section "format: another LBA size and back"
# An LBA format with the other data size (512 <-> 4096) and no metadata.
other=$(awk -v cur="$flbas" '/^lbaf/ { i = $2 + 0; ms = $4; sub("ms:", "", ms); lbads = $5; sub("lbads:", "", lbads);
  if (i != cur && ms == 0 && (lbads == 9 || lbads == 12)) { print i " " lbads; exit } }' /tmp/id-ns.txt)
if [ "$(bit "$oacs" 1)" = 1 ] && [ -n "$other" ]; then
  lbaf=${other% *}
  new_bs=$((1 << ${other#* }))
  run nvme format "$dev" -n "$nsid" -l "$lbaf" --force
  wait_for 10 eval "[ \$(blockdev --getss $dev) = $new_bs ]" || fail "block size is not $new_bs after format"
  rw_new() { run nvme "$1" "$dev" -s 8 -c $((16384 / new_bs - 1)) -z 16384 -d "$2"; }
  rw_new write /tmp/data2
  rw_new read /tmp/read
  cmp /tmp/data2 /tmp/read || fail "data read back wrong after format to $new_bs-byte blocks"
  run nvme format "$dev" -n "$nsid" -l "$flbas" --force
  wait_for 10 eval "[ \$(blockdev --getss $dev) = $bs ]" || fail "block size is not $bs after formatting back"
  run nvme id-ns "$dev"
else
  skip "no format (OACS bit 1 / no other LBA format without metadata)"
fi

# ===================================================================================================
size_bytes=$(blockdev --getsize64 "$dev")
job_bytes=$(awk -v s="$FIO_SIZE" 'BEGIN { n = s + 0; u = toupper(substr(s, length(s)));
  if (u == "K") n *= 1024; else if (u == "M") n *= 1048576; else if (u == "G") n *= 1073741824; printf "%d", n }')
echo "namespace: $size_bytes bytes, logical block $(blockdev --getss "$dev") bytes"
[ "$size_bytes" -ge $((job_bytes * FIO_JOBS)) ] || fail "namespace too small for $FIO_JOBS x $FIO_SIZE"
engine=libaio
fio --enghelp 2>/dev/null | grep -qw io_uring && engine=io_uring
# Each job owns its own region (offset_increment), so the verify of one never sees the other's data
# (fio still warns "multiple writers may overwrite blocks": expected, harmless here).
# fio_run NAME JOBS SIZE ARGS...
fio_run() {
  name=$1 jobs=$2 size=$3
  shift 3
  rc=0
  fio --name="$name" --filename="$dev" --ioengine="$engine" --direct=1 --numjobs="$jobs" \
      --size="$size" --offset_increment="$size" --verify=crc32c --do_verify=1 --verify_fatal=1 \
      --verify_dump=0 --group_reporting=1 "$@" >/tmp/fio-"$name".txt 2>&1 || rc=$?
  cat /tmp/fio-"$name".txt
  [ $rc -eq 0 ] || fail "fio $name exited with status $rc"
  ! grep -qE 'err= *[1-9]|verify: bad|crc32c: verify failed|io_u error' /tmp/fio-"$name".txt ||
    fail "fio $name reported errors"
  grep -qE 'err= *0' /tmp/fio-"$name".txt || fail "fio $name printed no error count"
}
section "fio: randwrite 4k + crc32c verify ($FIO_JOBS jobs x $FIO_SIZE, iodepth $FIO_DEPTH)"
fio_run randwrite4k "$FIO_JOBS" "$FIO_SIZE" --rw=randwrite --bs=4k --iodepth="$FIO_DEPTH"
section "fio: write 128k + crc32c verify ($FIO_JOBS jobs x $FIO_SIZE, iodepth 4)"
fio_run write128k "$FIO_JOBS" "$FIO_SIZE" --rw=write --bs=128k --iodepth=4

section "nvme smart-log $ctrl (after I/O)"
run_to /tmp/smart.txt nvme smart-log "$ctrl"
[ "$(field /tmp/smart.txt data_units_written | tr -d ,)" != 0 ] || fail "SMART data units written is 0 after fio"
[ "$(field /tmp/smart.txt host_write_commands | tr -d ,)" != 0 ] || fail "SMART host write commands is 0 after fio"

section "nvme disconnect"
disconnect_all 1

# ===================================================================================================
section "second association: header + data digests, KATO 10 s, 2 I/O queues"
connect_main -g -G -k 10 -i 2
[ -n "$fw_rev" ] && {
  run_to /tmp/id-ctrl2.txt nvme id-ctrl "$ctrl"
  [ "$(field /tmp/id-ctrl2.txt fr)" = "$fr" ] || fail "Identify FR is not $fr after activating slot 1 again"
}
run_to /tmp/kato.txt nvme get-feature "$ctrl" -f 0xf
grep -q "Current value:0x00002710" /tmp/kato.txt || fail "KATO is not the 10000 ms nvme connect asked for"
section "fio through digests: 4 jobs x 4 MiB, 256k random writes + crc32c verify, iodepth 8"
fio_run randwrite256k 4 4M --rw=randwrite --bs=256k --iodepth=8
[ "$(cat /sys/class/nvme/"${ctrl#/dev/}"/state)" = live ] || fail "the controller is not live after fio"
ctrl1=$ctrl

section "a second host on the same subsystem (host NQN ${HOSTNQN2##*:})"
# nvme-cli 2.3 refuses a second connect to the same address and port ("already connected") even
# for another host NQN, so the options go to /dev/nvme-fabrics directly, as nvme-cli writes them.
opts="nqn=$NVME_NQN,transport=tcp,traddr=$NVME_ADDR,trsvcid=$NVME_PORT,hostnqn=$HOSTNQN2,hostid=$HOSTID2,nr_io_queues=1,ctrl_loss_tmo=60"
echo "+ echo '$opts' > /dev/nvme-fabrics"
exec 3<>/dev/nvme-fabrics
printf '%s' "$opts" >&3 || fail "writing the connect options to /dev/nvme-fabrics failed"
read -r reply <&3 || true
exec 3>&-
echo "reply: $reply"
wait_for 30 find_devices "$HOSTNQN2" || fail "no live controller for the second host within 30 s"
ctrl2=$ctrl
ctrl=$ctrl1
echo "controllers: $ctrl1 (host 1), $ctrl2 (host 2)"
run_to /tmp/subsys.txt nvme list-subsys
[ "$(grep -c ' live' /tmp/subsys.txt)" -ge 2 ] || fail "list-subsys does not show two live controllers"

run_to /tmp/id-ctrl-2.txt nvme id-ctrl "$ctrl2"
[ "$(field /tmp/id-ctrl-2.txt subnqn)" = "$NVME_NQN" ] || fail "second controller: wrong SUBNQN"
# I/O through each controller's own queues (the controller character device; the kernel warns
# that this ioctl is deprecated, but it is the only per-path access under multipath).
run nvme write "$ctrl2" -n "$nsid" -s $base -c $((nblk - 1)) -z 16384 -d /tmp/data2
run nvme read "$ctrl1" -n "$nsid" -s $base -c $((nblk - 1)) -z 16384 -d /tmp/read
cmp /tmp/data2 /tmp/read || fail "data written through host 2 read back wrong through host 1"
if [ "$(bit "$oncs" 5)" = 1 ]; then
  section "reservations between the two hosts"
  run nvme resv-register "$ctrl1" -n "$nsid" -k 0xa1 -r 0
  run nvme resv-register "$ctrl2" -n "$nsid" -k 0xb2 -r 0
  run nvme resv-acquire "$ctrl1" -n "$nsid" -c 0xa1 -t 1 -a 0  # Write Exclusive
  run_to /tmp/resv.txt nvme resv-report "$ctrl2" -n "$nsid" -e
  [ "$(field /tmp/resv.txt regctl)" = 2 ] || fail "resv-report: not two registrants"
  [ "$(field /tmp/resv.txt rtype)" = 1 ] || fail "resv-report: no Write Exclusive reservation"
  expect_status "Reservation Conflict" nvme write "$ctrl2" -n "$nsid" -s $base -c $((nblk - 1)) -z 16384 -d /tmp/data1 ||
    fail "a write by the non-holder did not fail with Reservation Conflict"
  run nvme read "$ctrl2" -n "$nsid" -s $base -c $((nblk - 1)) -z 16384 -d /tmp/read
  cmp /tmp/data2 /tmp/read || fail "the conflicting write changed the data"
  run nvme write "$ctrl1" -n "$nsid" -s $base -c $((nblk - 1)) -z 16384 -d /tmp/data1
  run nvme resv-release "$ctrl1" -n "$nsid" -c 0xa1 -t 1 -a 0
  run nvme write "$ctrl2" -n "$nsid" -s $base -c $((nblk - 1)) -z 16384 -d /tmp/data2
  run nvme resv-register "$ctrl1" -n "$nsid" -c 0xa1 -r 1
  run nvme resv-register "$ctrl2" -n "$nsid" -c 0xb2 -r 1
else
  skip "ONCS bit 5 clear: no reservations"
fi
[ "$(cat /sys/class/nvme/"${ctrl1#/dev/}"/state)" = live ] || fail "host 1's controller is no longer live"


section "nvme disconnect (both hosts)"
disconnect_all 2

section "PASS (guest test time $(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }')s)"
echo "GUEST PASS: discover, connect, identify, properties, features, logs, I/O commands, reservations,"
echo "  self-test, firmware, reset, format, fio verify, digests, KATO, two hosts, disconnect"
