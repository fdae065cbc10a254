#!/usr/bin/env bash
# Prints the compiler flags of one native/core source: the instruction-set flags of the CPU
# engine's per-ISA kernel files (native/core/tile_kernels_<isa>.cpp), nothing for the others.
# The same flags are written in binding.gyp (core addon) and CMakeLists.txt (torch addon).
case "$(basename "$1")" in
  tile_kernels_avx2.cpp) echo "-mavx2 -mfma -ffp-contract=fast" ;;
  tile_kernels_avx512.cpp) echo "-mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma -mprefer-vector-width=512 -ffp-contract=fast" ;;
  *) echo "" ;;
esac
