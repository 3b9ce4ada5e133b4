#!/bin/sh
# Guest side of reference-target.sh: the Linux kernel's own NVMe/TCP target (nvmet + nvmet-tcp) in a
# QEMU guest, as a known-good target to run the client test against. reference-target.sh prepends:
#   NVMET_NQN        subsystem NQN
#   NVMET_LIFETIME   seconds to stay up at most (the host normally kills the guest earlier)
# One namespace on a RAM-backed null_blk (memory_backed=1, 1 GiB, allocated on write), ports 4420 (I/O)
# and 8009 (discovery) on 10.0.2.15, any host allowed. Prints "NVEMU-TARGET-READY" once listening.
set -eu
: "${NVMET_NQN:=nqn.2014-08.io.nvemu:reference}" "${NVMET_LIFETIME:=600}"

# Target-side kernel messages (connects, errors) on the console: they are the reference log.
echo 7 >/proc/sys/kernel/printk
modprobe null_blk nr_devices=1 memory_backed=1 gb=1 bs=512
modprobe nvmet
modprobe nvmet-tcp
grep -qw configfs /proc/mounts || mount -t configfs none /sys/kernel/config

i=0
while [ ! -b /dev/nullb0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -b /dev/nullb0 ] || { echo "no /dev/nullb0"; exit 1; }
# The host test needs the link up before nvmet-tcp binds 10.0.2.15.
i=0
while [ "$(cat /sys/class/net/eth0/operstate 2>/dev/null)" != up ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done

cfg=/sys/kernel/config/nvmet
sub=$cfg/subsystems/$NVMET_NQN
mkdir "$sub"
echo 1 >"$sub/attr_allow_any_host"
echo nvemu-reference >"$sub/attr_serial"
[ -e "$sub/attr_model" ] && echo "Linux nvmet reference" >"$sub/attr_model"
mkdir "$sub/namespaces/1"
printf %s /dev/nullb0 >"$sub/namespaces/1/device_path"
echo 1 >"$sub/namespaces/1/enable"

n=1
for svc in 4420 8009; do
  p=$cfg/ports/$n
  mkdir "$p"
  echo tcp >"$p/addr_trtype"
  echo ipv4 >"$p/addr_adrfam"
  echo 10.0.2.15 >"$p/addr_traddr"
  echo $svc >"$p/addr_trsvcid"
  # Linked to both ports, so that the discovery log read through either one lists it.
  ln -s "$sub" "$p/subsystems/$NVMET_NQN"
  n=$((n + 1))
done
echo "nvmet: subsystem $NVMET_NQN, nullb0 $(blockdev --getsize64 /dev/nullb0) bytes, tcp 10.0.2.15:4420 + :8009"
echo "NVEMU-TARGET-READY"
# Stay up (bounded) until the host stops the guest.
sleep "$NVMET_LIFETIME"
echo "nvmet: lifetime ${NVMET_LIFETIME}s over"
