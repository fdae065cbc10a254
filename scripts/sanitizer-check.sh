#!/usr/bin/env bash
# The core addon's tests under AddressSanitizer + LeakSanitizer + UndefinedBehaviorSanitizer
# (issue 11). Usage: scripts/sanitizer-check.sh   (after `npm ci` and `npm run build:ts`; CI runs it
# after the tests). Exit status non-zero on any sanitizer finding in segloss code or a test failure.
#
# 1. Copies the package (sources, lib/, tests) to build-sanitizer/package and builds the core addon
#    there with -fsanitize=address,undefined -fno-sanitize-recover=all (node-gyp, the normal
#    binding.gyp, flags from CXXFLAGS/LDFLAGS), so the normal build/ is untouched.
# 2. Node is not instrumented, so libasan is LD_PRELOADed (it must be the first library loaded).
# 3. Runs the core addon's test files with vitest. Memory errors (ASan) and undefined behaviour
#    (UBSan, not recoverable) abort the process, which fails its test. Leaks are logged per process
#    (log_path) and judged afterwards: Node, V8, vitest's own native bundler and the Python that
#    the scipy comparison spawns all leave unreachable memory at exit, which is not ours. So instead
#    of a suppression list, a leak counts when its allocation stack (30 frames) has a frame in
#    segloss code (segloss_core.node / segloss::); every other leak report is counted and ignored.
#    A preloaded probe library that leaks from a function named segloss_* checks first that LSan
#    runs inside Node here and that the filter catches such a leak.
# Not run here: the torch addon (not sanitized), RSS measurements (ASan's quarantine grows RSS),
# npm pack, the CLI doctor, the CPU-ISA object inspection.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/build-sanitizer
WORK=$OUT/package
LOGS=$OUT/logs
SAN_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g"
TESTS=(api async async-output-ownership distance-transform edge-cases float32-accuracy geometry-maps
  geometry-native-boundary grad-out gradcheck hostile metrics module-formats native-boundary parity
  property-hostile region-losses validation worker-threads)

step() { printf '\n--> %s\n' "$*"; }

[[ -f lib/index.js ]] || { echo "sanitizer-check: lib/ is missing: run npm run build:ts first" >&2; exit 1; }
LIBASAN=$(g++ -print-file-name=libasan.so)
[[ -f $LIBASAN ]] || { echo "sanitizer-check: libasan not found (g++ -print-file-name=libasan.so)" >&2; exit 1; }

step "copy the package to $WORK and build the core addon with ASan + UBSan"
rm -rf "$WORK" "$LOGS"
mkdir -p "$WORK" "$LOGS"
cp -r binding.gyp package.json tsconfig.json vitest.config.mts native src lib test "$WORK"/
ln -s "$ROOT/node_modules" "$WORK/node_modules"
started=$SECONDS
(cd "$WORK" && CFLAGS="$SAN_FLAGS" CXXFLAGS="$SAN_FLAGS" LDFLAGS="-fsanitize=address,undefined" \
  npx node-gyp rebuild -j 2 >"$OUT/build.log" 2>&1) || { tail -40 "$OUT/build.log"; exit 1; }
echo "built in $((SECONDS - started)) s"
ldd "$WORK/build/Release/segloss_core.node" | grep libasan >/dev/null || { echo "the addon does not link libasan" >&2; exit 1; }

# Counts the leak reports in the logs given whose stack has a segloss frame; prints them. One
# exception, counted apart: the handle napi_create_promise allocates (frame #1) for a promise a
# worker thread was terminated before settling. Node frees it only when the promise settles, and
# settling is impossible once the worker's environment is torn down (Node-API refuses the call),
# so test/worker-threads.test.ts's "terminated mid-call" case leaves 8 bytes per pending call.
count_our_leaks() {
  awk '
    function flush() { if (block != "" && ours) { if (deferred) d++; else { print block; n++ } } block = ""; ours = 0; deferred = 0 }
    /^(Direct|Indirect) leak of/ { flush(); block = $0 "\n"; next }
    block != "" && /^ +#[0-9]+ / {
      block = block $0 "\n"
      if ($0 ~ /segloss/) ours = 1
      if ($1 == "#1" && $0 ~ / in napi_create_promise /) deferred = 1
      next
    }
    block != "" { flush() }
    END { flush(); print "UNSETTLED_PROMISES " d + 0; print "OUR_LEAKS " n + 0 }
  ' "$@"
}

step "self-check: LeakSanitizer runs inside Node and the filter catches a leak from segloss_* code"
probe_dir=$(mktemp -d)
cat >"$probe_dir/probe.c" <<'EOF'
#include <stdlib.h>
void* volatile segloss_lsan_probe_pointer;
__attribute__((constructor, noinline)) void segloss_lsan_probe_leak(void) {
  segloss_lsan_probe_pointer = malloc(4242);
  segloss_lsan_probe_pointer = 0;
}
EOF
gcc -shared -fPIC -g -fno-omit-frame-pointer "$probe_dir/probe.c" -o "$probe_dir/probe.so"
LD_PRELOAD="$LIBASAN:$probe_dir/probe.so" ASAN_OPTIONS="detect_leaks=1:exitcode=0:log_path=$probe_dir/asan" \
  node -e "require('$WORK/lib/index.js').cpuEngineInfo()"
probe_result=$(count_our_leaks "$probe_dir"/asan.* | tail -1)
[[ $probe_result == "OUR_LEAKS 1" ]] || { echo "LeakSanitizer self-check failed ($probe_result)" >&2; exit 1; }
echo "LeakSanitizer is live in Node (the probe's 4242-byte leak was found)"
rm -rf "$probe_dir"

step "core addon tests under ASan + LSan + UBSan (${#TESTS[@]} files)"
files=()
for t in "${TESTS[@]}"; do files+=("test/$t.test.ts"); done
started=$SECONDS
status=0
(
  cd "$WORK"
  export LD_PRELOAD=$LIBASAN
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:exitcode=0:log_path=$LOGS/asan:malloc_context_size=30:allocator_may_return_null=1:detect_odr_violation=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$LOGS/ubsan"
  export SEGLOSS_FUZZ_SCALE=${SEGLOSS_FUZZ_SCALE:-0.2}
  unset SEGLOSS_REQUIRE_TORCH # the copy has no torch addon (CI exports it for npm test)
  npx vitest run "${files[@]}"
) || status=$?
echo "tests took $((SECONDS - started)) s (exit $status)"

step "sanitizer reports"
shopt -s nullglob
logs=("$LOGS"/*)
errors=0
if ((${#logs[@]})); then
  if grep -l -E 'ERROR: AddressSanitizer|runtime error:' "${logs[@]}"; then
    grep -h -A30 -E 'ERROR: AddressSanitizer|runtime error:' "${logs[@]}" | head -120
    errors=1
  fi
  leaks=$(count_our_leaks "${logs[@]}")
  ours=$(tail -1 <<<"$leaks")
  if [[ $ours != "OUR_LEAKS 0" ]]; then
    head -200 <<<"$leaks"
    errors=1
  fi
  other=$(grep -h -c -E '^(Direct|Indirect) leak of' "${logs[@]}" | awk '{ s += $1 } END { print s + 0 }')
  unsettled=$(grep UNSETTLED_PROMISES <<<"$leaks")
  echo "${#logs[@]} process logs; leak reports: $other in all (Node, V8, vitest, Python), ${ours#OUR_LEAKS } with a segloss frame," \
    "${unsettled#UNSETTLED_PROMISES } promise handles of terminated workers"
else
  echo "no sanitizer reports"
fi
if ((status != 0 || errors != 0)); then
  echo "sanitizer-check: FAILED" >&2
  exit 1
fi
echo "sanitizer-check: passed (no memory error, undefined behaviour or leak in segloss code)"
