// The native models (native/torch/models): parameter counts of the published configurations, the
// forward pass on odd sizes, and state-dict interop with the PyTorch module of python/unet.py
// (a state dict saved by Python gives the same logits here; ours give the same logits there).
//
// Skipped when the torch addon is not built (a failure under SEGLOSS_REQUIRE_TORCH=1); the Python
// checks need the venv's torch.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { Trainer } from '../src/trainer/index';
import { rng } from './helpers/numeric';
import { shapesData } from './helpers/shapes';
import { interop, python, readF32, tempFolder, torchReady, torchRequired, torchSkipReason, writeF32 } from './helpers/trainer';

const skipReason = torchSkipReason();
if (!torchReady && !torchRequired) console.warn(`test/models.test.ts skipped: ${skipReason}`);

describe('models availability', () => {
  it.runIf(torchRequired)('the torch addon loads (SEGLOSS_REQUIRE_TORCH=1)', () => {
    expect(skipReason).toBe('');
  });
});

const folder = tempFolder('segloss-models-');
afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

function randomImages(n: number, c: number, h: number, w: number, seed: number): Float32Array {
  const random = rng(seed);
  return Float32Array.from({ length: n * c * h * w }, () => random() * 2 - 1);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; ++i) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe.skipIf(!torchReady)('UNet', () => {
  it.each([
    [{ inChannels: 1, numClasses: 9, baseChannels: 64 }, 31_037_001],
    [{ inChannels: 1, numClasses: 9, baseChannels: 64, bilinear: true }, 17_262_345],
    [{ inChannels: 1, numClasses: 9, baseChannels: 32 }, 7_762_729],
    [{ inChannels: 3, numClasses: 19, baseChannels: 16 }, 1_942_883],
  ])('%j has %i parameters (as the PyTorch module)', async (model, count) => {
    const trainer = await Trainer.create({ model: { name: 'unet', ...model } });
    expect(trainer.parameterCount).toBe(count);
    trainer.dispose();
  });

  it('predicts [N, H, W] for odd sizes (the up path pads to each skip) and Uint16Array above 256 classes', async () => {
    const trainer = await Trainer.create({ model: { name: 'unet', inChannels: 2, numClasses: 3, baseChannels: 4 } });
    const images = randomImages(2, 2, 33, 47, 1);
    const classes = await trainer.predict(images, [2, 2, 33, 47]);
    expect(classes).toBeInstanceOf(Uint8Array);
    expect(classes).toHaveLength(2 * 33 * 47);
    expect(Math.max(...classes)).toBeLessThan(3);
    expect(await trainer.predictLogits(images, [2, 2, 33, 47])).toHaveLength(2 * 3 * 33 * 47);
    trainer.dispose();
    const wide = await Trainer.create({ model: { name: 'unet', numClasses: 300, baseChannels: 2 } });
    expect(await wide.predict(randomImages(1, 1, 16, 16, 2), [1, 1, 16, 16])).toBeInstanceOf(Uint16Array);
    wide.dispose();
  });

  it.skipIf(!python)('a state dict saved by PyTorch loads by key and gives the same logits (eval mode)', async () => {
    const [n, h, w] = [2, 40, 36];
    const images = randomImages(n, 1, h, w, 3);
    const imagesFile = path.join(folder, 'images.f32');
    const logitsFile = path.join(folder, 'python-logits.f32');
    const stateFile = path.join(folder, 'python-state.pt');
    writeF32(imagesFile, images);
    const made = interop<{ shape: number[]; parameters: number }>('make', stateFile, 1, 3, 8, 0, imagesFile, n, h, w, logitsFile);
    expect(made).toEqual({ shape: [n, 3, h, w], parameters: 486_427 });
    const trainer = await Trainer.create({ model: { name: 'unet', inChannels: 1, numClasses: 3, baseChannels: 8 }, seed: 5 });
    const before = await trainer.predictLogits(images, [n, 1, h, w]);
    await trainer.loadStateDict(stateFile);
    const ours = await trainer.predictLogits(images, [n, 1, h, w]);
    const theirs = readF32(logitsFile);
    expect(maxAbsDiff(before, theirs)).toBeGreaterThan(1e-2);
    expect(maxAbsDiff(ours, theirs)).toBeLessThan(1e-4);
    trainer.dispose();
  });

  it.skipIf(!python)('our trained weights give the same logits in the PyTorch module', async () => {
    const data = shapesData(8, 32, 4);
    const trainer = await Trainer.create({ model: { name: 'unet', inChannels: 1, numClasses: 3, baseChannels: 4 }, seed: 2 });
    await trainer.fit(data, { epochs: 1, batchSize: 4 });
    const checkpoint = path.join(folder, 'trained.pt');
    await trainer.save(checkpoint);
    const imagesFile = path.join(folder, 'trained-images.f32');
    const logitsFile = path.join(folder, 'trained-logits.f32');
    writeF32(imagesFile, data.images);
    expect(interop('logits', checkpoint, imagesFile, 8, 1, 32, 32, logitsFile)).toEqual({ shape: [8, 3, 32, 32] });
    const ours = await trainer.predictLogits(data.images, data.shape);
    expect(maxAbsDiff(ours, readF32(logitsFile))).toBeLessThan(1e-4);
    trainer.dispose();
  });

  it.skipIf(!python)('a collections.OrderedDict (torch.save(model.state_dict())) is refused with what to do instead', async () => {
    const file = path.join(folder, 'ordered.pt');
    interop('ordered', file, 1, 3, 4);
    const trainer = await Trainer.create({ model: { name: 'unet', numClasses: 3, baseChannels: 4 } });
    await expect(trainer.loadStateDict(file)).rejects.toThrow(
      'holds a collections.OrderedDict, which libtorch cannot read: save a plain dict instead, torch.save(dict(model.state_dict()), path)',
    );
    trainer.dispose();
  });

  it('a state dict with a missing or mis-shaped key is refused, naming the key', async () => {
    const small = await Trainer.create({ model: { name: 'unet', numClasses: 3, baseChannels: 4 } });
    const file = path.join(folder, 'small.pt');
    await small.save(file);
    small.dispose();
    const other = await Trainer.create({ model: { name: 'unet', numClasses: 3, baseChannels: 8 } });
    await expect(other.loadStateDict(file)).rejects.toThrow(
      "state dict entry 'inc.double_conv.0.weight' has shape [4, 1, 3, 3], the model expects [8, 1, 3, 3]",
    );
    other.dispose();
    const bilinear = await Trainer.create({ model: { name: 'unet', numClasses: 3, baseChannels: 4, bilinear: true } });
    await expect(bilinear.loadStateDict(file)).rejects.toThrow(/state dict (entry|has unexpected key|lacks) '/);
    bilinear.dispose();
  });
});

describe.skipIf(!torchReady)('TransUNet', () => {
  const tiny = { name: 'transunet', numClasses: 3, imageSize: 32, layers: 2, hidden: 64, heads: 4, mlp: 128 } as const;

  it.each([
    [{ numClasses: 9, imageSize: 224 }, 105_277_081],
    [{ numClasses: 9, imageSize: 224, vitPreset: 's16' }, 39_277_081],
    [{ numClasses: 9, imageSize: 224, vitPreset: 'ti16' }, 22_202_329],
    [{ numClasses: 9, imageSize: 512 }, 105_912_985],
    [{ numClasses: 3, imageSize: 32, layers: 2, hidden: 64, heads: 4, mlp: 128 }, 16_171_379],
  ] as const)('%j has %i parameters (as the PyTorch reference module)', async (model, count) => {
    const trainer = await Trainer.create({ model: { name: 'transunet', ...model } });
    expect(trainer.parameterCount).toBe(count);
    trainer.dispose();
  });

  it.each([224, 512])('R50-ViT-B/16 maps [1, 1, S, S] images to [1, 9, S, S] logits at S = %i', async (size) => {
    const trainer = await Trainer.create({ model: { name: 'transunet', numClasses: 9, imageSize: size } });
    const logits = await trainer.predictLogits(randomImages(1, 1, size, size, 4), [1, 1, size, size]);
    expect(logits).toHaveLength(9 * size * size);
    expect(logits.every(Number.isFinite)).toBe(true);
    trainer.dispose();
  }, 60_000);

  it('trains at imageSize only; evaluate and predict resize other slice sizes to it and back (as TransUNet\'s test)', async () => {
    const trainer = await Trainer.create({ model: tiny, seed: 4 });
    const big = shapesData(2, 48, 9);
    await expect(trainer.fit(big, { epochs: 1 })).rejects.toThrow("Expected the model's imageSize 32 for data.shape[2] (H) but received 48");
    const classes = await trainer.predict(big.images, big.shape);
    expect(classes).toHaveLength(2 * 48 * 48);
    expect(await trainer.predictLogits(big.images, big.shape)).toHaveLength(2 * 3 * 48 * 48);
    const r = await trainer.evaluate(big, { cases: [2] });
    expect([r.images, r.cases]).toEqual([2, 1]);
    expect(Number.isFinite(r.loss)).toBe(true);
    trainer.dispose();
  });

  it('a tiny TransUNet (2 layers, hidden 64) makes progress on discs and squares: held-out foreground DSC ≥ 0.7', async () => {
    const train = shapesData(96, 32, 1);
    const test = shapesData(32, 32, 2);
    const trainer = await Trainer.create({ model: tiny, optimizer: { name: 'sgd', lr: 0.05 }, seed: 0 });
    await trainer.fit(train, { epochs: 8, batchSize: 8 });
    const r = await trainer.evaluate(test);
    expect((r.perClassDice[1] + r.perClassDice[2]) / 2).toBeGreaterThanOrEqual(0.7);
    trainer.dispose();
  }, 240_000);

  it('dropout draws from the seeded generator: the same seed trains to the same losses', async () => {
    const data = shapesData(8, 32, 5);
    const losses = async () => {
      const trainer = await Trainer.create({ model: { ...tiny, dropout: 0.5 }, seed: 3 });
      const seen: number[] = [];
      await trainer.fit(data, { epochs: 1, batchSize: 4, onProgress: (e) => e.type === 'step' && seen.push(e.loss) });
      trainer.dispose();
      return seen;
    };
    const first = await losses();
    expect(first).toHaveLength(2);
    expect(await losses()).toEqual(first);
  }, 60_000);

  it.skipIf(!python)('its state dict is the PyTorch reference module’s (same keys, same logits)', async () => {
    const trainer = await Trainer.create({ model: tiny, seed: 1 });
    await trainer.fit(shapesData(4, 32, 6), { epochs: 1, batchSize: 2 });
    const checkpoint = path.join(folder, 'transunet.pt');
    await trainer.save(checkpoint);
    const images = randomImages(2, 1, 32, 32, 7);
    const imagesFile = path.join(folder, 'tu-images.f32');
    const logitsFile = path.join(folder, 'tu-logits.f32');
    writeF32(imagesFile, images);
    expect(interop('transunet-logits', checkpoint, imagesFile, 2, logitsFile)).toEqual({ shape: [2, 3, 32, 32], strict: true });
    expect(maxAbsDiff(await trainer.predictLogits(images, [2, 1, 32, 32]), readF32(logitsFile))).toBeLessThan(1e-4);
    trainer.dispose();
  }, 60_000);

  it.skipIf(!python)('loadViTWeights reads the published npz layout as the reference load_from does (position grid resized 3² → 2²)', async () => {
    const trainer = await Trainer.create({ model: tiny, seed: 2 });
    const checkpoint = path.join(folder, 'tu-before-vit.pt');
    await trainer.save(checkpoint);
    const npz = path.join(folder, 'vit.npz');
    expect(interop('vit-npz', npz, 64, 2, 4, 128, 3, 0)).toEqual({ arrays: 6 + 2 * 16 + 3 + 16 * 9 + 3 * 3 });
    const images = randomImages(2, 1, 32, 32, 8);
    const imagesFile = path.join(folder, 'vit-images.f32');
    const logitsFile = path.join(folder, 'vit-logits.f32');
    writeF32(imagesFile, images);
    interop('transunet-logits', checkpoint, imagesFile, 2, logitsFile, npz);
    const before = await trainer.predictLogits(images, [2, 1, 32, 32]);
    await trainer.loadViTWeights(npz);
    const after = await trainer.predictLogits(images, [2, 1, 32, 32]);
    const theirs = readF32(logitsFile);
    expect(maxAbsDiff(before, theirs)).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(after, theirs)).toBeLessThan(1e-4);
    trainer.dispose();
  }, 60_000);

  it('loadViTWeights names what is wrong: a non-TransUNet trainer, a missing file, a missing key', async () => {
    const unet = await Trainer.create({ model: { name: 'unet', baseChannels: 4 } });
    await expect(unet.loadViTWeights('/nonexistent.npz')).rejects.toThrow(
      "Expected a trainer whose model is 'transunet' for loadViTWeights but received 'unet'",
    );
    unet.dispose();
    const trainer = await Trainer.create({ model: tiny });
    await expect(trainer.loadViTWeights(path.join(folder, 'none.npz'))).rejects.toThrow(/cannot open .*none\.npz/);
    const notZip = path.join(folder, 'not.npz');
    fs.writeFileSync(notZip, 'hello, not a zip at all');
    await expect(trainer.loadViTWeights(notZip)).rejects.toThrow(/not a zip \(\.npz\) file/);
    if (python) {
      const oneLayer = path.join(folder, 'vit-one-layer.npz');
      interop('vit-npz', oneLayer, 64, 1, 4, 128, 2, 0);
      await expect(trainer.loadViTWeights(oneLayer)).rejects.toThrow(
        "the ViT weights lack 'Transformer/encoderblock_1/MultiHeadDotProductAttention_1/query/kernel'",
      );
    }
    trainer.dispose();
  });
});
