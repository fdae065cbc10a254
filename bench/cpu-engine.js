#!/usr/bin/env node
'use strict';
// CPU engine benchmark (issue "CPU engines at the speed of the hardware"): the fused forward +
// backward of `cross-entropy`, `dice` and 0.5·dice + 0.5·cross-entropy, float32, timed in one run
// against two baselines measured on the same machine in the same run:
//   - plain loop: the same computation as a plain two-pass C++ loop (bench/plain_loop.cpp) compiled
//     here with -O3 -march=native -ffast-math -fopenmp (goal: ours within 2× of it);
//   - PyTorch eager: the objectives written with softmax / one_hot / sums / F.cross_entropy and
//     autograd (bench/torch_eager.py) run by the venv's Python (goal: ours ≥ 5× faster).
// "ours (prebuilt)" is computeLoss through the prebuilt core addon (prebuilds/, the binary
// `npm install` gives: a child process in a copy of the package without build/) writing into a
// reused `gradOut` array, as a training loop would (the JSON also has the time with a new gradient
// array per call); "ours (torch op)" is the libtorch autograd op on ATen tensors (torch addon
// benchObjective), forward + backward.
// Median of --iterations runs after 2 warm-up runs each.
//
// Also the peak extra memory of one call per objective (a fresh process; the rise of its peak
// resident set over the call), as bytes and as a multiple of the logits' bytes. The plain loop
// covers cross-entropy, dice, dice+ce, topk, combo and exp-log.
//
//   node bench/cpu-engine.js [--shapes=8x9x224x224,4x19x512x512] [--threads=1,2] [--iterations=9] [--all] [--only=a,b] [--note=TEXT] [--out=FILE]
//   (--all: also topk, lovasz-softmax, focal, the region losses, generalized-wasserstein-dice, rmi, robust-t,
//   combo, exp-log and unified-focal, against PyTorch eager written as their references write them;
//   --only: just the named objectives of either list)
//
// Needs `npm run build` and `npm run build:prebuild`, g++ with OpenMP, and .venv (npm run setup:libtorch).
// Writes bench/results/cpu-engine-<date>.json.
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
// The engine issue's three objectives (compared with the plain loop too), then the other
// implemented pixel-wise and region losses (--all; compared with PyTorch eager only).
const CORE_OBJECTIVES = {
  'cross-entropy': 'cross-entropy',
  dice: 'dice',
  'dice+ce': [
    { loss: 'dice', weight: 0.5 },
    { loss: 'cross-entropy', weight: 0.5 },
  ],
};
const MORE_OBJECTIVES = {
  topk: 'topk',
  'lovasz-softmax': 'lovasz-softmax',
  focal: 'focal',
  'log-cosh-dice': 'log-cosh-dice',
  jaccard: 'jaccard',
  tversky: 'tversky',
  'focal-tversky': 'focal-tversky',
  'sensitivity-specificity': 'sensitivity-specificity',
  combo: 'combo',
  'exp-log': 'exp-log',
  'unified-focal': 'unified-focal',
  'generalized-wasserstein-dice': 'generalized-wasserstein-dice',
  'robust-t': 'robust-t',
  rmi: 'rmi',
};
let OBJECTIVES = CORE_OBJECTIVES;

function parseArgs(argv) {
  const options = { shapes: [[8, 9, 224, 224], [4, 19, 512, 512]], threads: [1, 2], iterations: 9, out: null, all: false, only: null, note: null };
  for (const arg of argv) {
    const [key, value] = arg.replace(/^--/, '').split('=');
    if (key === 'shapes') options.shapes = value.split(',').map((s) => s.split('x').map(Number));
    else if (key === 'threads') options.threads = value.split(',').map(Number);
    else if (key === 'iterations') options.iterations = Number(value);
    else if (key === 'out') options.out = value;
    else if (key === 'all') options.all = true;
    else if (key === 'only') options.only = value.split(',');
    else if (key === 'note') options.note = arg.slice(arg.indexOf('=') + 1);
    else throw new Error(`unknown argument ${arg} (see the comment at the top of bench/cpu-engine.js)`);
  }
  return options;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

// ---- ours: computeLoss through the prebuilt core addon, in a child process ---------------------

const CORE_CHILD = `
'use strict';
const { computeLoss, coreAddonLocation, cpuEngineInfo } = require('./lib/index.js');
const [shape, iterations, objectives] = JSON.parse(process.argv[2]);
const [B, C, ...spatial] = shape;
const pixels = spatial.reduce((a, b) => a * b, 1);
let state = 0x9e3779b9;
const next = () => { state ^= state << 13; state ^= state >>> 17; state ^= state << 5; return (state >>> 0) / 4294967296; };
const logits = new Float32Array(B * C * pixels);
for (let i = 0; i < logits.length; ++i) logits[i] = 6 * next() - 3;
const target = new Uint8Array(B * pixels);
for (let i = 0; i < target.length; ++i) target[i] = Math.floor(next() * C);
const input = { logits, target, shape };
const result = { location: coreAddonLocation(), cpu: cpuEngineInfo(), ms: {}, allocatingMs: {} };
const gradOut = new Float32Array(logits.length);
const time = (options) => {
  const times = [];
  for (let i = 0; i < iterations + 2; ++i) {
    const start = process.hrtime.bigint();
    computeLoss(spec, input, options);
    if (i >= 2) times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
};
let spec;
for (const [name, objective] of Object.entries(objectives)) {
  spec = objective;
  result.ms[name] = time({ grad: true, gradOut });           // a training loop's call: the gradient array reused
  result.allocatingMs[name] = time({ grad: true });         // a new gradient array per call
}
console.log(JSON.stringify(result));
`;

// A copy of the package without build/, so node-gyp-build loads prebuilds/ (as after npm install).
function prebuiltPackage() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segloss-bench-'));
  fs.cpSync(path.join(root, 'lib'), path.join(dir, 'lib'), { recursive: true });
  fs.cpSync(path.join(root, 'prebuilds'), path.join(dir, 'prebuilds'), { recursive: true });
  fs.copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  fs.writeFileSync(path.join(dir, 'bench-core.js'), CORE_CHILD);
  return dir;
}

function timeCorePrebuilt(dir, shape, threads, iterations) {
  const out = execFileSync(process.execPath, ['bench-core.js', JSON.stringify([shape, iterations, OBJECTIVES])], {
    cwd: dir,
    env: { ...process.env, SEGLOSS_NUM_THREADS: String(threads) },
    encoding: 'utf8',
  });
  const result = JSON.parse(out);
  if (result.location.origin !== 'prebuild') throw new Error(`the bench child loaded ${result.location.path}, not the prebuild`);
  return result;
}

// ---- ours: peak extra memory --------------------------------------------------------------------

// One call in a fresh process after the logits, labels and gradient array are allocated and
// touched: the peak resident set is restarted at the current one (Linux: "5" written to
// /proc/self/clear_refs resets VmHWM), and its rise over the call is the scratch the engine needed
// at its peak (buffers, per-worker scratch, the gradient it returns), reported also as a multiple
// of the logits' bytes. (getrusage's maxrss is the peak of the whole process: whenever loading had
// raised it above the resident set before the call, the rise read a constant, or 0.)
const MEMORY_CHILD = `
'use strict';
const { computeLoss } = require('./lib/index.js');
const [shape, objective] = JSON.parse(process.argv[2]);
const [B, C, ...spatial] = shape;
const pixels = spatial.reduce((a, b) => a * b, 1);
const logits = new Float32Array(B * C * pixels);
for (let i = 0; i < logits.length; ++i) logits[i] = ((i * 2654435761) % 4294967296) / 4294967296 * 6 - 3;
const target = new Uint8Array(B * pixels);
for (let i = 0; i < target.length; ++i) target[i] = (i * 40503) % C;
const gradOut = new Float32Array(logits.length).fill(1);
const fs = require('fs');
const highWaterMark = () => Number(/VmHWM:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
fs.writeFileSync('/proc/self/clear_refs', '5'); // the peak resident set restarts from the current one
const before = highWaterMark();
computeLoss(objective, { logits, target, shape }, { grad: true, gradOut });
const after = highWaterMark();
console.log(JSON.stringify({ peakExtraBytes: Math.max(0, after - before), logitsBytes: logits.byteLength }));
`;

function peakExtraMemory(dir, shape, threads) {
  fs.writeFileSync(path.join(dir, 'bench-memory.js'), MEMORY_CHILD);
  const out = {};
  for (const [name, objective] of Object.entries(OBJECTIVES)) {
    const line = execFileSync(process.execPath, ['bench-memory.js', JSON.stringify([shape, objective])], {
      cwd: dir,
      env: { ...process.env, SEGLOSS_NUM_THREADS: String(threads) },
      encoding: 'utf8',
    });
    const { peakExtraBytes, logitsBytes } = JSON.parse(line);
    out[name] = { peakExtraBytes, ratioToLogits: peakExtraBytes / logitsBytes };
  }
  return out;
}

// ---- ours: the torch op ------------------------------------------------------------------------

function timeTorchOp(shape, threads, iterations) {
  const { torchAddon } = require(path.join(root, 'lib', 'torch', 'addon.js'));
  const { resolveLossRequest } = require(path.join(root, 'lib', 'resolve.js'));
  process.env.SEGLOSS_NUM_THREADS = String(threads);
  const ms = {};
  for (const [name, spec] of Object.entries(OBJECTIVES)) {
    const { request } = resolveLossRequest(spec, {}, shape[1]);
    ms[name] = median(torchAddon().benchObjective({ shape, iterations, warmup: 2, threads }, request));
  }
  return ms;
}

// ---- baselines ---------------------------------------------------------------------------------

function buildPlainLoop() {
  const out = path.join(root, 'build', 'bench', 'plain_loop');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  execFileSync('g++', ['-O3', '-march=native', '-ffast-math', '-fopenmp', path.join(__dirname, 'plain_loop.cpp'), '-o', out]);
  return out;
}

// The objectives bench/plain_loop.cpp has a plain loop of.
const PLAIN_LOOP_OBJECTIVES = ['cross-entropy', 'dice', 'dice+ce', 'topk', 'combo', 'exp-log'];

function timePlainLoop(binary, shape, threads, iterations) {
  const ms = {};
  for (const name of PLAIN_LOOP_OBJECTIVES.filter((n) => n in OBJECTIVES)) {
    const [b, c, h, w] = shape;
    const out = execFileSync(binary, [name, b, c, h, w, threads, iterations].map(String), { encoding: 'utf8' });
    ms[name] = Number(out.trim().split(' ')[0]);
  }
  return ms;
}

function timeTorchEager(shape, threads, iterations) {
  const python = path.join(root, '.venv', 'bin', 'python');
  const names = Object.keys(OBJECTIVES).join(',');
  const out = execFileSync(python, [path.join(__dirname, 'torch_eager.py'), ...shape, threads, iterations, names].map(String), {
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

// ---- report ------------------------------------------------------------------------------------

function cpuModel() {
  const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = /model name\s*:\s*(.*)/.exec(info)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const flags = (/flags\s*:\s*(.*)/.exec(info)?.[1] ?? '').split(' ').filter((f) => /^(avx|fma|sse)/.test(f));
  return { model, cores: os.availableParallelism(), simdFlags: flags };
}

function markdown(rows) {
  const f = (x) => x.toFixed(2);
  const lines = [
    '| B×C×H×W | threads | objective | ours, prebuilt core (ms) | ours, torch op (ms) | plain loop (ms) | PyTorch eager (ms) | ours / plain | eager / ours | eager / torch op | peak extra memory / logits |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const plain = r.plainMs === undefined ? '—' : f(r.plainMs);
    const ratio = r.plainMs === undefined ? '—' : f(r.coreMs / r.plainMs);
    lines.push(
      `| ${r.shape.join('×')} | ${r.threads} | ${r.objective} | ${f(r.coreMs)} | ${f(r.torchOpMs)} | ${plain} | ${f(r.eagerMs)} | ` +
        `${ratio} | ${f(r.eagerMs / r.coreMs)} | ${f(r.eagerMs / r.torchOpMs)} | ${f(r.peakExtraToLogits)} |`,
    );
  }
  return lines.join('\n');
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.all) OBJECTIVES = { ...CORE_OBJECTIVES, ...MORE_OBJECTIVES };
  if (options.only) {
    const known = { ...CORE_OBJECTIVES, ...MORE_OBJECTIVES };
    OBJECTIVES = Object.fromEntries(options.only.map((name) => {
      if (!(name in known)) throw new Error(`unknown objective ${name} (one of ${Object.keys(known).join(', ')})`);
      return [name, known[name]];
    }));
  }
  const loadBefore = os.loadavg();
  const plain = buildPlainLoop();
  const dir = prebuiltPackage();
  const rows = [];
  let cpu = null;
  let torchVersion = null;
  try {
    for (const shape of options.shapes) {
      for (const threads of options.threads) {
        const core = timeCorePrebuilt(dir, shape, threads, options.iterations);
        cpu = core.cpu;
        const torchOp = timeTorchOp(shape, threads, options.iterations);
        const plainMs = timePlainLoop(plain, shape, threads, options.iterations);
        const eager = timeTorchEager(shape, threads, options.iterations);
        const memory = peakExtraMemory(dir, shape, threads);
        torchVersion = eager.torch;
        for (const objective of Object.keys(OBJECTIVES)) {
          rows.push({
            shape,
            threads,
            objective,
            coreMs: core.ms[objective],
            coreAllocatingMs: core.allocatingMs[objective],
            torchOpMs: torchOp[objective],
            plainMs: plainMs[objective],
            eagerMs: eager[objective],
            peakExtraBytes: memory[objective].peakExtraBytes,
            peakExtraToLogits: memory[objective].ratioToLogits,
          });
        }
        process.stderr.write(`done ${shape.join('x')} threads ${threads}\n`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const table = markdown(rows);
  console.log(table);
  const date = new Date().toISOString().slice(0, 10);
  const out = options.out ?? path.join(root, 'bench', 'results', `cpu-engine-${date}.json`);
  const report = {
    benchmark: 'bench/cpu-engine.js',
    date: new Date().toISOString(),
    machine: cpuModel(),
    cpuKernels: cpu,
    node: process.version,
    torch: torchVersion,
    iterations: options.iterations,
    loadAverage: { before: loadBefore, after: os.loadavg() },
    note: options.note ?? undefined,
    rows,
  };
  fs.writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
  console.log(`\nwritten ${path.relative(root, out)}`);
}

main();
