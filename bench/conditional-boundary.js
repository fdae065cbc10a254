#!/usr/bin/env node
'use strict';
// conditional-boundary benchmark (issue "The nine boundary-level losses", goal ≥ 5×): value +
// gradients (features and classifier) of segloss's native CBL against the same loss computed the
// way the released CBL code computes it, in PyTorch eager with autograd
// (bench/conditional_boundary_eager.py: per-class depthwise 5×5 convolutions over the D feature
// channels, per-image per-shift cosine similarities, the band by iterated erosion), float32, in
// one run on this machine. Each configuration's ratio is eager median / ours median; both values
// are printed and must agree (float32).
//
//   node bench/conditional-boundary.js [--threads=1,2] [--iterations=5] [--eager-iterations=3] [--out=FILE]
//   (each side also runs once first, untimed, to warm up)
//
// Needs `npm run build` and .venv (npm run setup:libtorch). Writes
// bench/results/conditional-boundary-<date>.json.
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
// [B, C, H, W] with D feature channels (the decoder features of a segmentation head at full
// resolution: D is kept small enough for the eager baseline's per-class D-channel convolutions).
const CONFIGS = [
  { shape: [8, 9, 224, 224], D: 64 },
  { shape: [4, 19, 512, 512], D: 32 },
];

function parseArgs(argv) {
  const options = { threads: [1, 2], iterations: 5, eagerIterations: 3, out: null };
  for (const arg of argv) {
    const [key, value] = arg.replace(/^--/, '').split('=');
    if (key === 'threads') options.threads = value.split(',').map(Number);
    else if (key === 'iterations') options.iterations = Number(value);
    else if (key === 'eager-iterations') options.eagerIterations = Number(value);
    else if (key === 'out') options.out = value;
    else throw new Error(`unknown argument ${arg}`);
  }
  return options;
}

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Labels: class 0 background with a dozen rectangles of random classes per image; logits favour
// the true class at 80% of the pixels; features and the classifier uniform in [−1, 1).
function makeInputs({ shape: [B, C, H, W], D }) {
  const random = rng(B * 1000 + C);
  const n = H * W;
  const labels = new Int32Array(B * n);
  for (let b = 0; b < B; ++b) {
    for (let r = 0; r < 12; ++r) {
      const c = 1 + Math.floor(random() * (C - 1));
      const y0 = Math.floor(random() * H), x0 = Math.floor(random() * W);
      const h = 8 + Math.floor(random() * H / 4), w = 8 + Math.floor(random() * W / 4);
      for (let y = y0; y < Math.min(H, y0 + h); ++y) labels.fill(c, b * n + y * W + x0, b * n + y * W + Math.min(W, x0 + w));
    }
  }
  const logits = new Float32Array(B * C * n);
  for (let i = 0; i < logits.length; ++i) logits[i] = random() * 2 - 1;
  for (let b = 0; b < B; ++b) for (let i = 0; i < n; ++i) if (random() < 0.8) logits[(b * C + labels[b * n + i]) * n + i] += 2;
  const features = Float32Array.from({ length: B * D * n }, () => random() * 2 - 1);
  const weight = Float32Array.from({ length: C * D }, () => random() * 2 - 1);
  const bias = Float32Array.from({ length: C }, () => random() - 0.5);
  return { labels, logits, features, weight, bias };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function timeOurs(config, inputs, threads, iterations) {
  const script = `
    const s = require(${JSON.stringify(path.join(root, 'lib'))});
    const fs = require('fs');
    const [B, C, H, W] = ${JSON.stringify(config.shape)}, D = ${config.D};
    const dir = process.argv[1];
    const bytes = (name) => { const b = fs.readFileSync(dir + '/' + name); return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength); };
    const f32 = (name) => new Float32Array(bytes(name));
    const input = { logits: f32('logits.f32'), target: new Int32Array(bytes('labels.i32')), shape: [B, C, H, W],
      features: f32('features.f32'), featureShape: [B, D, H, W], classifierWeight: f32('weight.f32'), classifierBias: f32('bias.f32') };
    const ms = []; let value;
    for (let it = 0; it <= ${iterations}; ++it) {
      const start = process.hrtime.bigint();
      value = s.computeLoss('conditional-boundary', input, { grad: true }).value;
      const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
      if (it > 0) ms.push(elapsed);
    }
    console.log(JSON.stringify({ ms, value }));`;
  const out = execFileSync(process.execPath, ['-e', script, inputs.dir], { env: { ...process.env, SEGLOSS_NUM_THREADS: String(threads) }, maxBuffer: 1 << 24 });
  return JSON.parse(out.toString());
}

function writeInputs(config, inputs) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segloss-cbl-'));
  const [B, C, H, W] = config.shape;
  fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({ B, C, D: config.D, H, W, ratio: 0.02, weights: [1, 0.2, 2] }));
  fs.writeFileSync(path.join(dir, 'logits.f32'), Buffer.from(inputs.logits.buffer));
  fs.writeFileSync(path.join(dir, 'features.f32'), Buffer.from(inputs.features.buffer));
  fs.writeFileSync(path.join(dir, 'weight.f32'), Buffer.from(inputs.weight.buffer));
  fs.writeFileSync(path.join(dir, 'bias.f32'), Buffer.from(inputs.bias.buffer));
  fs.writeFileSync(path.join(dir, 'labels.i32'), Buffer.from(inputs.labels.buffer));
  fs.writeFileSync(path.join(dir, 'labels.i64'), Buffer.from(BigInt64Array.from(inputs.labels, BigInt).buffer));
  return dir;
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  const python = path.join(root, '.venv', 'bin', 'python');
  const rows = [];
  const date = new Date().toISOString().slice(0, 10);
  const out = options.out ?? path.join(__dirname, 'results', `conditional-boundary-${date}.json`);
  // written after every row, so that a run cut short keeps what it measured
  const write = () => fs.writeFileSync(out, JSON.stringify({
    bench: 'conditional-boundary: segloss native (value + features and classifier gradients) vs PyTorch eager written as the released CBL code computes it',
    date: new Date().toISOString(), cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadAverage: os.loadavg(),
    note: 'the machine was shared with other jobs during the run (see loadAverage); ratios are from medians in one run',
    rows,
  }, null, 2) + '\n');
  for (const config of CONFIGS) {
    const inputs = makeInputs(config);
    inputs.dir = writeInputs(config, inputs);
    for (const threads of options.threads) {
      const ours = timeOurs(config, inputs, threads, options.iterations);
      const eagerIterations = Math.max(1, options.eagerIterations);
      const eager = JSON.parse(execFileSync(python, [path.join(__dirname, 'conditional_boundary_eager.py'), inputs.dir, String(threads), String(eagerIterations)], { maxBuffer: 1 << 24 }).toString());
      const row = {
        shape: config.shape, featureChannels: config.D, threads,
        oursMs: median(ours.ms), eagerMs: median(eager.ms), ratio: median(eager.ms) / median(ours.ms),
        oursValue: ours.value, eagerValue: eager.value, oursRuns: ours.ms, eagerRuns: eager.ms, torch: eager.torch,
      };
      rows.push(row);
      write();
      console.log(`conditional-boundary ${config.shape.join('x')} D=${config.D} threads=${threads}: ours ${row.oursMs.toFixed(1)} ms, ` +
        `eager ${row.eagerMs.toFixed(1)} ms → ${row.ratio.toFixed(1)}× (values ${ours.value.toPrecision(7)} / ${eager.value.toPrecision(7)})`);
    }
    fs.rmSync(inputs.dir, { recursive: true, force: true });
  }
  console.log(`wrote ${path.relative(root, out)}`);
}

main();
