#!/usr/bin/env node
'use strict';
// Benchmark of the boundary-level losses on distance maps against the same losses computed the
// reference way in the same run (DESIGN.md, "Where the numbers come from"): per image and class
// scipy.ndimage.distance_transform_edt maps, then the formula in PyTorch eager with autograd
// (value + backward), as LIVIAETS SurfaceLoss, jmlipman RWLoss, SegLossOdyssey DisPenalizedCE (its own
// steps: transposes, LogSoftmax, indexing by range(N); also timed with PyTorch's fused cross-entropy) and
// MONAI HausdorffDTLoss, sunfan-bvb BoundaryDoULoss and wangchi95's ABL compute them, timed inside python3; segloss's computeLoss(…, { grad: true })
// timed here, with the target-map cache cleared before every call ("cold": the maps are computed
// every time, as the references do) and warm (the same target again: maps from the cache).
//
//   node bench/boundary.js [--iterations=N] [--warmup=N] [--out=FILE] [--quick] [--losses=a,b]
//
// Workloads: float32 logits 8×9×224² and 4×19×512² (--quick: 2×9×224² only), targets made of
// random Voronoi regions, logits leaning towards the target (so the thresholded prediction of
// Hausdorff-DT has regions too). Median of N after warmup. Prints a Markdown table
// (ratio = reference time / segloss time) and writes bench/results/boundary-<date>.json with the CPU
// model and thread counts. Needs `npm run build:ts`, `npm run build:core`, and a python3 with numpy,
// scipy and torch (SEGLOSS_PYTHON picks it; SEGLOSS_TORCH_SITE is appended to its sys.path, e.g. a
// venv's site-packages holding torch next to Debian's python3-scipy).
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const { computeLoss, cpuEngineInfo, lossNames } = require(path.join(root, 'lib', 'index.js'));
const { coreAddon } = require(path.join(root, 'lib', 'native', 'core.js'));
const { benchWorkload } = require(path.join(root, 'lib', 'cli', 'bench.js'));

const ALL_LOSSES = ['boundary', 'region-wise', 'distance-map-ce', 'hausdorff-dt', 'boundary-dou', 'active-boundary'];

function parseArgs(argv) {
  const options = { iterations: 3, warmup: 1, out: null, quick: false, losses: ALL_LOSSES.filter((id) => lossNames.includes(id)) };
  for (const arg of argv) {
    const [key, value] = arg.replace(/^--/, '').split('=');
    if (key === 'iterations' || key === 'warmup') options[key] = Number(value);
    else if (key === 'out') options.out = value;
    else if (key === 'quick') options.quick = true;
    else if (key === 'losses') options.losses = value.split(',');
    else throw new Error(`unknown argument ${arg} (see the comment at the top of bench/boundary.js)`);
  }
  return options;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// The workload of `segloss bench` (src/cli/bench.ts): each pixel takes the class of the nearest
// of 3·C random points of its image, logits = noise + 1.5 on that class.
const workload = (shape) => benchWorkload(shape, 'float32');

function timeSegloss(loss, input, options) {
  const grad = new Float32Array(input.logits.length);
  const run = (cold) => {
    if (cold) coreAddon().targetMapCacheInfo(true);
    const start = process.hrtime.bigint();
    computeLoss(loss, input, { grad: true, gradOut: grad });
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  for (let w = 0; w < options.warmup; ++w) run(true);
  const cold = Array.from({ length: options.iterations }, () => run(true));
  run(false);
  const warm = Array.from({ length: options.iterations }, () => run(false));
  return { cold: median(cold), warm: median(warm) };
}

// The reference way, in python: per-image / per-class scipy maps, then torch eager with autograd.
const PYTHON = String.raw`
import json, sys, time
for site in [p for p in sys.argv[2:] if p]:
    sys.path.append(site)
import numpy as np, torch
import torch.nn.functional as F
from scipy.ndimage import distance_transform_edt as edt
spec = json.loads(sys.argv[1])
B, C, H, W = spec['shape']
logits = torch.from_numpy(np.fromfile(spec['logits'], dtype=np.float32).reshape(B, C, H, W))
target = np.fromfile(spec['target'], dtype=np.uint8).reshape(B, H, W).astype(np.int64)

def boundary(z):  # LIVIAETS one_hot2dist per image and class + SurfaceLoss (idc = 1..C-1)
    seg = np.stack([target == k for k in range(C)], 1)
    dist = np.zeros(seg.shape, np.float32)
    for b in range(B):
        for k in range(C):
            pos = seg[b, k]
            if pos.any():
                neg = ~pos
                dist[b, k] = edt(neg) * neg - (edt(pos) - 1) * pos
    p = torch.softmax(z, 1)
    return (p[:, 1:] * torch.from_numpy(dist)[:, 1:]).mean()

def region_wise(z):  # jmlipman RWLoss
    y = np.stack([target == k for k in range(C)], 1).astype(np.float32)
    m = np.zeros_like(y)
    for b in range(B):
        for k in range(C):
            m[b, k] = edt(y[b, k])
            m[b, k] = -1 * (m[b, k] / np.max(m[b, k] + 1e-15))
    m[m == 0] = 1
    return torch.mean(torch.softmax(z, 1) * torch.from_numpy(m))

def penalty_maps():  # SegLossOdyssey compute_edts_forPenalizedLoss(target > 0.5), float64
    gt = target > 0.5
    res = np.zeros(gt.shape)
    for i in range(B):
        pos, neg = gt[i], ~gt[i]
        pe = edt(pos); pe = (np.max(pe) - pe) * pos
        ne = edt(neg); ne = (np.max(ne) - ne) * neg
        res[i] = pe / max(np.max(pe), 1e-12) + ne / max(np.max(ne), 1e-12)
    return res

def distance_map_ce(z):  # SegLossOdyssey DisPenalizedCE.forward's steps, returning the weighted mean
    with torch.no_grad():
        dist = torch.from_numpy(penalty_maps() + 1.0).view(-1)  # float64 on the CPU, as there
    inp = z
    for axis in range(1, z.dim() - 1):  # channels last, one transpose at a time
        inp = inp.transpose(axis, axis + 1)
    inp = inp.contiguous().view(-1, C)
    logs = torch.nn.LogSoftmax(dim=1)(inp)
    labels = torch.from_numpy(target).view(-1)
    loss = -logs[range(labels.shape[0]), labels]
    return (loss * dist).mean()

def distance_map_ce_fused_ce(z):  # the same maps, then PyTorch's fused cross-entropy kernel
    dist = torch.from_numpy(penalty_maps() + 1.0).float()
    ce = F.cross_entropy(z, torch.from_numpy(target), reduction='none')
    return (ce * dist).mean()

def field(img):  # MONAI HausdorffDTLoss.distance_field
    out = np.zeros(img.shape, np.float32)
    for b in range(img.shape[0]):
        fg = img[b] > 0.5
        if fg.any() and not fg.all():
            out[b] = edt(fg) + edt(~fg)
    return out

def hausdorff_dt(z):  # MONAI HausdorffDTLoss(include_background=False), alpha 2
    p = torch.softmax(z, 1)
    g = torch.from_numpy(np.stack([target == k for k in range(C)], 1).astype(np.float32))
    terms = []
    for c in range(1, C):
        pc, gc = p[:, [c]], g[:, [c]]
        d = torch.from_numpy(field(pc.detach().numpy())) ** 2 + torch.from_numpy(field(gc.numpy())) ** 2
        terms.append(((pc - gc) ** 2 * d).mean(dim=[2, 3], keepdim=True))
    return torch.cat(terms, 1).mean()

def boundary_dou(z):  # sunfan-bvb BoundaryDoULoss (per class, batch-pooled), on the CPU
    p = torch.softmax(z, 1)
    kernel = torch.tensor([[0., 1., 0.], [1., 1., 1.], [0., 1., 0.]])[None, None]
    loss = 0.0
    for c in range(C):
        t = torch.from_numpy((target == c).astype(np.float32))
        Y = torch.zeros_like(t)
        for i in range(B):
            Y[i] = F.conv2d(t[i][None, None], kernel, padding=1)[0, 0]
        Y = Y * t
        Y[Y == 5] = 0
        Cb, S = torch.count_nonzero(Y), torch.count_nonzero(t)
        alpha = min(2 * (1 - (Cb + 1e-5) / (S + 1e-5)) - 1, 0.8)
        s = p[:, c]
        inter, ys, zs = (s * t).sum(), (t * t).sum(), (s * s).sum()
        loss = loss + (zs + ys - 2 * inter + 1e-5) / (zs + ys - (1 + alpha) * inter + 1e-5)
    return loss / C

def kl_div(a, b):  # ABL's kl_div(q, p)
    return F.softmax(b, dim=1) * (F.log_softmax(b, dim=1) - F.log_softmax(a, dim=1))

def active_boundary(z):  # wangchi95 ABL (isdetach, max_N_ratio 1/100, label smoothing 0.2, clip 20, ignore 255)
    t = torch.from_numpy(target)
    ud = F.pad(t[:, 1:, :] - t[:, :-1, :], [0, 0, 0, 1]) != 0
    lr = F.pad(t[:, :, 1:] - t[:, :, :-1], [0, 1, 0, 0]) != 0
    on_boundary = (ud | lr | (t == 255)).numpy()
    dist = np.zeros((B, H, W), np.int32)  # one_hot2dist of (boundary == 0) in int32, as its transform
    for b in range(B):
        pos = ~on_boundary[b]
        if pos.any():
            neg = ~pos
            dist[b] = edt(neg) * neg - (edt(pos) - 1) * pos
    dist = torch.from_numpy(-dist.astype(np.float32)).clamp(min=0)
    # logits2boundary: neighbour KL, the threshold raised until at most max_N pixels pass, 3x3 dilation
    kl_ud = F.pad(kl_div(z[:, :, 1:, :], z[:, :, :-1, :]).sum(1, keepdim=True), [0, 0, 0, 1])
    kl_lr = F.pad(kl_div(z[:, :, :, 1:], z[:, :, :, :-1]).sum(1, keepdim=True), [0, 1, 0, 0])
    kl = kl_ud + kl_lr
    eps, max_n = 1e-5, H * W / 100
    while True:
        kl_bin = (kl > eps).float()
        if kl_bin.sum() > max_n:
            eps *= 1.2
        else:
            break
    pred_boundary = F.conv2d(kl_bin, torch.ones(1, 1, 3, 3), padding=1).squeeze(1) > 0
    if pred_boundary.sum() < 1:
        return None
    # get_direction_gt_predkl
    n, x, y = torch.nonzero(pred_boundary * 1).T
    zl = z.permute(0, 2, 3, 1)
    dist_d = F.pad(dist, (1, 1, 1, 1), value=1e5)
    z_d = F.pad(zl, (0, 0, 1, 1, 1, 1))
    z_d[:, 0] = z_d[:, 1]; z_d[:, -1] = z_d[:, -2]; z_d[:, :, 0] = z_d[:, :, 1]; z_d[:, :, -1] = z_d[:, :, -2]
    centre = zl[(n, x, y)]
    dists, kls = [], []
    for dx, dy in zip([1, -1, 0, 0, -1, 1, -1, 1, 0], [0, 0, -1, 1, 1, 1, -1, -1, 0]):
        dists.append(dist_d[(n, x + dx + 1, y + dy + 1)])
        if dx != 0 or dy != 0:
            kls.append(kl_div(centre, z_d[(n, x + dx + 1, y + dy + 1)].detach()).sum(1))
    direction = torch.argmin(torch.stack(dists), 0)
    keep = direction != 8
    pred = torch.stack(kls).T[keep]
    weight = dist[(n, x, y)][keep]
    label = direction[keep]
    smooth = torch.full_like(pred, 0.2 / 8).scatter_(1, label[:, None], 0.8)  # LabelSmoothSoftmaxCEV1
    loss = -(F.log_softmax(pred, 1) * smooth).sum(1)
    return (loss * weight.clamp(max=20.0) / 20.0).mean()

fn = {'active-boundary': active_boundary, 'boundary': boundary, 'region-wise': region_wise, 'distance-map-ce': distance_map_ce,
      'distance-map-ce/fused-ce': distance_map_ce_fused_ce,
      'hausdorff-dt': hausdorff_dt, 'boundary-dou': boundary_dou}[spec['loss']]
times = []
for k in range(spec['warmup'] + spec['iterations']):
    z = logits.clone().requires_grad_(True)
    start = time.perf_counter()
    value = fn(z)
    value.backward()
    elapsed = (time.perf_counter() - start) * 1e3
    if k >= spec['warmup']:
        times.append(elapsed)
print(json.dumps({'ms': sorted(times)[len(times) // 2], 'value': float(value), 'threads': torch.get_num_threads()}))
`;

function timeReference(loss, shape, input, options) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segloss-bench-'));
  const logits = path.join(dir, 'logits.f32');
  const target = path.join(dir, 'target.u8');
  fs.writeFileSync(logits, Buffer.from(input.logits.buffer));
  fs.writeFileSync(target, Buffer.from(input.target.buffer));
  const spec = JSON.stringify({ loss, shape, logits, target, warmup: options.warmup, iterations: options.iterations });
  const python = process.env.SEGLOSS_PYTHON || 'python3';
  const py = spawnSync(python, ['-c', PYTHON, spec, process.env.SEGLOSS_TORCH_SITE || ''], { encoding: 'utf8', maxBuffer: 1 << 24 });
  fs.rmSync(dir, { recursive: true, force: true });
  if (py.status !== 0) throw new Error(`${python} (numpy, scipy, torch) failed: ${py.stderr}`);
  return JSON.parse(py.stdout.trim().split('\n').pop());
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  const shapes = options.quick ? [[2, 9, 224, 224]] : [[8, 9, 224, 224], [4, 19, 512, 512]];
  const rows = [];
  for (const shape of shapes) {
    const input = { ...workload(shape, 7), shape };
    for (const loss of options.losses) {
      const ours = timeSegloss(loss, input, options);
      const reference = timeReference(loss, shape, input, options);
      const value = computeLoss(loss, input).value;
      rows.push({ loss, shape, seglossColdMs: ours.cold, seglossWarmMs: ours.warm, referenceMs: reference.ms,
        ratioCold: reference.ms / ours.cold, ratioWarm: reference.ms / ours.warm,
        seglossValue: value, referenceValue: reference.value, referenceTorchThreads: reference.threads });
      const r = rows[rows.length - 1];
      if (loss === 'distance-map-ce') {
        // The released code's CE (transposes, LogSoftmax, indexing by range(N)) is slower than
        // PyTorch's fused cross-entropy: the ratio against that faster eager form too.
        const fused = timeReference('distance-map-ce/fused-ce', shape, input, options);
        Object.assign(r, { fusedCeReferenceMs: fused.ms, fusedCeRatioCold: fused.ms / ours.cold, fusedCeReferenceValue: fused.value });
      }
      const alternative = r.fusedCeReferenceMs ? ` (with PyTorch's fused CE: ${r.fusedCeReferenceMs.toFixed(1)} ms, ${r.fusedCeRatioCold.toFixed(1)}× cold)` : '';
      console.error(`${loss} ${shape.join('×')}: segloss ${r.seglossColdMs.toFixed(1)} ms cold, ${r.seglossWarmMs.toFixed(1)} ms warm; reference ${r.referenceMs.toFixed(1)} ms${alternative}`);
    }
  }
  console.log('| loss | shape | segloss cold (ms) | segloss warm (ms) | reference (ms) | ratio cold | ratio warm |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.loss} | ${r.shape.join('×')} | ${r.seglossColdMs.toFixed(1)} | ${r.seglossWarmMs.toFixed(1)} | ${r.referenceMs.toFixed(1)} | ${r.ratioCold.toFixed(1)}× | ${r.ratioWarm.toFixed(1)}× |`);
  }
  const date = new Date().toISOString().slice(0, 10);
  const out = options.out || path.join(root, 'bench', 'results', `boundary-${date}.json`);
  fs.writeFileSync(out, `${JSON.stringify({
    date, cpu: os.cpus()[0]?.model, cores: os.cpus().length, engine: cpuEngineInfo(),
    iterations: options.iterations, warmup: options.warmup,
    note: 'reference = scipy maps per image and class + the formula in torch eager with autograd (value + backward), timed in python3',
    rows,
  }, null, 1)}\n`);
  console.error(`wrote ${out}`);
}

main();
