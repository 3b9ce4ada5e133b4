#!/usr/bin/env bash
# Prepares a Linux guest for the real-client tests: the Debian 12 kernel (linux-image-amd64's current
# apt candidate, downloaded with apt-get download and unpacked with dpkg -x; never installed on the
# host) and an initramfs with busybox-static, nvme-cli, fio (with their ldd closure), the NVMe/TCP host
# and target modules and an /init that runs a script passed in through QEMU's fw_cfg.
#
#   tests/guest/build-initramfs.sh [--force]
#
# Prints on stdout (everything else goes to stderr):
#   NVEMU_GUEST_KERNEL=<path>   uncompressed PVH-bootable vmlinux (or vmlinuz, see below)
#   NVEMU_GUEST_INITRD=<path>   initramfs (newc cpio, lz4 legacy or gzip)
#   NVEMU_GUEST_KVER=<release>  e.g. 6.1.0-56-amd64
# Everything is cached: the .deb, the kernel and the initramfs (keyed by the sha256 of this script,
# the kernel package and the path, size and mtime of every host file copied into it), so a repeated run
# takes about a second.
#
# Environment:
#   NVEMU_GUEST_CACHE        cache directory (default /var/cache/nvemu-guest when writable, else
#                            ${XDG_CACHE_HOME:-~/.cache}/nvemu-guest)
#   NVEMU_GUEST_KERNEL_PKG   kernel package to use (default: what linux-image-amd64's candidate depends on)
#   NVEMU_GUEST_VMLINUZ=1    boot the compressed vmlinuz instead of the extracted vmlinux
#
# Needs (scripts/install-deps.sh --guest installs them): apt, dpkg, kmod, cpio, busybox-static, nvme-cli,
# fio, xz-utils, lz4 (falls back to gzip). Run as root for the default cache and for apt-get update.
# Exit status: 0 ready; 1 something could not be prepared (the message says what).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"

log() { printf 'build-initramfs: %s\n' "$*" >&2; }
die() { printf 'build-initramfs: error: %s\n' "$*" >&2; exit 1; }

force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,25s/^# \{0,1\}//p' "$SELF"; exit 0 ;;
    *) die "unknown argument '$arg' (see --help)" ;;
  esac
done

# Kernel modules in the image (their dependencies are added): virtio-net + fw_cfg for the plumbing,
# the NVMe/TCP host, and the kernel's own NVMe/TCP target with null_blk/loop for reference-target.sh.
MODULES=(virtio_pci virtio_net qemu_fw_cfg crc32c-intel crc32c_generic nvme-tcp nvmet-tcp null_blk loop configfs)

# ---------------------------------------------------------------------------------------------------
# Cache directory and lock
if [[ -n ${NVEMU_GUEST_CACHE:-} ]]; then
  CACHE=$NVEMU_GUEST_CACHE
elif mkdir -p /var/cache/nvemu-guest 2>/dev/null && [[ -w /var/cache/nvemu-guest ]]; then
  CACHE=/var/cache/nvemu-guest
else
  CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/nvemu-guest
fi
mkdir -p "$CACHE"/{debs,kernels,initramfs,tmp} || die "cannot create the cache directory $CACHE"

for tool in apt-get apt-cache dpkg dpkg-query depmod modprobe cpio ldd xz sha256sum flock; do
  command -v "$tool" >/dev/null || die "'$tool' not found: run scripts/install-deps.sh --guest"
done
BUSYBOX=/bin/busybox
[[ -x $BUSYBOX ]] && ! ldd "$BUSYBOX" >/dev/null 2>&1 || die "$BUSYBOX missing or not static: install busybox-static"
NVME=$(command -v nvme) || die "nvme (nvme-cli) not found: run scripts/install-deps.sh --guest"
FIO=$(command -v fio) || die "fio not found: run scripts/install-deps.sh --guest"

# One builder at a time per cache (other users may share /var/cache/nvemu-guest).
exec 9>"$CACHE/.lock"
flock -w 900 9 || die "timed out waiting for the lock on $CACHE/.lock"

# Work directories of this run; removed on exit.
WORK=$(mktemp -d "$CACHE/tmp/build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# ---------------------------------------------------------------------------------------------------
# 1. Which kernel package: linux-image-amd64's candidate depends on linux-image-<abi>-amd64.
candidate_of() { apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }'; }
resolve_kernel() {
  if [[ -n ${NVEMU_GUEST_KERNEL_PKG:-} ]]; then
    KPKG=$NVEMU_GUEST_KERNEL_PKG
  else
    KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null |
           awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
  fi
  KVERSION=""
  [[ -n $KPKG ]] && KVERSION=$(candidate_of "$KPKG")
  [[ -n $KPKG && -n $KVERSION && $KVERSION != "(none)" ]]
}
apt_updated=0
apt_update() {
  ((apt_updated)) && return 1
  apt_updated=1
  if [[ $(id -u) -ne 0 ]]; then
    log "apt lists are missing or stale and this is not root: run 'apt-get update' as root"
    return 1
  fi
  log "apt-get update"
  timeout 300 apt-get update -q >&2 || log "apt-get update failed"
}

if ! resolve_kernel; then
  apt_update || true
  resolve_kernel || true
fi
if [[ -z ${KPKG:-} || -z ${KVERSION:-} || $KVERSION == "(none)" ]]; then
  # Offline fallback: the newest kernel already in the cache.
  cached=$(ls -1d "$CACHE"/kernels/*/ 2>/dev/null | sort -V | tail -n1 || true)
  [[ -n $cached && -f $cached/release ]] ||
    die "cannot resolve the kernel package (apt-cache knows no candidate for linux-image-amd64 ${KPKG:-}) and none is cached"
  KDIR=${cached%/}
  log "apt cannot resolve the kernel; using the cached $(basename "$KDIR")"
else
  KDIR=$CACHE/kernels/${KPKG}_${KVERSION}
fi
KNAME=$(basename "$KDIR")

# ---------------------------------------------------------------------------------------------------
# 2. Download + unpack the kernel (cached: $KDIR/{vmlinuz,vmlinux,config,release}).
DEB=$CACHE/debs/$KNAME.deb
KROOT=$WORK/kroot

download_deb() {
  local attempt dl=$WORK/dl
  mkdir -p "$dl"
  for attempt in 1 2 3; do
    rm -f "$dl"/*.deb
    log "apt-get download $KPKG=$KVERSION (attempt $attempt)"
    if (cd "$dl" && timeout 600 apt-get -q -o APT::Sandbox::User=root download "$KPKG=$KVERSION" >&2); then
      local got
      got=$(ls -1 "$dl"/*.deb 2>/dev/null | head -n1)
      [[ -n $got ]] && mv -f "$got" "$DEB.part" && mv -f "$DEB.part" "$DEB" && return 0
    fi
    # A 404 usually means stale lists: update once, re-resolve, and try again.
    if apt_update; then
      resolve_kernel || die "kernel package vanished after apt-get update"
      KDIR=$CACHE/kernels/${KPKG}_${KVERSION}; KNAME=$(basename "$KDIR"); DEB=$CACHE/debs/$KNAME.deb
    else
      sleep $((attempt * 5))
    fi
  done
  return 1
}

unpack_kernel_tree() {
  [[ -d $KROOT/lib/modules ]] && return 0
  [[ -f $DEB ]] || download_deb || die "could not download $KPKG=$KVERSION"
  log "dpkg -x $(basename "$DEB")"
  rm -rf "$KROOT"
  dpkg -x "$DEB" "$KROOT" || die "dpkg -x $DEB failed"
  local kver
  kver=$(ls -1 "$KROOT/lib/modules" | head -n1)
  [[ -n $kver ]] || die "$DEB has no lib/modules"
  log "depmod -b (full module tree of $kver)"
  depmod -b "$KROOT" "$kver" || die "depmod failed for $kver"
}

# Extracts the xz payload of a bzImage (Debian's kernels are CONFIG_KERNEL_XZ): an ELF vmlinux that
# QEMU boots directly through the PVH entry point (CONFIG_PVH), skipping the in-guest decompression.
extract_vmlinux() {
  local bz=$1 out=$2 off
  off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$bz" | head -n1 | cut -d: -f1) || true
  [[ -n $off ]] || return 1
  # xz stops at the end of its stream; tail may then die of SIGPIPE: only xz's status counts.
  tail -c +$((off + 1)) "$bz" | xz -dc --single-stream >"$out.part" 2>/dev/null || true
  ((PIPESTATUS[1] == 0)) || return 1
  [[ $(head -c 4 "$out.part" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]] || return 1
  mv -f "$out.part" "$out"
}

if [[ ! -f $KDIR/release ]]; then
  unpack_kernel_tree
  kver=$(ls -1 "$KROOT/lib/modules" | head -n1)
  tmpk=$WORK/kernel
  mkdir -p "$tmpk"
  cp "$KROOT/boot/vmlinuz-$kver" "$tmpk/vmlinuz"
  cp "$KROOT/boot/config-$kver" "$tmpk/config"
  if grep -qx 'CONFIG_PVH=y' "$tmpk/config" && extract_vmlinux "$tmpk/vmlinuz" "$tmpk/vmlinux"; then
    log "extracted the uncompressed PVH kernel ($(($(stat -c %s "$tmpk/vmlinux") >> 20)) MiB)"
  else
    log "no PVH vmlinux could be extracted; the guest boots vmlinuz"
  fi
  echo "$kver" >"$tmpk/release"
  rm -rf "$KDIR"
  mv "$tmpk" "$KDIR"
fi
KVER=$(cat "$KDIR/release")
if [[ ${NVEMU_GUEST_VMLINUZ:-0} != 1 && -f $KDIR/vmlinux ]]; then
  KERNEL=$KDIR/vmlinux
else
  KERNEL=$KDIR/vmlinuz
fi

# ---------------------------------------------------------------------------------------------------
# 3. The initramfs, keyed by its inputs.
# ldd closure of a dynamic executable: the resolved library paths and the loader.
ldd_closure() {
  ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
}
host_files=("$BUSYBOX" "$NVME" "$FIO")
for bin in "$NVME" "$FIO"; do
  mapfile -t libs < <(ldd_closure "$bin")
  ((${#libs[@]})) || die "ldd found no libraries for $bin"
  host_files+=("${libs[@]}")
done
mapfile -t host_files < <(printf '%s\n' "${host_files[@]}" | sort -u)

if command -v lz4 >/dev/null; then COMPRESS=lz4; else COMPRESS=gzip; fi
key=$( { sha256sum "$SELF"; echo "$KNAME $KVER $COMPRESS ${MODULES[*]}"; stat -L -c "%n %s %Y" "${host_files[@]}"; } |
       sha256sum | cut -c1-16)
INITRD=$CACHE/initramfs/initramfs-$KVER-$key.img

emit() {
  echo "NVEMU_GUEST_KERNEL=$KERNEL"
  echo "NVEMU_GUEST_INITRD=$INITRD"
  echo "NVEMU_GUEST_KVER=$KVER"
}
if [[ -f $INITRD && $force == 0 ]]; then
  touch "$INITRD"
  log "cached: $(basename "$INITRD") ($(($(stat -c %s "$INITRD") >> 10)) KiB), kernel $(basename "$KERNEL") $KVER"
  emit
  exit 0
fi

log "building $(basename "$INITRD")"
start=$SECONDS
unpack_kernel_tree
[[ -d $KROOT/lib/modules/$KVER ]] || die "unpacked kernel tree has no modules for $KVER"

ROOT=$WORK/root
mkdir -p "$ROOT"/usr/{bin,sbin,lib,lib64} "$ROOT"/{dev,proc,sys,tmp,run,etc/nvme,mnt,root}
ln -s usr/bin "$ROOT/bin"
ln -s usr/sbin "$ROOT/sbin"
ln -s usr/lib "$ROOT/lib"
ln -s usr/lib64 "$ROOT/lib64"

# busybox and its applets
cp "$BUSYBOX" "$ROOT/usr/bin/busybox"
while read -r applet; do
  [[ -n $applet && $applet != */busybox ]] || continue
  [[ -e $ROOT/$applet || -L $ROOT/$applet ]] || ln -s /usr/bin/busybox "$ROOT/$applet"
done < <("$BUSYBOX" --list-full)
[[ -e $ROOT/bin/sh ]] || ln -s /usr/bin/busybox "$ROOT/usr/bin/sh"

# nvme-cli, fio and their libraries, at the host's paths (merged /usr as on the host).
for f in "${host_files[@]}"; do
  [[ $f == "$BUSYBOX" ]] && continue
  mkdir -p "$ROOT$(dirname "$f")"
  cp -L "$f" "$ROOT$f"
done

# Modules: the closure of MODULES in load order, then depmod so that modprobe works in the guest.
for m in "${MODULES[@]}"; do
  modprobe -d "$KROOT" -S "$KVER" --show-depends "$m" >>"$WORK/deps" || die "module $m not found in $KVER"
done
mapfile -t kos < <(awk '$1 == "insmod" { print $2 }' "$WORK/deps" | sort -u)
for ko in "${kos[@]}"; do
  rel=${ko#"$KROOT"/}
  mkdir -p "$ROOT/usr/$(dirname "$rel")"
  cp "$ko" "$ROOT/usr/$rel"
done
for f in modules.order modules.builtin modules.builtin.modinfo; do
  [[ -f $KROOT/lib/modules/$KVER/$f ]] && cp "$KROOT/lib/modules/$KVER/$f" "$ROOT/usr/lib/modules/$KVER/"
done
depmod -b "$ROOT" "$KVER" || die "depmod for the initramfs failed"
log "${#kos[@]} modules, nvme-cli $(dpkg-query -W -f='${Version}' nvme-cli 2>/dev/null), fio $(dpkg-query -W -f='${Version}' fio 2>/dev/null)"

echo "$KVER" >"$ROOT/etc/nvemu-guest-kver"
cat >"$ROOT/init" <<'INIT'
#!/bin/sh
# nvemu guest /init: plumbing, then the test script from fw_cfg opt/test/script; prints
# "NVEMU-GUEST-EXIT <status>" and powers off. Whatever happens, the machine powers off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /dev/pts /dev/shm
[ -e /dev/null ] || mknod -m 666 /dev/null c 1 3

finish() {
  echo
  echo "NVEMU-GUEST-EXIT $1"
  sync
  poweroff -f
  sleep 5
  echo o >/proc/sysrq-trigger
}

echo "guest: $(uname -r), userspace at $(cut -d' ' -f1 /proc/uptime)s"
for m in virtio_pci virtio_net qemu_fw_cfg nvme-tcp; do
  modprobe "$m" || echo "guest: modprobe $m failed"
done
# Fast CRC32C for NVMe/TCP digests (needs SSE4.2: -cpu max); the generic one otherwise.
modprobe crc32c-intel 2>/dev/null || modprobe crc32c_generic 2>/dev/null || true

ip link set lo up
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if [ -e /sys/class/net/eth0 ]; then
  # QEMU user networking: 10.0.2.2 is the host's loopback. No default route on purpose.
  ip addr add 10.0.2.15/24 dev eth0
  ip link set eth0 up
else
  echo "guest: no eth0"
fi

# A host NQN/ID for nvme-cli (libnvme reads these).
uuid=$(cat /proc/sys/kernel/random/uuid)
echo "nqn.2014-08.org.nvmexpress:uuid:$uuid" >/etc/nvme/hostnqn
echo "$uuid" >/etc/nvme/hostid

script=/sys/firmware/qemu_fw_cfg/by_name/opt/test/script/raw
i=0
while [ ! -r $script ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -r $script ]; then
  echo "guest: no test script (fw_cfg opt/test/script)"
  finish 125
fi
cat $script >/tmp/test.sh
echo "guest: running the test script at $(cut -d' ' -f1 /proc/uptime)s"
cd /tmp
sh /tmp/test.sh
status=$?
if [ $status -ne 0 ]; then
  echo "---- guest: test script failed ($status); kernel messages about nvme ----"
  dmesg | grep -iE 'nvme|fabrics' | tail -n 60
  echo "---- guest: last kernel messages ----"
  dmesg | tail -n 10
fi
echo "guest: done at $(cut -d' ' -f1 /proc/uptime)s"
finish $status
INIT
chmod 755 "$ROOT/init"

tmpimg=$INITRD.part.$$
case $COMPRESS in
  lz4) (cd "$ROOT" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | lz4 -l -9 -q -c) >"$tmpimg" ;;
  gzip) (cd "$ROOT" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -6 -n -c) >"$tmpimg" ;;
esac
mv -f "$tmpimg" "$INITRD"
# Keep the cache small: drop images nobody used for a week (a cache hit touches its image).
find "$CACHE/initramfs" -name 'initramfs-*.img' -mtime +7 -delete 2>/dev/null || true
log "built $(basename "$INITRD") ($(($(stat -c %s "$INITRD") >> 10)) KiB, $COMPRESS) in $((SECONDS - start))s"
emit
