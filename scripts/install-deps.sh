#!/usr/bin/env bash
# Installs the Debian 12 packages nvemu needs, when (and only when) some are missing.
#
#   scripts/install-deps.sh            build + test dependencies
#   scripts/install-deps.sh --guest    also the guest-test tools (QEMU, busybox, nvme-cli, fio, ...)
#   scripts/install-deps.sh --guest-only
#   scripts/install-deps.sh --check    report what is missing, install nothing (exit 1 if any)
#
# Fast path: one dpkg-query call; nothing else runs when everything is installed. Needs root to install;
# as another user with packages missing it prints the apt-get command and exits 1.
set -euo pipefail

BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libnvme-dev liburing-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev
  libspdlog-dev libfmt-dev
  libisal-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-format
  # lld: the linker the build uses when present (CMake option NVEMU_USE_LLD), much faster than ld.
  lld
  # The fuzz preset (scripts/test step 4): clang++ and its libFuzzer/sanitizer runtimes.
  clang libclang-rt-14-dev
)
# The real-client guest test (tests/guest): QEMU, the guest's userspace (busybox, nvme-cli, fio; copied
# into its initramfs with their libraries), cpio + lz4 to pack the initramfs, kmod (depmod/modprobe -d)
# for the kernel modules, xz-utils to extract the uncompressed kernel, iproute2 (ss) to watch ports.
# The guest kernel itself is not installed: tests/guest/build-initramfs.sh downloads and unpacks it.
GUEST_PACKAGES=(qemu-system-x86 busybox-static nvme-cli fio cpio kmod lz4 xz-utils iproute2)

usage() { sed -n '2,10s/^# \{0,1\}//p' "$0"; }

want_build=1 want_guest=0 check_only=0
for arg in "$@"; do
  case "$arg" in
    --guest) want_guest=1 ;;
    --guest-only) want_guest=1 want_build=0 ;;
    --check) check_only=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install-deps.sh: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done

wanted=()
((want_build)) && wanted+=("${BUILD_PACKAGES[@]}")
((want_guest)) && wanted+=("${GUEST_PACKAGES[@]}")

# Prints the wanted packages that are not fully installed. dpkg-query exits non-zero when it knows
# nothing about a name (never installed); such names simply do not appear in its output.
missing_packages() {
  local installed
  installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${wanted[@]}" 2>/dev/null |
              awk '$2 == "installed" { print $1 }' || true)
  local p
  for p in "${wanted[@]}"; do
    grep -qxF -- "$p" <<<"$installed" || echo "$p"
  done
}

mapfile -t missing < <(missing_packages)
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#wanted[@]} packages installed"
  exit 0
fi

echo "install-deps: missing: ${missing[*]}"
install_cmd="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if ((check_only)); then
  exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: not root; run as root (or with sudo):" >&2
  echo "  $install_cmd" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Retry a flaky mirror a couple of times; a real "no such package" fails the same way each time.
retry() {
  local attempt
  for attempt in 1 2 3; do
    "$@" && return 0
    echo "install-deps: '$*' failed (attempt $attempt)" >&2
    sleep $((attempt * 5))
  done
  return 1
}
retry apt-get update -q
retry apt-get install -y -q --no-install-recommends "${missing[@]}"

mapfile -t still_missing < <(missing_packages)
if ((${#still_missing[@]} != 0)); then
  echo "install-deps: still missing after apt-get: ${still_missing[*]}" >&2
  exit 1
fi
echo "install-deps: installed ${missing[*]}"
