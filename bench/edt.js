#!/usr/bin/env node
'use strict';
// Benchmark of the exact distance transform and HD95 against scipy in the same run (DESIGN.md,
// "Where the numbers come from"): segloss's distanceTransform / metrics.hausdorff95 (timed here)
// against scipy.ndimage.distance_transform_edt and medpy's hd95 algorithm re-run with scipy
// (binary_erosion, distance_transform_edt(sampling), np.percentile; timed inside python3), on the
// same masks, median of N after a warmup. segloss runs with all cores and with 1 thread
// (SEGLOSS_NUM_THREADS); scipy is single-threaded.
//
//   node bench/edt.js [--iterations=N] [--warmup=N] [--out=FILE] [--quick]
//
// Workloads: 32 maps of 512×512 (unions of random disks), one 128³ volume (union of random
// balls), and HD95 of a 100×512×512 volume pair (two overlapping ellipsoids that fill most of the
// volume, spacing [2.5, 0.75, 0.75]). The EDT rows are also timed writing into a reused `out` (the
// default call allocates its result, and fresh memory's page faults are a large part of the time
// on small VMs). Prints a Markdown table (ratio = scipy time / segloss time)
// and writes bench/results/edt-<date>.json with the CPU model. Needs `npm run build:ts`,
// `npm run build:core` and python3 with numpy + scipy (Debian: apt-get install python3-scipy;
// SEGLOSS_PYTHON=/usr/bin/python3 picks an interpreter).
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const { distanceTransform, metrics } = require(path.join(root, 'lib', 'index.js'));

function parseArgs(argv) {
  const options = { iterations: 5, warmup: 1, out: null, quick: false };
  for (const arg of argv) {
    const [key, value] = arg.replace(/^--/, '').split('=');
    if (key === 'iterations' || key === 'warmup') options[key] = Number(value);
    else if (key === 'out') options.out = value;
    else if (key === 'quick') options.quick = true;
    else throw new Error(`unknown argument ${arg} (see the comment at the top of bench/edt.js)`);
  }
  return options;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// xorshift32 in [0, 1)
function random(seed) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}

// Union of `count` random ellipsoids/disks inside [..extents] (non-zero = inside).
function blobs(extents, count, minRadius, maxRadius, next) {
  const n = extents.reduce((a, b) => a * b, 1);
  const mask = new Uint8Array(n);
  const dims = extents.length;
  const strides = extents.map((_, i) => extents.slice(i + 1).reduce((a, b) => a * b, 1));
  for (let k = 0; k < count; ++k) {
    const centre = extents.map((e) => next() * e);
    const radius = extents.map(() => minRadius + next() * (maxRadius - minRadius));
    const lo = centre.map((c, i) => Math.max(0, Math.floor(c - radius[i])));
    const hi = centre.map((c, i) => Math.min(extents[i] - 1, Math.ceil(c + radius[i])));
    const visit = (axis, offset, sum) => {
      if (axis === dims) {
        if (sum <= 1) mask[offset] = 1;
        return;
      }
      for (let x = lo[axis]; x <= hi[axis]; ++x) {
        const t = (x - centre[axis]) / radius[axis];
        if (sum + t * t <= 1) visit(axis + 1, offset + x * strides[axis], sum + t * t);
      }
    };
    visit(0, 0, 0);
  }
  return mask;
}

function ellipsoid(extents, centre, radius) {
  return blobsAt(extents, centre, radius);
}

function blobsAt(extents, centre, radius) {
  const [d, h, w] = extents;
  const mask = new Uint8Array(d * h * w);
  for (let z = 0; z < d; ++z) {
    for (let y = 0; y < h; ++y) {
      for (let x = 0; x < w; ++x) {
        const t = ((z - centre[0]) / radius[0]) ** 2 + ((y - centre[1]) / radius[1]) ** 2 + ((x - centre[2]) / radius[2]) ** 2;
        if (t <= 1) mask[(z * h + y) * w + x] = 1;
      }
    }
  }
  return mask;
}

const PYTHON = `
import json, sys, time
import numpy as np
import scipy
from scipy.ndimage import binary_erosion, distance_transform_edt, generate_binary_structure
spec = json.load(sys.stdin)

def timed(f, iterations, warmup):
    for _ in range(warmup): f()
    times = []
    for _ in range(iterations):
        t = time.perf_counter(); r = f(); times.append(time.perf_counter() - t)
    return float(np.median(times)), r

def surface_distances(result, reference, spacing):
    fp = generate_binary_structure(result.ndim, 1)
    rb = result ^ binary_erosion(result, structure=fp, iterations=1)
    tb = reference ^ binary_erosion(reference, structure=fp, iterations=1)
    return distance_transform_edt(~tb, sampling=spacing)[rb]

def hd95(a, b, spacing):
    return np.percentile(np.hstack((surface_distances(a, b, spacing), surface_distances(b, a, spacing))), 95)

out = {'scipy': scipy.__version__, 'numpy': np.__version__, 'results': []}
for w in spec['workloads']:
    if w['kind'] == 'edt':
        masks = np.fromfile(w['file'], dtype=np.uint8).reshape(w['shape']).astype(bool)
        f = (lambda: [distance_transform_edt(m) for m in masks]) if w['batched'] else (lambda: distance_transform_edt(masks))
        seconds, r = timed(f, spec['iterations'], spec['warmup'])
        r = np.stack(r) if w['batched'] else r
        out['results'].append({'seconds': seconds, 'checksum': float(np.sum(r * (np.arange(r.size) % 97 + 1).reshape(r.shape)))})
    else:
        a = np.fromfile(w['pred'], dtype=np.uint8).reshape(w['shape']).astype(bool)
        b = np.fromfile(w['target'], dtype=np.uint8).reshape(w['shape']).astype(bool)
        seconds, r = timed(lambda: hd95(a, b, w['spacing']), spec['iterations'], spec['warmup'])
        out['results'].append({'seconds': seconds, 'value': float(r)})
json.dump(out, sys.stdout)
`;

// Median wall time, and the mean CPU time of the process per run (CPU / wall > 1: threads ran in
// parallel; ≈ 1 with several threads: the other cores were busy).
function timeOurs(run, options) {
  for (let i = 0; i < options.warmup; ++i) run();
  const times = [];
  let result;
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < options.iterations; ++i) {
    const start = process.hrtime.bigint();
    result = run();
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  const cpu = process.cpuUsage(cpuStart);
  return { seconds: median(times), cpuSeconds: (cpu.user + cpu.system) / 1e6 / options.iterations, result };
}

function withThreads(threads, f) {
  const saved = process.env.SEGLOSS_NUM_THREADS;
  if (threads === 0) delete process.env.SEGLOSS_NUM_THREADS;
  else process.env.SEGLOSS_NUM_THREADS = String(threads);
  try {
    return f();
  } finally {
    if (saved === undefined) delete process.env.SEGLOSS_NUM_THREADS;
    else process.env.SEGLOSS_NUM_THREADS = saved;
  }
}

function checksum(d) {
  let s = 0;
  for (let i = 0; i < d.length; ++i) s += d[i] * ((i % 97) + 1);
  return s;
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  const loadBefore = os.loadavg();
  const next = random(0x5e9105);
  const scale = options.quick ? 0.25 : 1;
  const size = Math.round(512 * scale);
  const cube = Math.round(128 * scale);
  const depth = Math.round(100 * scale);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'segloss-edt-bench-'));
  const maps = 32;
  const batch = new Uint8Array(maps * size * size);
  for (let m = 0; m < maps; ++m) batch.set(blobs([size, size], 6, size / 20, size / 4, next), m * size * size);
  const volume = blobs([cube, cube, cube], 8, cube / 10, cube / 3, next);
  const vshape = [depth, size, size];
  const pred = ellipsoid(vshape, [depth * 0.5, size * 0.5, size * 0.52], [depth * 0.42, size * 0.4, size * 0.36]);
  const target = ellipsoid(vshape, [depth * 0.53, size * 0.48, size * 0.5], [depth * 0.4, size * 0.42, size * 0.38]);
  const spacing = [2.5, 0.75, 0.75];
  const files = { batch: path.join(tmp, 'batch.u8'), volume: path.join(tmp, 'volume.u8'), pred: path.join(tmp, 'pred.u8'), target: path.join(tmp, 'target.u8') };
  fs.writeFileSync(files.batch, batch);
  fs.writeFileSync(files.volume, volume);
  fs.writeFileSync(files.pred, pred);
  fs.writeFileSync(files.target, target);

  const workloads = [
    { name: `EDT ${maps}×${size}×${size}`, kind: 'edt', file: files.batch, shape: [maps, size, size], batched: true },
    { name: `EDT ${cube}³`, kind: 'edt', file: files.volume, shape: [cube, cube, cube], batched: false },
    { name: `HD95 ${depth}×${size}×${size} pair`, kind: 'hd95', pred: files.pred, target: files.target, shape: vshape, spacing },
  ];
  const py = spawnSync(process.env.SEGLOSS_PYTHON || 'python3', ['-c', PYTHON], {
    input: JSON.stringify({ workloads, iterations: options.iterations, warmup: options.warmup }),
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  fs.rmSync(tmp, { recursive: true, force: true });
  if (py.status !== 0) throw new Error(`python3 / scipy failed (install python3-scipy): ${py.stderr}`);
  const reference = JSON.parse(py.stdout);

  const runs = [
    () => distanceTransform(batch, [maps, size, size], { dims: 2 }),
    () => distanceTransform(volume, [cube, cube, cube]),
    () => metrics.hausdorff95(pred, target, vshape, { spacing }),
  ];
  // The EDT calls again with a reused output (no page faults of fresh memory), all cores.
  const batchOut = new Float64Array(batch.length), volumeOut = new Float64Array(volume.length);
  const reuseRuns = [
    () => distanceTransform(batch, [maps, size, size], { dims: 2, out: batchOut }),
    () => distanceTransform(volume, [cube, cube, cube], { out: volumeOut }),
    null,
  ];
  const rows = workloads.map((w, i) => {
    const all = withThreads(0, () => timeOurs(runs[i], options));
    const one = withThreads(1, () => timeOurs(runs[i], options));
    const reuse = reuseRuns[i] ? withThreads(0, () => timeOurs(reuseRuns[i], options)) : null;
    const ref = reference.results[i];
    const agrees = w.kind === 'edt' ? Math.abs(checksum(all.result) - ref.checksum) <= 1e-9 * Math.abs(ref.checksum) : Math.abs(all.result - ref.value) <= 1e-9 * ref.value;
    return {
      workload: w.name,
      scipySeconds: ref.seconds,
      seglossAllCoresSeconds: all.seconds,
      seglossAllCoresCpuPerWall: all.cpuSeconds / all.seconds,
      seglossOneThreadSeconds: one.seconds,
      ratioAllCores: ref.seconds / all.seconds,
      ratioOneThread: ref.seconds / one.seconds,
      seglossAllCoresReusedOutSeconds: reuse ? reuse.seconds : null,
      ratioAllCoresReusedOut: reuse ? ref.seconds / reuse.seconds : null,
      resultsAgree: agrees,
    };
  });

  const cpu = os.cpus()[0]?.model ?? 'unknown';
  console.log(`CPU: ${cpu} × ${os.cpus().length} logical cores; scipy ${reference.scipy}, numpy ${reference.numpy}, Node ${process.version}`);
  console.log(`median of ${options.iterations} after ${options.warmup} warmup; ratio = scipy time / segloss time`);
  console.log(`load average before / after: ${loadBefore.map((v) => v.toFixed(2)).join(' ')} / ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  console.log(`CPU / wall of the all-cores runs: ${rows.map((r) => r.seglossAllCoresCpuPerWall.toFixed(2)).join(', ')} (≈ 1: the other cores were busy)\n`);
  console.log('| workload | scipy (s) | segloss all cores (s) | ratio | segloss 1 thread (s) | ratio | all cores, `out` reused (s) | ratio | same result |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const reuse = r.seglossAllCoresReusedOutSeconds === null ? '– | –' : `${r.seglossAllCoresReusedOutSeconds.toFixed(4)} | ${r.ratioAllCoresReusedOut.toFixed(1)}×`;
    console.log(
      `| ${r.workload} | ${r.scipySeconds.toFixed(4)} | ${r.seglossAllCoresSeconds.toFixed(4)} | ${r.ratioAllCores.toFixed(1)}× | ` +
        `${r.seglossOneThreadSeconds.toFixed(4)} | ${r.ratioOneThread.toFixed(1)}× | ${reuse} | ${r.resultsAgree ? 'yes' : 'NO'} |`,
    );
  }
  const date = new Date().toISOString().slice(0, 10);
  const out = options.out ?? path.join(root, 'bench', 'results', `edt-${date}${options.quick ? '-quick' : ''}.json`);
  const record = {
    date: new Date().toISOString(),
    cpu,
    logicalCores: os.cpus().length,
    node: process.version,
    scipy: reference.scipy,
    numpy: reference.numpy,
    iterations: options.iterations,
    warmup: options.warmup,
    loadAverageBefore: loadBefore,
    loadAverageAfter: os.loadavg(),
    rows,
  };
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(record, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(root, out)}`);
  if (rows.some((r) => !r.resultsAgree)) process.exitCode = 1;
}

main();
