#!/usr/bin/env bash
# has-serve.sh NVEMU: exits 0 when that nvemu binary has a working `serve` command (the NVMe/TCP target):
# `nvemu --help` lists a `serve` subcommand and `nvemu serve --help` exits 0. (The second alone is not
# enough: CLI11 answers `--help` with the main help, status 0, for an unknown subcommand too.)
# Used by scripts/test (to enable the guest test) and nvme_tcp_guest_test.sh.
set -uo pipefail
nvemu=${1:?usage: has-serve.sh NVEMU}
[[ -x $nvemu ]] || { echo "$nvemu: not built"; exit 1; }
if ! timeout 20 "$nvemu" --help 2>&1 | grep -qE '^[[:space:]]+serve([[:space:]]|$)'; then
  echo "$nvemu: no 'serve' subcommand in 'nvemu --help'"
  exit 1
fi
if ! timeout 20 "$nvemu" serve --help >/dev/null 2>&1; then
  echo "$nvemu: 'nvemu serve --help' fails"
  exit 1
fi
exit 0
