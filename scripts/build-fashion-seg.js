#!/usr/bin/env node
'use strict';
// Builds the `fashion-seg` data set (datasets/fashion-seg/) from the Fashion-MNIST files of the
// Debian package `dataset-fashion-mnist` (/usr/share/datasets/fashion-mnist/*.gz), bit for bit:
//
//   apt-get install dataset-fashion-mnist
//   node scripts/build-fashion-seg.js [--source DIR] [--out DIR]
//
// Each canvas is 64×64, uint8, background 0, holding 1–4 garments that do not touch, each resized
// (PIL-style antialiased bilinear) to a side of 14–22 px (small) or 30–46 px (large), chosen with
// probability ½ each (a garment that finds no free place in PLACEMENT_TRIES draws is left out); a garment's pixels are those above GARMENT_THRESHOLD in the resized image,
// with the holes inside filled, labelled with its Fashion-MNIST class + 1 (0 is background).
// Train canvases use garments of Fashion-MNIST's train set only, test canvases those of its test
// (t10k) set, each garment at most once. Every random draw comes from one seeded mulberry32
// stream per split, and the arithmetic is IEEE (+, −, ×, ÷, rounding), so the output is the same
// on every machine. The arrays are written gzip-compressed (level 9, no timestamp) with their
// SHA-256 in meta.json; test/fashion-seg.test.ts rebuilds them and compares.
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const FORMAT = 'segloss-fashion-seg/1';
const CANVAS = 64;
const MAX_GARMENTS = 4;
const SMALL = [14, 22];
const LARGE = [30, 46];
const GARMENT_THRESHOLD = 20;
const PLACEMENT_TRIES = 40;
const SPLITS = [
  { name: 'train', source: 'train', canvases: 4000, seed: 0x5e6105 },
  { name: 'test', source: 't10k', canvases: 500, seed: 0x7e57 },
];
const CLASS_NAMES = [
  'background', 'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
  'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];
const DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';

// mulberry32: a 32-bit generator with exact integer arithmetic.
function mulberry32(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)) };
}

function readIdx(file, magic) {
  const bytes = zlib.gunzipSync(fs.readFileSync(file));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== magic) throw new Error(`${file}: not an IDX file with magic 0x${magic.toString(16)}`);
  const dims = (magic & 0xff);
  const shape = Array.from({ length: dims }, (_, i) => view.getUint32(4 + 4 * i));
  return { shape, data: bytes.subarray(4 + 4 * dims) };
}

function readFashionMnist(dir, prefix) {
  const images = readIdx(path.join(dir, `${prefix}-images-idx3-ubyte.gz`), 0x00000803);
  const labels = readIdx(path.join(dir, `${prefix}-labels-idx1-ubyte.gz`), 0x00000801);
  if (images.shape[0] !== labels.shape[0] || images.shape[1] !== 28 || images.shape[2] !== 28) {
    throw new Error(`${dir}/${prefix}: unexpected shapes ${images.shape} / ${labels.shape}`);
  }
  return { count: images.shape[0], images: images.data, labels: labels.data };
}

// Weights of PIL's antialiased bilinear filter from `inSize` to `outSize` samples.
function resampleWeights(inSize, outSize) {
  const scale = inSize / outSize;
  const support = Math.max(scale, 1);
  const rows = [];
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(0, Math.floor(center - support));
    const hi = Math.min(inSize - 1, Math.ceil(center + support));
    const taps = [];
    let sum = 0;
    for (let j = lo; j <= hi; j++) {
      const w = Math.max(0, 1 - Math.abs((j + 0.5 - center) / support));
      if (w > 0) {
        taps.push([j, w]);
        sum += w;
      }
    }
    rows.push(taps.map(([j, w]) => [j, w / sum]));
  }
  return rows;
}

// A 28×28 garment resized to size×size, rounded to uint8.
function resizeGarment(pixels, size) {
  const weights = resampleWeights(28, size);
  const horizontal = new Float64Array(28 * size);
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < size; x++) {
      let v = 0;
      for (const [j, w] of weights[x]) v += w * pixels[y * 28 + j];
      horizontal[y * size + x] = v;
    }
  }
  const out = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let v = 0;
      for (const [j, w] of weights[y]) v += w * horizontal[j * size + x];
      out[y * size + x] = Math.min(255, Math.max(0, Math.round(v)));
    }
  }
  return out;
}

// Pixels above the threshold, with the holes (background not 4-connected to the border) filled.
function garmentMask(resized, size) {
  const inside = new Uint8Array(size * size);
  for (let i = 0; i < inside.length; i++) inside[i] = resized[i] > GARMENT_THRESHOLD ? 1 : 0;
  const outside = new Uint8Array(size * size);
  const stack = [];
  for (let i = 0; i < size; i++) stack.push(i, (size - 1) * size + i, i * size, i * size + size - 1);
  while (stack.length) {
    const p = stack.pop();
    if (inside[p] || outside[p]) continue;
    outside[p] = 1;
    const y = Math.floor(p / size);
    const x = p - y * size;
    if (x > 0) stack.push(p - 1);
    if (x < size - 1) stack.push(p + 1);
    if (y > 0) stack.push(p - size);
    if (y < size - 1) stack.push(p + size);
  }
  for (let i = 0; i < inside.length; i++) inside[i] = outside[i] ? 0 : 1;
  return inside;
}

// Whether the mask at (x0, y0) keeps one pixel of background from every garment placed.
function fits(occupied, mask, size, x0, y0) {
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (!mask[y * size + x]) continue;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const cy = y0 + y + dy;
          const cx = x0 + x + dx;
          if (cy >= 0 && cy < CANVAS && cx >= 0 && cx < CANVAS && occupied[cy * CANVAS + cx]) return false;
        }
      }
    }
  }
  return true;
}

function composeSplit(source, split) {
  const rng = mulberry32(split.seed);
  const order = Uint32Array.from({ length: source.count }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const pixels = CANVAS * CANVAS;
  const images = new Uint8Array(split.canvases * pixels);
  const masks = new Uint8Array(split.canvases * pixels);
  const garments = [];
  let next = 0;
  for (let n = 0; n < split.canvases; n++) {
    const image = images.subarray(n * pixels, (n + 1) * pixels);
    const labels = masks.subarray(n * pixels, (n + 1) * pixels);
    const wanted = rng.int(1, MAX_GARMENTS);
    for (let g = 0; g < wanted; g++) {
      const index = order[next++];
      const garment = source.images.subarray(index * 784, (index + 1) * 784);
      const [lo, hi] = rng.next() < 0.5 ? SMALL : LARGE;
      for (let attempt = 0; attempt < PLACEMENT_TRIES; attempt++) {
        const size = rng.int(lo, hi);
        const x0 = rng.int(0, CANVAS - size);
        const y0 = rng.int(0, CANVAS - size);
        const resized = resizeGarment(garment, size);
        const mask = garmentMask(resized, size);
        if (!fits(labels, mask, size, x0, y0)) continue;
        const label = source.labels[index] + 1;
        for (let y = 0; y < size; y++) {
          for (let x = 0; x < size; x++) {
            const at = (y0 + y) * CANVAS + x0 + x;
            if (mask[y * size + x]) {
              image[at] = resized[y * size + x];
              labels[at] = label;
            }
          }
        }
        garments.push(size);
        break;
      }
    }
  }
  const small = garments.filter((s) => s <= SMALL[1]).length;
  return { images, masks, garments: garments.length, small, large: garments.length - small };
}

function sha256(bytes) {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

function writeArray(outDir, name, bytes) {
  const gz = zlib.gzipSync(bytes, { level: 9 });
  fs.writeFileSync(path.join(outDir, name), gz);
  return { file: name, sha256: sha256(bytes), gzipSha256: sha256(gz) };
}

function build({ sourceDir = DEBIAN_DIR, outDir }) {
  fs.mkdirSync(outDir, { recursive: true });
  const sources = {};
  for (const file of fs.readdirSync(sourceDir).filter((f) => f.endsWith('-ubyte.gz')).sort()) {
    sources[file] = sha256(fs.readFileSync(path.join(sourceDir, file)));
  }
  const splits = {};
  for (const split of SPLITS) {
    const source = readFashionMnist(sourceDir, split.source);
    const built = composeSplit(source, split);
    splits[split.name] = {
      count: split.canvases,
      source: split.source,
      seed: split.seed,
      garments: built.garments,
      smallGarments: built.small,
      largeGarments: built.large,
      images: writeArray(outDir, `${split.name}-images.u8.gz`, built.images),
      masks: writeArray(outDir, `${split.name}-masks.u8.gz`, built.masks),
    };
  }
  const meta = {
    format: FORMAT,
    shape: [CANVAS, CANVAS],
    classNames: CLASS_NAMES,
    layout: 'uint8 [count, 64, 64], row-major, gzip; masks: 0 background, Fashion-MNIST class + 1',
    generator: {
      script: 'scripts/build-fashion-seg.js',
      maxGarments: MAX_GARMENTS,
      smallSide: SMALL,
      largeSide: LARGE,
      threshold: GARMENT_THRESHOLD,
      placementTries: PLACEMENT_TRIES,
    },
    source: { debianPackage: 'dataset-fashion-mnist 0.0~git20200523.55506a9-1', files: sources },
    splits,
  };
  fs.writeFileSync(path.join(outDir, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
  return meta;
}

function parseArgs(argv) {
  const options = { outDir: path.join(__dirname, '..', 'datasets', 'fashion-seg') };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--source') options.sourceDir = argv[++i];
    else if (argv[i] === '--out') options.outDir = argv[++i];
    else throw new Error(`build-fashion-seg: unknown argument '${argv[i]}' (options: --source DIR, --out DIR)`);
  }
  return options;
}

if (require.main === module) {
  const options = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(options.sourceDir ?? DEBIAN_DIR)) {
    process.stderr.write(`build-fashion-seg: ${options.sourceDir ?? DEBIAN_DIR} is missing: apt-get install dataset-fashion-mnist\n`);
    process.exit(1);
  }
  const meta = build(options);
  for (const [name, split] of Object.entries(meta.splits)) {
    process.stdout.write(`${name}: ${split.count} canvases, ${split.garments} garments (${split.smallGarments} small, ${split.largeGarments} large)\n`);
  }
}

module.exports = { build, FORMAT, CLASS_NAMES, DEBIAN_DIR };
