# Shared helpers for scripts/*; source it, do not run it.
# shellcheck shell=bash

NVEMU_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NVEMU_JOBS="${NVEMU_JOBS:-$(nproc 2>/dev/null || echo 2)}"

_nvemu_section_start=0
_nvemu_section_name=""

# section "Title": prints a header (and how long the previous section took).
section() {
  section_end
  _nvemu_section_name="$*"
  _nvemu_section_start=$SECONDS
  printf '\n==================== %s ====================\n' "$*"
}

section_end() {
  if [[ -n $_nvemu_section_name ]]; then
    printf -- '---- %s: done in %ds\n' "$_nvemu_section_name" $((SECONDS - _nvemu_section_start))
    _nvemu_section_name=""
  fi
}

# Configures the preset unless its build tree already exists (the build re-runs CMake when needed).
configure_preset() {
  local preset=$1
  if [[ -f $NVEMU_ROOT/build/$preset/build.ninja && -f $NVEMU_ROOT/build/$preset/CMakeCache.txt ]]; then
    echo "build/$preset already configured"
  else
    cmake --preset "$preset"
  fi
}
