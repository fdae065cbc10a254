// The built-in fashion-seg dataset (datasets/fashion-seg/, src/datasets/fashion-seg.ts):
// scripts/build-fashion-seg.js rebuilds every packaged file bit for bit from the Debian package
// dataset-fashion-mnist (skipped, with the reason printed, when it is not installed; CI installs
// it), the reader returns what meta.json describes, and a damaged file is an error naming it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

import { afterAll, describe, expect, it } from 'vitest';

import { DATASET_ERROR, DatasetError, FASHION_SEG_DIR, loadFashionSeg } from '../src/datasets/index';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const builder = require('../scripts/build-fashion-seg.js') as { build(o: { sourceDir?: string; outDir: string }): unknown; DEBIAN_DIR: string };

const debianReady = fs.existsSync(path.join(builder.DEBIAN_DIR, 'train-images-idx3-ubyte.gz'));
if (!debianReady) console.warn(`test/fashion-seg.test.ts: rebuild skipped: ${builder.DEBIAN_DIR} is missing (apt-get install dataset-fashion-mnist)`);

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'segloss-fashion-seg-'));
afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

const packaged = fs.readdirSync(FASHION_SEG_DIR).filter((f) => f.endsWith('.gz') || f === 'meta.json');

describe('fashion-seg', () => {
  it.runIf(debianReady || process.env.CI)('scripts/build-fashion-seg.js rebuilds every packaged file bit for bit', { timeout: 120_000 }, () => {
    const out = path.join(folder, 'rebuilt');
    builder.build({ outDir: out });
    expect(fs.readdirSync(out).sort()).toEqual([...packaged].sort());
    for (const file of packaged) {
      const a = fs.readFileSync(path.join(FASHION_SEG_DIR, file));
      const b = fs.readFileSync(path.join(out, file));
      // The arrays themselves, then the gzip bytes (the same with this Node's zlib).
      if (file.endsWith('.gz')) expect(gunzipSync(b).equals(gunzipSync(a)), file).toBe(true);
      expect(b.equals(a), file).toBe(true);
    }
  });

  it('reads 4000 train and 500 test canvases of 64×64 with labels in [0, 11)', () => {
    const data = loadFashionSeg();
    expect(data.classNames).toEqual(['background', 'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
    expect(data.train.shape).toEqual([4000, 1, 64, 64]);
    expect(data.test.shape).toEqual([500, 1, 64, 64]);
    for (const split of [data.train, data.test]) {
      const counts = new Array<number>(11).fill(0);
      for (const label of split.masks) counts[label]++;
      expect(counts.reduce((a, b) => a + b, 0)).toBe(split.masks.length);
      // Every class occurs; the background is most of every split.
      expect(counts.every((c) => c > 0)).toBe(true);
      expect(counts[0] / split.masks.length).toBeGreaterThan(0.6);
      let max = 0;
      for (const v of split.images) max = Math.max(max, v);
      expect(max).toBe(1);
      // Background pixels are 0 in the image.
      let backgroundInk = 0;
      for (let i = 0; i < split.masks.length; i++) if (split.masks[i] === 0) backgroundInk += split.images[i];
      expect(backgroundInk).toBe(0);
    }
  });

  it('has small (≤ 22 px) and large (≥ 30 px) garments in both splits', () => {
    const meta = JSON.parse(fs.readFileSync(path.join(FASHION_SEG_DIR, 'meta.json'), 'utf8')) as {
      splits: Record<string, { smallGarments: number; largeGarments: number; garments: number; count: number }>;
    };
    for (const split of Object.values(meta.splits)) {
      expect(split.smallGarments + split.largeGarments).toBe(split.garments);
      expect(split.smallGarments / split.garments).toBeGreaterThan(0.3);
      expect(split.largeGarments / split.garments).toBeGreaterThan(0.3);
      expect(split.garments / split.count).toBeGreaterThan(1.5);
    }
  });

  it('a damaged or missing file is a DatasetError naming it', () => {
    const copy = path.join(folder, 'damaged');
    fs.cpSync(FASHION_SEG_DIR, copy, { recursive: true });
    const file = path.join(copy, 'test-masks.u8.gz');
    const bytes = gunzipSync(fs.readFileSync(file));
    bytes[100] ^= 1;
    fs.writeFileSync(file, gzipSync(bytes));
    expect(() => loadFashionSeg(copy)).toThrow(DatasetError);
    expect(() => loadFashionSeg(copy)).toThrow(new RegExp(`^${file}: SHA-256 [0-9a-f]{64} differs from meta.json's [0-9a-f]{64}$`));
    fs.writeFileSync(file, 'not gzip');
    expect(() => loadFashionSeg(copy)).toThrow(new RegExp(`^${file}: cannot be read as gzip`));
    fs.rmSync(path.join(copy, 'train-images.u8.gz'));
    try {
      loadFashionSeg(copy);
      expect.unreachable();
    } catch (error) {
      expect((error as DatasetError).code).toBe(DATASET_ERROR);
      expect((error as DatasetError).file).toBe(path.join(copy, 'train-images.u8.gz'));
    }
  });
});
