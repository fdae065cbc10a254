#!/usr/bin/env node
'use strict';
// Training throughput (images/s) of segloss's native trainer against the same model and step
// written in PyTorch Python (bench/train_torch.py) with the venv's torch, on this machine in the
// same run (DESIGN.md, "Where the numbers come from"): UNet (base 64 and 32) and TransUNet (b16,
// ti16); SGD (momentum 0.9, weight decay 1e-4, poly), 0.5·Dice + 0.5·CE, random images and labels,
// float32 on the CPU by default, the same ATen thread count on both sides. Median over the measured
// steps, after warm-up steps, pooled over `rounds` runs of each side, the two sides alternating.
// On a GPU (`--device=cuda`), `--precision=bfloat16` is autocast to bfloat16 on both sides (the
// losses in float32) and `--channels-last` NHWC weights and inputs on both sides.
//
//   node bench/train.js [--models=unet64,unet32,transunet-b16,transunet-ti16] [--size=128]
//                       [--batch=4] [--warmup=2] [--steps=5] [--classes=9] [--rounds=2]
//                       [--device=cpu|cuda] [--precision=float32|bfloat16] [--channels-last]
//                       [--python=.venv/bin/python] [--out=FILE]
//
// Prints a Markdown table (ratio = segloss images/s ÷ PyTorch images/s of the pooled steps: above
// 1, segloss is faster; also the median of the rounds' own ratios, each round's two runs side by
// side, which the machine's drift between rounds moves less) and writes
// bench/results/train-<device>-<date>.json. Needs `npm run build:ts`, the torch addon and a Python
// with torch (with CUDA for --device=cuda).
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const { Trainer, torchInfo } = require(path.join(root, 'lib', 'index.js'));

function parseArgs(argv) {
  const options = {
    models: ['unet64', 'unet32', 'transunet-b16', 'transunet-ti16'],
    size: 128, batch: 4, warmup: 2, steps: 5, classes: 9, rounds: 2,
    device: 'cpu', precision: 'float32', channelsLast: false,
    python: path.join(root, '.venv', 'bin', 'python'), out: null,
  };
  for (const arg of argv) {
    const [key, value] = arg.replace(/^--/, '').split('=');
    if (key === 'models') options.models = value.split(',');
    else if (['size', 'batch', 'warmup', 'steps', 'classes', 'rounds'].includes(key)) options[key] = Number(value);
    else if (['python', 'out', 'device', 'precision'].includes(key)) options[key] = value;
    else if (key === 'channels-last') options.channelsLast = true;
    else throw new Error(`unknown argument ${arg} (see the comment at the top of bench/train.js)`);
  }
  if (!['cpu', 'cuda'].includes(options.device)) throw new Error('--device must be cpu or cuda');
  if (!['float32', 'bfloat16'].includes(options.precision)) throw new Error('--precision must be float32 or bfloat16');
  if (options.size % 16 !== 0) throw new Error('--size must be a multiple of 16 (TransUNet)');
  return options;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function modelOptions(name, size, classes) {
  if (name.startsWith('unet')) return { name: 'unet', inChannels: 1, numClasses: classes, baseChannels: Number(name.slice(4)) };
  return { name: 'transunet', inChannels: 1, numClasses: classes, imageSize: size, vitPreset: name.split('-')[1] };
}

// Random images in [0, 1) and labels in [0, K), xorshift-seeded.
function randomData(n, size, classes) {
  let state = 0x9e3779b9;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  const images = Float32Array.from({ length: n * size * size }, next);
  const masks = Uint8Array.from({ length: n * size * size }, () => Math.floor(next() * classes));
  return { images, masks, shape: [n, 1, size, size] };
}

async function seglossRates(name, o) {
  const trainer = await Trainer.create({
    model: modelOptions(name, o.size, o.classes), optimizer: { name: 'sgd', lr: 0.01 }, seed: 0,
    device: o.device, precision: o.precision, channelsLast: o.channelsLast,
  });
  const rates = [];
  try {
    await trainer.fit(randomData(o.batch * (o.warmup + o.steps), o.size, o.classes), {
      epochs: 1,
      batchSize: o.batch,
      onProgress: (e) => {
        if (e.type === 'step' && e.step >= o.warmup) rates.push(e.imagesPerSecond);
      },
    });
  } finally {
    trainer.dispose();
  }
  return rates;
}

function torchRates(name, o, threads) {
  const args = [path.join(__dirname, 'train_torch.py'), name, o.size, o.batch, o.warmup, o.steps, threads, o.classes,
    o.device, o.precision, o.channelsLast ? 1 : 0].map(String);
  const result = spawnSync(o.python, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`train_torch.py ${name} failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop()).imagesPerSecond;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const info = torchInfo();
  const rows = [];
  for (const name of o.models) {
    const torch = [];
    const segloss = [];
    const roundRatios = [];  // each round's medians side by side: the machine's drift between rounds cancels
    for (let round = 0; round < o.rounds; ++round) {
      const t = torchRates(name, o, info.threads);
      const s = await seglossRates(name, o);
      torch.push(...t);
      segloss.push(...s);
      roundRatios.push(median(s) / median(t));
    }
    const row = {
      model: name, size: o.size, batch: o.batch, threads: info.threads, device: o.device, precision: o.precision,
      channelsLast: o.channelsLast, seglossImagesPerSecond: median(segloss), torchImagesPerSecond: median(torch),
    };
    row.ratio = row.seglossImagesPerSecond / row.torchImagesPerSecond;
    row.pairedRatio = median(roundRatios);
    rows.push({ ...row, roundRatios, seglossRates: segloss, torchRates: torch });
    console.error(`${name}: segloss ${row.seglossImagesPerSecond.toFixed(2)} img/s, PyTorch ${row.torchImagesPerSecond.toFixed(2)} img/s`);
  }
  console.log(`| model | image | batch | device | precision | threads | segloss (img/s) | PyTorch eager (img/s) | ratio | median of the rounds' ratios |\n|---|---|---:|---|---|---:|---:|---:|---:|---:|`);
  for (const r of rows) {
    const precision = `${r.precision}${r.channelsLast ? ', channels-last' : ''}`;
    console.log(`| ${r.model} | ${r.size}×${r.size} | ${r.batch} | ${r.device} | ${precision} | ${r.threads} | ${r.seglossImagesPerSecond.toFixed(2)} | ${r.torchImagesPerSecond.toFixed(2)} | ${r.ratio.toFixed(2)} | ${r.pairedRatio.toFixed(2)} |`);
  }
  const out = o.out || path.join(__dirname, 'results', `train-${o.device}-${new Date().toISOString().slice(0, 10)}.json`);
  const record = { date: new Date().toISOString(), host: { cpus: os.cpus().length, model: os.cpus()[0]?.model }, torch: info.torchVersion, options: o, rows };
  fs.writeFileSync(out, JSON.stringify(record, null, 2) + '\n');
  console.error(`wrote ${path.relative(process.cwd(), out)}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
