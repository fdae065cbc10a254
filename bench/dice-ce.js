#!/usr/bin/env node
'use strict';
// CPU benchmark of the survey's objective 0.5·Dice + 0.5·CE, forward + backward (DESIGN.md, "Where
// the numbers come from"): the fused engines through the libtorch autograd op against the same
// loss written as a libtorch ATen composition with autograd, both timed in C++ in the same run on
// the same tensors (native/torch/loss_bench.h), median of N after a warmup; plus the core
// addon's computeLoss on raw typed arrays, for reference.
//
//   node bench/dice-ce.js [--iterations=N] [--warmup=N] [--threads=0,1] [--dtype=float32|float64]
//                         [--shapes=8x9x224x224,4x19x512x512] [--device=cpu|cuda] [--out=FILE]
//
// Prints a Markdown table (ratio = ATen time / fused time: above 1, the fused op is faster) and
// writes bench/results/cpu-<date>.json (gpu-<date>-<device>.json with --device=cuda). Needs
// `npm run build:ts` and the torch addon (`npm run build:torch`).
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const { computeLoss } = require(path.join(root, 'lib', 'index.js'));
const { torchAddon } = require(path.join(root, 'lib', 'torch', 'addon.js'));

const DEFAULT_SHAPES = [
  [8, 9, 224, 224],
  [4, 19, 512, 512],
];

function parseArgs(argv) {
  // threads: thread counts to run each shape under, for both sides: libtorch's intra-op threads
  // (at::set_num_threads) and the core engines' (SEGLOSS_NUM_THREADS); 0 = libtorch's default.
  const options = { iterations: 7, warmup: 2, threads: [0, 1], dtype: 'float32', device: 'cpu', shapes: DEFAULT_SHAPES, out: null };
  for (const arg of argv) {
    const [key, value] = arg.replace(/^--/, '').split('=');
    if (key === 'iterations' || key === 'warmup') options[key] = Number(value);
    else if (key === 'threads') options.threads = value.split(',').map(Number);
    else if (key === 'dtype' || key === 'device' || key === 'out') options[key] = value;
    else if (key === 'shapes') options.shapes = value.split(',').map((s) => s.split('x').map(Number));
    else throw new Error(`unknown argument ${arg} (see the comment at the top of bench/dice-ce.js)`);
  }
  if (!(options.iterations >= 1) || !(options.warmup >= 0)) throw new Error('--iterations ≥ 1 and --warmup ≥ 0');
  return options;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// Deterministic inputs for the raw-buffer reference (xorshift; values in [-3, 3), labels in [0, C)).
function rawInputs(shape, dtype) {
  const [batch, channels, ...spatial] = shape;
  const pixels = spatial.reduce((a, b) => a * b, 1);
  let state = 0x9e3779b9;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  const logits = dtype === 'float64' ? new Float64Array(batch * channels * pixels) : new Float32Array(batch * channels * pixels);
  for (let i = 0; i < logits.length; ++i) logits[i] = 6 * next() - 3;
  const Labels = channels <= 256 ? Uint8Array : Int32Array;
  const target = new Labels(batch * pixels);
  for (let i = 0; i < target.length; ++i) target[i] = Math.floor(next() * channels);
  return { logits, target, shape };
}

const objective = [
  { loss: 'dice', weight: 0.5 },
  { loss: 'cross-entropy', weight: 0.5 },
];

function timeCore(shape, options) {
  const input = rawInputs(shape, options.dtype);
  const run = () => computeLoss(objective, input, { grad: true });
  for (let i = 0; i < options.warmup; ++i) run();
  const times = [];
  for (let i = 0; i < options.iterations; ++i) {
    const start = process.hrtime.bigint();
    run();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times;
}

function benchShape(addon, shape, threads, coreMs, options) {
  const torch = addon.benchDiceCe({
    shape,
    iterations: options.iterations,
    warmup: options.warmup,
    dtype: options.dtype,
    device: options.device,
    threads,
  });
  const fused = median(torch.fusedMs);
  const aten = median(torch.atenMs);
  return {
    shape,
    fusedMedianMs: fused,
    atenMedianMs: aten,
    ratio: aten / fused,
    coreMedianMs: coreMs.length ? median(coreMs) : null,
    fusedValue: torch.fusedValue,
    atenValue: torch.atenValue,
    maxGradDiff: torch.maxGradDiff,
    threads: torch.threads,
    fusedMs: torch.fusedMs,
    atenMs: torch.atenMs,
    coreMs,
  };
}

function markdownTable(results, options) {
  const fmt = (ms) => (ms === null ? '—' : ms.toFixed(1));
  const lines = [
    `| B×C×H×W | threads | fused op (ms) | ATen composition (ms) | ratio ATen / fused | core computeLoss (ms) |`,
    `|---|---:|---:|---:|---:|---:|`,
  ];
  for (const r of results) {
    lines.push(`| ${r.shape.join('×')} | ${r.threads} | ${fmt(r.fusedMedianMs)} | ${fmt(r.atenMedianMs)} | ` +
      `${r.ratio.toFixed(2)} | ${fmt(r.coreMedianMs)} |`);
  }
  lines.push('');
  lines.push(`0.5·Dice + 0.5·CE, forward + backward, ${options.dtype}, ${options.device}; median of ${options.iterations} ` +
    `runs after ${options.warmup} warmup runs, both methods alternating in one process; "threads" is both libtorch's ` +
    'intra-op thread count and the core engines\' (SEGLOSS_NUM_THREADS). The core computeLoss column is the same ' +
    'fused loss on raw typed arrays (uint8 labels), for reference.');
  return lines.join('\n');
}

// cpu-<date>.json, or gpu-<date>-<device name>.json (e.g. gpu-2025-01-31-nvidia-h100-80gb-hbm3.json).
function resultName(device, date, info) {
  if (device === 'cpu') return `cpu-${date}.json`;
  const index = Number(device.split(':')[1] || 0);
  const name = (info.deviceNames[index] || 'cuda').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return `gpu-${date}-${name}.json`;
}

function machine() {
  const cpus = os.cpus();
  return { cpu: cpus[0] ? cpus[0].model : 'unknown', cores: cpus.length, platform: `${process.platform}-${process.arch}`, node: process.version };
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  const addon = torchAddon();
  const info = addon.info();
  const threadCounts =
    options.device === 'cpu' ? [...new Set(options.threads.map((t) => (t === 0 ? info.threads : t)))] : [info.threads];
  const results = [];
  for (const shape of options.shapes) {
    process.stderr.write(`bench: ${shape.join('×')} ...\n`);
    for (const threads of threadCounts) {
      process.env.SEGLOSS_NUM_THREADS = String(threads);  // read by the core engines at each call
      const coreMs = options.device === 'cpu' ? timeCore(shape, options) : [];
      const result = benchShape(addon, shape, threads, coreMs, options);
      if (Math.abs(result.fusedValue - result.atenValue) > 1e-4 * Math.abs(result.atenValue)) {
        throw new Error(`the fused op and the ATen composition disagree: ${result.fusedValue} vs ${result.atenValue}`);
      }
      results.push(result);
    }
  }
  const date = new Date().toISOString().slice(0, 10);
  const report = {
    benchmark: '0.5*dice + 0.5*cross-entropy, forward + backward',
    date: new Date().toISOString(),
    machine: machine(),
    torch: { version: info.torchVersion, threads: info.threads, cudaDevices: info.deviceNames },
    options: { iterations: options.iterations, warmup: options.warmup, dtype: options.dtype, device: options.device },
    results,
  };
  const out = options.out || path.join(root, 'bench', 'results', resultName(options.device, date, info));
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
  console.log(markdownTable(results, options));
  console.log(`\nMachine: ${report.machine.cpu}, ${report.machine.cores} cores; libtorch ${info.torchVersion}. ` +
    `Written to ${path.relative(process.cwd(), out)}.`);
}

main();
