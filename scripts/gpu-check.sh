#!/usr/bin/env bash
# The GPU check of segloss, in at most 9.5 minutes, on a machine with an NVIDIA GPU (H100/H200), nvcc,
# CMake and PyTorch 2.x with CUDA, without network and possibly without Node.
#
# How a session runs it on a lent GPU machine (the tool copies the working tree, not node_modules/
# or lib/, which are gitignored; .gpu-bundle/ brings them, with Node):
#   here:    bash scripts/make-gpu-bundle.sh           (after npm install; ~33 MiB, at most 60 MiB)
#   device:  bash scripts/gpu-check.sh --copy-to "$OUT"   with carry [".gpu-bundle"], timeout_s 540
# The result JSON and the step logs come back under $OUT (the summary is in the output tail).
#
#   1. preflight: finds Node ≥ 20 ($SEGLOSS_NODE, else `node` on PATH, else unpacks
#      .gpu-bundle/node.xz); unpacks .gpu-bundle/node_modules.tar.xz when there is no node_modules/
#      and .gpu-bundle/lib.tar.xz when there is no lib/ (with xz, or Python's lzma without xz);
#   2. finds a Python whose torch has CUDA ($SEGLOSS_PYTHON, python3, python) and builds the torch
#      addon against its libtorch with the CUDA engines (scripts/build-torch.js, SEGLOSS_CUDA=ON);
#   3. runs test/gpu.test.ts (CUDA engines vs CPU engines; SEGLOSS_REQUIRE_GPU=1, so no skip);
#   4. runs the loss benchmark on the GPU (bench/dice-ce.js --device=cuda), then the training
#      benchmark (bench/train.js --device=cuda: UNet base 64 and TransUNet b16 at 224², batch 8,
#      bf16 autocast + channels-last on both sides, against the same step in PyTorch eager);
#   5. writes bench/results/gpu-<date>-<device>.json (device, versions, steps, test summary, bench
#      numbers) and prints a short summary.
# Every step has its own timeout (see STEP_LIMITS); a failed step is recorded and the later steps
# that do not need it still run. Exit status: 0 when the build, the tests and the bench passed.
#
#   bash scripts/gpu-check.sh [--copy-to DIR]    (--copy-to: also copy the result and the logs there)
#
# Needs in the tree: node_modules (vitest, cmake-js or CMake, node-addon-api, node-api-headers,
# node-gyp-build; typescript or a built lib/), or .gpu-bundle/ to unpack them. Never uses the network.
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
START=$(date +%s)
COPY_TO=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --copy-to) COPY_TO="$2"; shift 2 ;;
    *) echo "gpu-check: unknown argument $1 (usage: bash scripts/gpu-check.sh [--copy-to DIR])" >&2; exit 2 ;;
  esac
done

# Seconds per step; together (plus the preflight) under 9.5 minutes.
LIMIT_TS=45
LIMIT_BUILD=250
LIMIT_TESTS=110
LIMIT_BENCH=50
LIMIT_TRAIN=90

WORK=$(mktemp -d /tmp/segloss-gpu-check.XXXXXX)
STEPS_FILE="$WORK/steps.tsv"   # name <tab> status <tab> seconds <tab> note
: > "$STEPS_FILE"

say() { echo "gpu-check: $*"; }
elapsed() { echo $(( $(date +%s) - START )); }
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:-}" >> "$STEPS_FILE"; }

# run_step NAME LIMIT LOG COMMAND...: runs COMMAND with a timeout, its output to LOG (and its tail
# to the terminal), records the outcome. Returns the command's status (124: timed out).
run_step() {
  local name=$1 limit=$2 log=$3
  shift 3
  local begin status
  begin=$(date +%s)
  say "[$(elapsed) s] $name (limit ${limit} s) ..."
  timeout --kill-after=10 "$limit" "$@" > "$log" 2>&1
  status=$?
  local took=$(( $(date +%s) - begin ))
  if [[ $status -eq 0 ]]; then
    record "$name" passed "$took"
    say "[$(elapsed) s] $name passed in ${took} s"
  else
    local why="exit $status"
    [[ $status -eq 124 || $status -eq 137 ]] && why="timed out after ${limit} s"
    record "$name" failed "$took" "$why"
    say "[$(elapsed) s] $name FAILED ($why); last lines of $log:"
    tail -n 25 "$log" | sed 's/^/    /'
  fi
  return $status
}

# --- 1. Preflight: Node, node_modules/, lib/ (from .gpu-bundle/ when absent) -----------------------
BUNDLE="$ROOT/.gpu-bundle"      # written by scripts/make-gpu-bundle.sh
PREFLIGHT_BEGIN=$(date +%s)
PREFLIGHT_NOTES=()
PREFLIGHT_STATUS=passed
NO_BUNDLE_HINT="run bash scripts/make-gpu-bundle.sh where npm install was run, and carry .gpu-bundle"

# unxz FILE: FILE decompressed to stdout, with xz or, where there is none, Python's lzma module.
unxz() {
  if command -v xz >/dev/null 2>&1; then xz -dc "$1"; return; fi
  local py
  py=$(command -v python3 || command -v python) || { say "neither xz nor Python to unpack $1" >&2; return 1; }
  "$py" -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"
}
# untar_xz FILE: unpacks the tar.xz FILE into the repository root.
untar_xz() { unxz "$1" | tar -C "$ROOT" -xf -; }

node_major() { "$1" -e 'process.stdout.write(String(process.versions.node.split(".")[0]))' 2>/dev/null; }

find_node() {
  if [[ -n "${SEGLOSS_NODE:-}" ]]; then echo "$SEGLOSS_NODE"; return 0; fi
  if command -v node >/dev/null 2>&1 && [[ "$(node_major node)" -ge 20 ]] 2>/dev/null; then command -v node; return 0; fi
  if [[ -f "$BUNDLE/node.xz" ]]; then
    mkdir -p "$WORK/node"
    unxz "$BUNDLE/node.xz" > "$WORK/node/node" || return 1
    chmod +x "$WORK/node/node"
    echo "$WORK/node/node"
    return 0
  fi
  return 1
}

NODE=$(find_node)
if [[ -z "$NODE" ]] || [[ "$(node_major "$NODE")" -lt 20 ]] 2>/dev/null; then
  say "no Node ≥ 20: set SEGLOSS_NODE, put node on PATH, or $NO_BUNDLE_HINT"
  exit 1
fi
export PATH="$(dirname "$NODE"):$PATH"
NODE_VERSION=$("$NODE" --version)
say "node $NODE_VERSION at $NODE"
[[ "$NODE" == "$WORK/node/node" ]] && PREFLIGHT_NOTES+=("node from .gpu-bundle/node.xz")

# from_bundle DIR: unpacks .gpu-bundle/DIR.tar.xz when DIR is missing, or when DIR was unpacked
# from another bundle (a warm machine keeps ignored folders between calls); DIR/.from-gpu-bundle
# records which. A DIR that did not come from a bundle is left alone. Status 0: unpacked now.
BUNDLE_ID=$(head -n 1 "$BUNDLE/MANIFEST" 2>/dev/null)
from_bundle() {
  local dir=$1 archive="$BUNDLE/$1.tar.xz"
  [[ -f "$archive" ]] || return 1
  if [[ -d "$dir" ]]; then
    [[ -f "$dir/.from-gpu-bundle" && "$(cat "$dir/.from-gpu-bundle")" != "$BUNDLE_ID" ]] || return 1
    rm -rf "$dir"
  fi
  say "unpacking .gpu-bundle/$1.tar.xz ..."
  if ! untar_xz "$archive"; then say "could not unpack .gpu-bundle/$1.tar.xz"; exit 1; fi
  echo "$BUNDLE_ID" > "$dir/.from-gpu-bundle"
}

from_bundle node_modules && PREFLIGHT_NOTES+=("node_modules/ from .gpu-bundle")
if [[ ! -d node_modules ]]; then
  say "no node_modules/ and no .gpu-bundle/node_modules.tar.xz: $NO_BUNDLE_HINT"
  exit 1
fi
for package in vitest node-addon-api node-gyp-build; do
  if [[ ! -f "node_modules/$package/package.json" ]]; then
    say "node_modules/ has no $package: $NO_BUNDLE_HINT (or npm install)"
    exit 1
  fi
done

from_bundle lib
if [[ -f lib/.from-gpu-bundle ]]; then
  # lib/ was built from src/ when the bundle was made; the bench uses lib/, the tests src/.
  bundle_hash=$(sed -n 's/^src-hash //p' "$BUNDLE/MANIFEST" 2>/dev/null)
  tree_hash=$(find src tsconfig.json scripts/write-esm-wrapper.js -type f -print0 | LC_ALL=C sort -z \
    | xargs -0 sha256sum | sha256sum | cut -c1-16)
  if [[ -f node_modules/typescript/bin/tsc ]]; then
    PREFLIGHT_NOTES+=("lib/ from .gpu-bundle (recompiled below)")
  elif [[ -n "$bundle_hash" && "$bundle_hash" == "$tree_hash" ]]; then
    PREFLIGHT_NOTES+=("lib/ from .gpu-bundle (built from this src/)")
  else
    PREFLIGHT_STATUS=warning
    PREFLIGHT_NOTES+=("lib/ from .gpu-bundle is STALE: built from other sources than this src/ (rerun make-gpu-bundle.sh)")
    say "WARNING: .gpu-bundle/lib.tar.xz was built from other sources than this src/; rerun bash scripts/make-gpu-bundle.sh"
  fi
fi
note=$(IFS=';'; echo "${PREFLIGHT_NOTES[*]:-}" | sed 's/;/; /g')
record "preflight (Node, node_modules, lib)" "$PREFLIGHT_STATUS" "$(( $(date +%s) - PREFLIGHT_BEGIN ))" "${note:-all in the tree}"
say "preflight done in $(( $(date +%s) - PREFLIGHT_BEGIN )) s${note:+: $note}"

# --- 2. Python with CUDA torch, nvcc, the GPU --------------------------------------------------
TORCH_PROBE='import json, torch; print(json.dumps({"version": torch.__version__, "cuda": torch.version.cuda, "available": torch.cuda.is_available()}))'
PYTHON=""
TORCH_JSON="{}"
for candidate in ${SEGLOSS_PYTHON:-} python3 python; do
  command -v "$candidate" >/dev/null 2>&1 || continue
  probe=$(timeout 60 "$candidate" -c "$TORCH_PROBE" 2>/dev/null | tail -n 1) || continue
  if [[ "$probe" == *'"cuda": "'* ]]; then PYTHON=$(command -v "$candidate"); TORCH_JSON=$probe; break; fi
done
if [[ -z "$PYTHON" ]]; then
  say "no Python with a CUDA build of torch found (tried ${SEGLOSS_PYTHON:-} python3 python); set SEGLOSS_PYTHON"
  record "find a Python with CUDA torch" failed 0 "tried ${SEGLOSS_PYTHON:-} python3 python; set SEGLOSS_PYTHON"
else
  say "python $PYTHON: torch $TORCH_JSON"
  record "find a Python with CUDA torch" passed 0 "$PYTHON"
fi

if ! command -v nvcc >/dev/null 2>&1 && [[ -x /usr/local/cuda/bin/nvcc ]]; then export PATH="/usr/local/cuda/bin:$PATH"; fi
NVCC_VERSION=$(nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p')
[[ -n "$NVCC_VERSION" ]] && export CUDACXX="${CUDACXX:-$(command -v nvcc)}"
GPU_NAME=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
GPU_DRIVER=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -n 1)
GPU_MEMORY=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader 2>/dev/null | head -n 1)
GPU_NAME=${GPU_NAME:-unknown}
say "GPU: $GPU_NAME (driver ${GPU_DRIVER:-?}, ${GPU_MEMORY:-?}); nvcc ${NVCC_VERSION:-not found}; cmake $(cmake --version 2>/dev/null | head -n 1 | awk '{print $3}')"

# --- 3. TypeScript (lib/, for the bench), the torch addon -----------------------------------
if [[ -f node_modules/typescript/bin/tsc ]]; then
  run_step "compile TypeScript (lib/)" "$LIMIT_TS" "$WORK/tsc.log" "$NODE" node_modules/typescript/bin/tsc -p tsconfig.json
elif [[ -f lib/index.js ]]; then
  record "compile TypeScript (lib/)" skipped 0 "no typescript in node_modules; using the lib/ in the tree"
else
  record "compile TypeScript (lib/)" failed 0 "neither node_modules/typescript nor lib/"
fi

BUILD_OK=0
# The Python's libtorch, not LIBTORCH / Torch_DIR or a project .venv (CI's CPU torch).
if [[ -z "$PYTHON" ]]; then
  record "build the torch addon with CUDA" skipped 0 "no Python with CUDA torch"
elif run_step "build the torch addon with CUDA" "$LIMIT_BUILD" "$WORK/build-torch.log" \
    env -u LIBTORCH -u Torch_DIR SEGLOSS_PYTHON="$PYTHON" SEGLOSS_CUDA=ON SEGLOSS_BUILD_JOBS="$(nproc)" \
    "$NODE" scripts/build-torch.js --clean; then
  BUILD_OK=1
fi

# --- 4. GPU tests --------------------------------------------------------------------------------
TESTS_JSON="$WORK/gpu-tests.json"
if [[ $BUILD_OK -eq 1 ]]; then
  run_step "test/gpu.test.ts" "$LIMIT_TESTS" "$WORK/gpu-tests.log" \
    env SEGLOSS_REQUIRE_GPU=1 NO_COLOR=1 "$NODE" node_modules/vitest/vitest.mjs run test/gpu.test.ts \
    --reporter=default --reporter=json --outputFile.json="$TESTS_JSON"
else
  record "test/gpu.test.ts" skipped 0 "no torch addon"
fi

# --- 5. GPU bench --------------------------------------------------------------------------------
BENCH_JSON="$WORK/bench.json"
if [[ $BUILD_OK -eq 1 && -f lib/torch/addon.js ]]; then
  run_step "bench/dice-ce.js --device=cuda" "$LIMIT_BENCH" "$WORK/bench.log" \
    "$NODE" bench/dice-ce.js --device=cuda --iterations=10 --warmup=3 --out="$BENCH_JSON"
else
  record "bench/dice-ce.js --device=cuda" skipped 0 "no torch addon or no lib/"
fi
TRAIN_JSON="$WORK/train.json"
if [[ $BUILD_OK -eq 1 && -f lib/torch/addon.js ]]; then
  run_step "bench/train.js --device=cuda" "$LIMIT_TRAIN" "$WORK/train.log" \
    "$NODE" bench/train.js --device=cuda --precision=bfloat16 --channels-last --models=unet64,transunet-b16 \
    --size=224 --batch=8 --warmup=3 --steps=8 --rounds=1 --python="$PYTHON" --out="$TRAIN_JSON"
else
  record "bench/train.js --device=cuda" skipped 0 "no torch addon or no lib/"
fi

# --- 6. Result file and summary ------------------------------------------------------------------
DATE=$(date -u +%Y-%m-%d)
SLUG=$(echo "$GPU_NAME" | tr '[:upper:]' '[:lower:]' | sed -E 's/[^a-z0-9]+/-/g; s/^-+|-+$//g')
RESULT="bench/results/gpu-${DATE}-${SLUG:-unknown}.json"
mkdir -p bench/results
GPU_NAME="$GPU_NAME" GPU_DRIVER="${GPU_DRIVER:-}" GPU_MEMORY="${GPU_MEMORY:-}" NVCC_VERSION="${NVCC_VERSION:-}" \
PYTHON="$PYTHON" TORCH_JSON="$TORCH_JSON" STEPS_FILE="$STEPS_FILE" TESTS_JSON="$TESTS_JSON" BENCH_JSON="$BENCH_JSON" TRAIN_JSON="$TRAIN_JSON" \
RESULT="$RESULT" TOTAL_SECONDS="$(elapsed)" "$NODE" - <<'EOF'
const fs = require('fs');
const os = require('os');
const env = process.env;
const readJson = (file) => { try { return JSON.parse(fs.readFileSync(file, 'utf8')); } catch { return null; } };
const steps = fs.readFileSync(env.STEPS_FILE, 'utf8').trim().split('\n').filter(Boolean).map((line) => {
  const [name, status, seconds, note] = line.split('\t');
  return { name, status, seconds: Number(seconds), ...(note ? { note } : {}) };
});
const vitest = readJson(env.TESTS_JSON);
const tests = vitest && {
  passed: vitest.numPassedTests,
  failed: vitest.numFailedTests,
  skipped: vitest.numPendingTests,
  total: vitest.numTotalTests,
  failures: vitest.testResults.flatMap((file) => file.assertionResults)
    .filter((t) => t.status === 'failed')
    .map((t) => ({ name: t.fullName, message: (t.failureMessages[0] || '').split('\n')[0] })),
  durationsMs: Object.fromEntries(vitest.testResults.flatMap((file) => file.assertionResults)
    .filter((t) => t.status === 'passed').map((t) => [t.fullName, Math.round(t.duration ?? 0)])),
};
const bench = readJson(env.BENCH_JSON);
const train = readJson(env.TRAIN_JSON);
const result = {
  check: 'scripts/gpu-check.sh',
  date: new Date().toISOString(),
  device: { name: env.GPU_NAME, driver: env.GPU_DRIVER, memory: env.GPU_MEMORY },
  host: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length },
  versions: { node: process.version, nvcc: env.NVCC_VERSION, python: env.PYTHON, torch: JSON.parse(env.TORCH_JSON || '{}') },
  totalSeconds: Number(env.TOTAL_SECONDS),
  steps,
  tests,
  bench,
  train,
};
fs.writeFileSync(env.RESULT, JSON.stringify(result, null, 2) + '\n');
const line = (s) => console.log(`gpu-check: ${s}`);
line(`summary for ${env.GPU_NAME}, ${result.totalSeconds} s`);
for (const s of steps) line(`  ${s.status.padEnd(7)} ${s.name} (${s.seconds} s)${s.note ? ` — ${s.note}` : ''}`);
if (tests) {
  line(`  tests: ${tests.passed} passed, ${tests.failed} failed, ${tests.skipped} skipped of ${tests.total}`);
  for (const f of tests.failures) line(`    FAILED ${f.name}: ${f.message}`);
}
if (bench) {
  for (const r of bench.results) {
    line(`  bench ${r.shape.join('x')} ${bench.options.dtype}: fused ${r.fusedMedianMs.toFixed(2)} ms, ` +
      `ATen ${r.atenMedianMs.toFixed(2)} ms, ratio ATen/fused ${r.ratio.toFixed(2)}`);
  }
}
if (train) {
  for (const r of train.rows) {
    line(`  train ${r.model} ${r.size}² batch ${r.batch} ${r.precision}${r.channelsLast ? ' channels-last' : ''}: ` +
      `segloss ${r.seglossImagesPerSecond.toFixed(1)} img/s, PyTorch ${r.torchImagesPerSecond.toFixed(1)} img/s, ratio ${r.ratio.toFixed(2)}`);
  }
}
line(`  written to ${env.RESULT}`);
EOF

if [[ -n "$COPY_TO" ]]; then
  mkdir -p "$COPY_TO"
  cp "$RESULT" "$COPY_TO/" 2>/dev/null
  cp "$WORK"/*.log "$COPY_TO/" 2>/dev/null
  say "result and logs copied to $COPY_TO"
fi

# Exit status: every step passed (skipped steps count as failures, except the TypeScript step when lib/ exists).
if grep -qP '\tfailed\t' "$STEPS_FILE" || [[ $BUILD_OK -ne 1 ]] || ! grep -q "^test/gpu.test.ts	passed" "$STEPS_FILE" \
    || ! grep -q "^bench/dice-ce.js --device=cuda	passed" "$STEPS_FILE"; then
  say "FAILED (logs in $WORK)"
  exit 1
fi
say "passed (logs in $WORK)"
