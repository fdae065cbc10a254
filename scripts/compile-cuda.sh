#!/usr/bin/env bash
# Checks the CUDA engines on a machine without a GPU (CI: `npm run check:cuda`):
#   1. compiles every native/cuda/*.cu to build-cuda-check/<name>.o with nvcc for sm_80 and sm_90,
#      warnings as errors (host and device);
#   2. links those objects with native/core/*.cpp into a shared object with the static CUDA
#      runtime and --no-undefined, so a missing definition fails here and not in the torch addon;
#   3. runs the kernels themselves on the host: native/cuda/*.cu compiled as C++ over the emulated
#      runtime of native/cuda/emulation/, compared with the CPU engines on a table of cases.
# Environment: NVCC (nvcc to use), CXX (host compiler, default g++), CUDA_ARCHS (default "80 90"),
# SEGLOSS_CUDA_EMULATION=0 skips step 3, SEGLOSS_CUDA_TSAN=1 builds step 3 with ThreadSanitizer.
# Prints one line per step and a summary; exits non-zero on the first failure.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=build-cuda-check
CXX=${CXX:-g++}
ARCHS=${CUDA_ARCHS:-"80 90"}
CXXSTD=-std=c++20

find_nvcc() {
  if [[ -n "${NVCC:-}" ]]; then echo "$NVCC"; return; fi
  if command -v nvcc >/dev/null 2>&1; then command -v nvcc; return; fi
  if [[ -x /usr/local/cuda/bin/nvcc ]]; then echo /usr/local/cuda/bin/nvcc; return; fi
  echo "check:cuda: nvcc not found (set NVCC, put it on PATH or install the CUDA toolkit in /usr/local/cuda)" >&2
  exit 1
}

seconds_since() { echo $(( $(date +%s) - $1 )); }

NVCC_BIN=$(find_nvcc)
NVCC_VERSION=$("$NVCC_BIN" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')
GENCODE=()
ARCH_NAMES=()
for arch in $ARCHS; do
  GENCODE+=(-gencode "arch=compute_${arch},code=sm_${arch}")
  ARCH_NAMES+=("sm_${arch}")
done
echo "check:cuda: nvcc ${NVCC_VERSION} at ${NVCC_BIN}, ${ARCH_NAMES[*]}"

rm -rf "$OUT"
mkdir -p "$OUT"

# 1. Every CUDA source, for every architecture, warnings as errors.
shopt -s nullglob
SOURCES=(native/cuda/*.cu)
if [[ ${#SOURCES[@]} -eq 0 ]]; then
  echo "check:cuda: no native/cuda/*.cu source found" >&2
  exit 1
fi
OBJECTS=()
for src in "${SOURCES[@]}"; do
  obj="$OUT/$(basename "${src%.cu}").o"
  start=$(date +%s)
  if ! "$NVCC_BIN" $CXXSTD -O3 "${GENCODE[@]}" --threads 2 -Werror all-warnings \
      -Xcompiler -fPIC,-Wall,-Wextra,-Werror -c "$src" -o "$obj"; then
    echo "FAIL  $src" >&2
    exit 1
  fi
  echo "ok    $src -> $obj ($(seconds_since "$start") s)"
  OBJECTS+=("$obj")
done

# 2. Link with the core: no undefined symbol may remain (resolveActivation lives in losses.cpp).
start=$(date +%s)
CORE_OBJECTS=()
for src in native/core/*.cpp native/core/geometry/*.cpp; do
  obj="$OUT/core_$(basename "${src%.cpp}").o"
  # shellcheck disable=SC2046
  "$CXX" $CXXSTD -O2 -fPIC -Wall -Wextra -Werror $(bash scripts/isa-flags.sh "$src") -c "$src" -o "$obj"
  CORE_OBJECTS+=("$obj")
done
"$NVCC_BIN" -shared -cudart static -Xlinker --no-undefined "${OBJECTS[@]}" "${CORE_OBJECTS[@]}" \
  -o "$OUT/libsegloss_cuda_check.so"
echo "ok    link ${#OBJECTS[@]} CUDA object(s) + native/core/*.cpp -> $OUT/libsegloss_cuda_check.so ($(seconds_since "$start") s)"

# 3. The kernels on the host emulation, against the CPU engines.
EMULATION_SUMMARY="host emulation skipped (SEGLOSS_CUDA_EMULATION=0)"
if [[ "${SEGLOSS_CUDA_EMULATION:-1}" != "0" ]]; then
  start=$(date +%s)
  EMU="$OUT/emulation"
  mkdir -p "$EMU"
  FLAGS=($CXXSTD -O2 -Wall -Wextra -Werror -pthread -DSEGLOSS_CUDA_HOST_EMULATION)
  if [[ "${SEGLOSS_CUDA_TSAN:-0}" == "1" ]]; then FLAGS+=(-fsanitize=thread -g); fi
  EMU_OBJECTS=()
  for src in "${SOURCES[@]}"; do EMU_OBJECTS+=("$EMU/$(basename "${src%.cu}").o"); done
  # Two compilers at once (2 cores): the CUDA sources as C++ in one lane, the test and the core in the other.
  (
    for src in "${SOURCES[@]}"; do
      "$CXX" "${FLAGS[@]}" -x c++ -c "$src" -o "$EMU/$(basename "${src%.cu}").o"
    done
  ) &
  lane=$!
  "$CXX" "${FLAGS[@]}" -c native/cuda/emulation/engines_emulation_test.cpp -o "$EMU/engines_emulation_test.o"
  EMU_CORE=()
  for src in native/core/*.cpp native/core/geometry/*.cpp; do
    # shellcheck disable=SC2046
    "$CXX" "${FLAGS[@]}" $(bash scripts/isa-flags.sh "$src") -c "$src" -o "$EMU/core_$(basename "${src%.cpp}").o"
    EMU_CORE+=("$EMU/core_$(basename "${src%.cpp}").o")
  done
  wait "$lane"
  "$CXX" "${FLAGS[@]}" "${EMU_OBJECTS[@]}" "$EMU/engines_emulation_test.o" "${EMU_CORE[@]}" \
    -o "$EMU/engines_emulation_test"
  if ! timeout 600 "$EMU/engines_emulation_test" > "$EMU/report.txt" 2>&1; then
    cat "$EMU/report.txt"
    echo "FAIL  host emulation of the CUDA engines (report: $EMU/report.txt)" >&2
    exit 1
  fi
  EMULATION_SUMMARY="host emulation: $(tail -n 1 "$EMU/report.txt")"
  echo "ok    $EMULATION_SUMMARY ($(seconds_since "$start") s; per case: $EMU/report.txt)"
fi

echo "check:cuda passed: ${#SOURCES[@]} CUDA source(s) compiled for ${ARCH_NAMES[*]} with nvcc ${NVCC_VERSION}, linked without undefined symbols; ${EMULATION_SUMMARY}"
