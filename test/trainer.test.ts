// The native trainer (src/trainer, native/torch/trainer): convergence on a synthetic set, events
// in order, determinism and bit-identical resume, checkpoints that Python's torch.load reads,
// abort, a responsive event loop during fit, disposal, and the argument errors.
//
// Skipped, with the reason printed, when the torch addon is not built; SEGLOSS_REQUIRE_TORCH=1
// (CI) turns the skip into a failure. The Python checks need the venv's torch (skipped without).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { metrics } from '../src/metrics';
import { Trainer, TRAINER_DISPOSED } from '../src/trainer/index';
import { cpuBlockCacheInfo } from '../src/trainer/native';
import type { ProgressEvent, StepEvent, TrainerOptions, TrainingData } from '../src/trainer/types';
import { shapesData } from './helpers/shapes';
import { interop, python, tempFolder, torchReady, torchRequired, torchSkipReason, writeF32 } from './helpers/trainer';

const skipReason = torchSkipReason();
if (!torchReady && !torchRequired) console.warn(`test/trainer.test.ts skipped: ${skipReason}`);

describe('trainer availability', () => {
  it.runIf(torchRequired)('the torch addon loads (SEGLOSS_REQUIRE_TORCH=1)', () => {
    expect(skipReason).toBe('');
  });
});

const folder = tempFolder('segloss-trainer-');
afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

const small: TrainerOptions = {
  model: { name: 'unet', inChannels: 1, numClasses: 3, baseChannels: 4 },
  optimizer: { name: 'sgd', lr: 0.05, totalSteps: 8 },
  seed: 7,
};

/** The events of a fit, and its result or error. */
async function fitCollecting(trainer: Trainer, data: TrainingData, options: Parameters<Trainer['fit']>[1]) {
  const events: ProgressEvent[] = [];
  const onProgress = options.onProgress;
  try {
    const result = await trainer.fit(data, {
      ...options,
      onProgress: (e) => {
        events.push(e);
        onProgress?.(e);
      },
    });
    return { events, result, error: null as unknown };
  } catch (error) {
    return { events, result: null, error };
  }
}

describe.skipIf(!torchReady)('Trainer: training', () => {
  it('a small UNet reaches held-out foreground DSC ≥ 0.9 on discs and squares (0.5·dice + 0.5·CE, SGD poly, TransUNet augmentation)', async () => {
    const train = shapesData(96, 32, 1);
    const test = shapesData(32, 32, 2);
    const trainer = await Trainer.create({ model: { name: 'unet', inChannels: 1, numClasses: 3, baseChannels: 8 }, optimizer: { name: 'sgd', lr: 0.05 }, seed: 0 });
    try {
      expect(trainer.parameterCount).toBe(486_427);
      await trainer.fit(train, { epochs: 30, batchSize: 8, augment: 'rot-flip-rotate' });
      const r = await trainer.evaluate(test);
      expect(r.images).toBe(32);
      expect(r.perClassDice).toHaveLength(3);
      expect(r.perClassIoU).toHaveLength(3);
      const foreground = (r.perClassDice[1] + r.perClassDice[2]) / 2;
      expect(foreground).toBeGreaterThanOrEqual(0.9);
      expect(r.meanDice).toBeCloseTo((r.perClassDice[0] + r.perClassDice[1] + r.perClassDice[2]) / 3, 12);
      expect(r.loss).toBeLessThan(0.2);
    } finally {
      trainer.dispose();
    }
  }, 240_000);

  it.each([
    ['cross-entropy', 'cross-entropy'],
    ['dice (MONAI, per image)', [{ loss: 'dice', options: { perImage: true } }]],
    ['0.5·dice (smp) + 0.5·CE', [{ loss: 'dice', weight: 0.5, options: { preset: 'smp' } }, { loss: 'cross-entropy', weight: 0.5 }]],
    ['0.5·dice (nnU-Net) + 0.5·CE', [{ loss: 'dice', weight: 0.5, options: { preset: 'nnunet' } }, { loss: 'cross-entropy', weight: 0.5 }]],
    ['0.5·log-dice + 0.5·CE (label smoothing 0.1)', [{ loss: 'dice', weight: 0.5, options: { logLoss: true } }, { loss: 'cross-entropy', weight: 0.5, options: { labelSmoothing: 0.1 } }]],
    ['distance-map-ce', [{ loss: 'distance-map-ce' }]],
    ['0.5·boundary-dou + 0.5·CE', [{ loss: 'boundary-dou', weight: 0.5 }, { loss: 'cross-entropy', weight: 0.5 }]],
    ['CE + 0.1·boundary + 0.01·hausdorff-dt + 0.1·region-wise', [{ loss: 'cross-entropy' }, { loss: 'boundary', weight: 0.1 }, { loss: 'hausdorff-dt', weight: 0.01 }, { loss: 'region-wise', weight: 0.1 }]],
    ['CE + 0.5·active-boundary', [{ loss: 'cross-entropy' }, { loss: 'active-boundary', weight: 0.5, options: { maxBoundaryRatio: 0.2 } }]],
  ] as const)('training with %s makes progress (the epoch loss and the evaluated objective fall)', async (_name, objective) => {
    const data = shapesData(16, 32, 14);
    const trainer = await Trainer.create({ ...small, objective: objective as TrainerOptions['objective'], optimizer: { name: 'sgd', lr: 0.05 } });
    const before = await trainer.evaluate(data);
    const { events } = await fitCollecting(trainer, data, { epochs: 5, batchSize: 4 });
    const epochs = events.filter((e) => e.type === 'epoch').map((e) => e.loss);
    expect(epochs[4]).toBeLessThan(epochs[0]);
    const after = await trainer.evaluate(data);
    expect(after.loss).toBeLessThan(before.loss);
    trainer.dispose();
  });

  it('channelsLast and bfloat16 autocast train like float32 NCHW; their checkpoints load into a plain trainer', async () => {
    const data = shapesData(8, 32, 15);
    const run = async (extra: Partial<TrainerOptions>) => {
      const trainer = await Trainer.create({ ...small, ...extra });
      const { events } = await fitCollecting(trainer, data, { epochs: 2, batchSize: 4 });
      const logits = await trainer.predictLogits(data.images, data.shape);
      const file = path.join(folder, `precision-${extra.precision ?? 'float32'}-${extra.channelsLast ?? false}.pt`);
      await trainer.save(file);
      trainer.dispose();
      return { losses: events.filter((e): e is StepEvent => e.type === 'step').map((e) => e.loss), logits, file };
    };
    const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
    const plain = await run({});
    const nhwc = await run({ channelsLast: true });
    const bf16 = await run({ precision: 'bfloat16' });
    nhwc.losses.forEach((l, i) => expect(l).toBeCloseTo(plain.losses[i], 4));
    bf16.losses.forEach((l, i) => expect(Math.abs(l - plain.losses[i])).toBeLessThan(0.02));
    expect(maxDiff(nhwc.logits, plain.logits)).toBeLessThan(1e-3);
    expect(maxDiff(bf16.logits, plain.logits)).toBeLessThan(0.1);
    const reader = await Trainer.create(small);
    await reader.loadStateDict(nhwc.file);
    expect(maxDiff(await reader.predictLogits(data.images, data.shape), nhwc.logits)).toBeLessThan(1e-4);
    reader.dispose();
    const resumed = await Trainer.load(bf16.file);
    expect(resumed.options).toMatchObject({ precision: 'bfloat16', channelsLast: false });
    resumed.dispose();
  });

  it("fit reuses its steps' freed CPU blocks and gives every kept block back when it ends", async () => {
    const trainer = await Trainer.create(small);
    try {
      const before = cpuBlockCacheInfo().reused;
      await trainer.fit(shapesData(12, 32, 3), { epochs: 2, batchSize: 4 });
      const after = cpuBlockCacheInfo();
      // 6 steps of the same shapes: from the second on, their allocations come from the first's blocks
      expect(after.reused - before).toBeGreaterThan(500);
      expect(after.idleBlocks).toBe(0);
      expect(after.idleBytes).toBe(0);
    } finally {
      trainer.dispose();
    }
  });

  it('AdamW with a constant schedule lowers the loss', async () => {
    const data = shapesData(16, 32, 3);
    const trainer = await Trainer.create({ ...small, optimizer: { name: 'adamw', lr: 3e-3 } });
    const { events } = await fitCollecting(trainer, data, { epochs: 4, batchSize: 8 });
    const steps = events.filter((e): e is StepEvent => e.type === 'step');
    expect(new Set(steps.map((s) => s.lr))).toEqual(new Set([3e-3]));
    const epochs = events.filter((e) => e.type === 'epoch').map((e) => e.loss);
    expect(epochs[3]).toBeLessThan(epochs[0]);
    trainer.dispose();
  });

  it('sends step, epoch and checkpoint events in order, none dropped, with the poly schedule and the terms', async () => {
    const data = shapesData(12, 32, 4);
    const validation = shapesData(4, 32, 5);
    const file = path.join(folder, 'events.pt');
    const trainer = await Trainer.create(small);
    const { events, result } = await fitCollecting(trainer, data, { epochs: 2, batchSize: 5, validation, checkpoint: { path: file, everySteps: 2 } });
    // 12 images in batches of 5: 3 steps per epoch (5, 5, 2); a checkpoint after global steps 2, 4 and 6.
    expect(events.map((e) => (e.type === 'step' ? `s${e.epoch}.${e.step}` : e.type === 'epoch' ? `e${e.epoch}` : 'c'))).toEqual([
      's0.0', 's0.1', 'c', 's0.2', 'e0', 's1.3', 'c', 's1.4', 's1.5', 'c', 'e1',
    ]);
    expect(result).toEqual({ epoch: 2, step: 6, loss: (events[8] as StepEvent).loss });
    const steps = events.filter((e): e is StepEvent => e.type === 'step');
    steps.forEach((s, t) => {
      expect(s.lr).toBeCloseTo(0.05 * (1 - t / 8) ** 0.9, 14);
      expect(s.terms).toHaveLength(2);
      expect(s.loss).toBeCloseTo(0.5 * s.terms[0] + 0.5 * s.terms[1], 5);
      expect(s.imagesPerSecond).toBeGreaterThan(0);
    });
    for (const e of events) {
      if (e.type === 'epoch') {
        expect(e.metrics?.images).toBe(4);
        expect(e.metrics?.perClassDice).toHaveLength(3);
      }
      if (e.type === 'checkpoint') expect(e.path).toBe(file);
    }
    expect(trainer.epoch).toBe(2);
    expect(trainer.step).toBe(6);
    expect(fs.readdirSync(folder).filter((f) => f.includes('.tmp-'))).toEqual([]);
    trainer.dispose();
  });

  it('evaluate agrees with metrics computed here from predict, and ignoreIndex pixels count nowhere', async () => {
    const data = shapesData(6, 32, 6);
    const masks = new Int32Array(data.masks);
    for (let p = 0; p < 32 * 32; ++p) masks[p] = 255; // the first image is all ignored
    const trainer = await Trainer.create({ ...small, ignoreIndex: 255 });
    await trainer.fit({ ...data, masks }, { epochs: 1, batchSize: 3 });
    const r = await trainer.evaluate({ ...data, masks });
    const predicted = await trainer.predict(data.images, data.shape);
    expect(predicted).toBeInstanceOf(Uint8Array);
    expect(predicted).toHaveLength(6 * 32 * 32);
    const dice: number[][] = [[], [], []];
    const inter = [0, 0, 0], pred = [0, 0, 0], truth = [0, 0, 0];
    for (let n = 0; n < 6; ++n) {
      const i = [0, 0, 0], p = [0, 0, 0], g = [0, 0, 0];
      for (let k = n * 1024; k < (n + 1) * 1024; ++k) {
        if (masks[k] === 255) continue;
        p[predicted[k]]++;
        g[masks[k]]++;
        if (predicted[k] === masks[k]) i[masks[k]]++;
      }
      for (let c = 0; c < 3; ++c) {
        if (p[c] + g[c] > 0) dice[c].push((2 * i[c]) / (p[c] + g[c]));
        inter[c] += i[c];
        pred[c] += p[c];
        truth[c] += g[c];
      }
    }
    for (let c = 0; c < 3; ++c) {
      const mean = dice[c].length ? dice[c].reduce((a, b) => a + b, 0) / dice[c].length : NaN;
      expect(r.perClassDice[c]).toBeCloseTo(mean, 12);
      const union = pred[c] + truth[c] - inter[c];
      expect(r.perClassIoU[c]).toBeCloseTo(union ? inter[c] / union : NaN, 12);
    }
    expect([r.images, r.cases]).toEqual([6, 6]);
    // Per volume (2 + 3 + 1 slices): each volume's counts pooled, then the mean over volumes.
    const volumes = [2, 3, 1];
    const byVolume = await trainer.evaluate({ ...data, masks }, { cases: volumes });
    expect([byVolume.images, byVolume.cases]).toEqual([6, 3]);
    expect(byVolume.perClassIoU).toEqual(r.perClassIoU);
    const volumeDice: number[][] = [[], [], []];
    let start = 0;
    for (const count of volumes) {
      const i = [0, 0, 0], p = [0, 0, 0], g = [0, 0, 0];
      for (let k = start * 1024; k < (start + count) * 1024; ++k) {
        if (masks[k] === 255) continue;
        p[predicted[k]]++;
        g[masks[k]]++;
        if (predicted[k] === masks[k]) i[masks[k]]++;
      }
      for (let c = 0; c < 3; ++c) if (p[c] + g[c] > 0) volumeDice[c].push((2 * i[c]) / (p[c] + g[c]));
      start += count;
    }
    for (let c = 0; c < 3; ++c) {
      expect(byVolume.perClassDice[c]).toBeCloseTo(volumeDice[c].reduce((a, b) => a + b, 0) / volumeDice[c].length, 12);
    }
    // HD95 per volume and class, as metrics.evaluateVolume (TransUNet's policy) gives it here.
    const withHd95 = await trainer.evaluate({ ...data, masks }, { cases: volumes, hd95: true });
    expect(withHd95.perClassDice).toEqual(byVolume.perClassDice);
    const hd: number[][] = [[], []];
    start = 0;
    for (const count of volumes) {
      const target = masks.subarray(start * 1024, (start + count) * 1024);
      const pred = Int32Array.from(predicted.subarray(start * 1024, (start + count) * 1024)).map((v, k) => (target[k] === 255 ? -1 : v));
      const r = metrics.evaluateVolume(pred, target, count > 1 ? [count, 32, 32] : [32, 32], 3);
      hd[0].push(r.hd95[0]);
      hd[1].push(r.hd95[1]);
      start += count;
    }
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    expect(withHd95.perClassHd95?.[0]).toBeNaN();
    expect(withHd95.perClassHd95?.[1]).toBeCloseTo(mean(hd[0]), 10);
    expect(withHd95.perClassHd95?.[2]).toBeCloseTo(mean(hd[1]), 10);
    expect(withHd95.hd95).toBeCloseTo((mean(hd[0]) + mean(hd[1])) / 2, 10);
    expect(byVolume.hd95).toBeUndefined();
    await expect(trainer.evaluate(data, { hd95: 1 as never })).rejects.toThrow('Expected a boolean for options.hd95 but received 1');
    await expect(trainer.evaluate(data, { cases: [2, 3] })).rejects.toThrow('Expected counts summing to N = 6 for options.cases but received a sum of 5');
    await expect(trainer.evaluate(data, { cases: [6, 0] })).rejects.toThrow('Expected an integer in [1, 9007199254740991] for options.cases[1] but received 0');
    const logits = await trainer.predictLogits(data.images, data.shape);
    expect(logits).toHaveLength(6 * 3 * 1024);
    const argmax0 = [0, 1, 2].reduce((best, c) => (logits[c * 1024] > logits[best * 1024] ? c : best), 0);
    expect(predicted[0]).toBe(argmax0);
    trainer.dispose();
  });

  it("fit's validationOptions (cases, hd95, batchSize) give the epoch metrics evaluate gives with the same options", async () => {
    const data = shapesData(6, 32, 6);
    const validation = shapesData(5, 32, 9);
    const trainer = await Trainer.create(small);
    const epochs: ProgressEvent[] = [];
    const validationOptions = { cases: [3, 2], hd95: true, batchSize: 2 };
    await trainer.fit(data, { epochs: 2, batchSize: 3, validation, validationOptions, onProgress: (e) => e.type === 'epoch' && epochs.push(e) });
    const last = epochs.at(-1);
    expect(last?.type).toBe('epoch');
    const metricsOfLast = last?.type === 'epoch' ? last.metrics : null;
    const evaluated = await trainer.evaluate(validation, validationOptions);
    expect(metricsOfLast?.cases).toBe(2);
    expect(metricsOfLast?.perClassHd95).toHaveLength(3);
    expect(metricsOfLast?.perClassHd95?.[0]).toBeNaN();
    expect(Number.isFinite(metricsOfLast?.hd95)).toBe(true);
    expect(metricsOfLast).toEqual(evaluated);
    const bad: [Promise<unknown>, string][] = [
      [trainer.fit(data, { epochs: 3, validationOptions: { hd95: true } }), 'Expected options.validation alongside it (validation data) for options.validationOptions'],
      [trainer.fit(data, { epochs: 3, validation, validationOptions: { cases: [4] } }), 'Expected counts summing to N = 5 for options.validationOptions.cases but received a sum of 4'],
      [trainer.fit(data, { epochs: 3, validation, validationOptions: { hd95: 'yes' as never } }), "Expected a boolean for options.validationOptions.hd95 but received 'yes'"],
      [trainer.fit(data, { epochs: 3, validation, validationOptions: { shuffle: true } as never }), 'options.validationOptions'],
    ];
    for (const [call, message] of bad) await expect(call).rejects.toThrow(message);
    trainer.dispose();
  });
});

describe.skipIf(!torchReady)('Trainer: determinism, checkpoints and resume', () => {
  const data = shapesData(10, 32, 8);
  const options: TrainerOptions = { ...small, optimizer: { name: 'sgd', lr: 0.05, totalSteps: 6 } };

  // With TransUNet's augmentation, whose draws depend on (seed, epoch, position) only.
  const fit = { epochs: 2, batchSize: 4, augment: 'rot-flip-rotate' } as const;

  async function straight(file: string, augment: 'none' | 'rot-flip-rotate' = 'rot-flip-rotate'): Promise<number[]> {
    const trainer = await Trainer.create(options);
    const { events } = await fitCollecting(trainer, data, { ...fit, augment });
    await trainer.save(file);
    trainer.dispose();
    return events.filter((e): e is StepEvent => e.type === 'step').map((e) => e.loss);
  }

  it('the same seed gives the same losses; 2 epochs straight = 1 epoch + save/load + 1 epoch, bit for bit', async () => {
    const a = path.join(folder, 'straight-a.pt');
    const b = path.join(folder, 'straight-b.pt');
    const lossesA = await straight(a);
    expect(await straight(b)).toEqual(lossesA);
    const plain = await straight(path.join(folder, 'plain.pt'), 'none');
    expect(plain).toHaveLength(6);
    expect(plain).not.toEqual(lossesA);

    const first = await Trainer.create(options);
    const { events: firstEvents } = await fitCollecting(first, data, { ...fit, epochs: 1 });
    const half = path.join(folder, 'half.pt');
    await first.save(half);
    first.dispose();
    const resumed = await Trainer.load(half);
    expect([resumed.epoch, resumed.step]).toEqual([1, 3]);
    expect(resumed.parameterCount).toBe(122_031);
    const { events: secondEvents } = await fitCollecting(resumed, data, fit);
    const c = path.join(folder, 'resumed.pt');
    await resumed.save(c);
    resumed.dispose();
    const losses = [...firstEvents, ...secondEvents].filter((e): e is StepEvent => e.type === 'step').map((e) => e.loss);
    expect(losses).toEqual(lossesA);
    if (python) {
      expect(interop('equal', a, b)).toMatchObject({ model: true, optimizer: true, maxDiff: 0 });
      expect(interop('equal', a, c)).toMatchObject({ model: true, optimizer: true, maxDiff: 0, step: [6, 6] });
    }
  }, 120_000);

  it.each([255, undefined])("'scale-crop-flip' (ignoreIndex %s) is deterministic for a seed and changes the batches", async (ignoreIndex) => {
    const losses = async (augment: 'none' | 'scale-crop-flip') => {
      const trainer = await Trainer.create({ ...options, ...(ignoreIndex === undefined ? {} : { ignoreIndex }) });
      const { events } = await fitCollecting(trainer, data, { epochs: 2, batchSize: 4, augment });
      trainer.dispose();
      return events.filter((e): e is StepEvent => e.type === 'step').map((e) => e.loss);
    };
    const first = await losses('scale-crop-flip');
    expect(first).toHaveLength(6);
    expect(first.every(Number.isFinite)).toBe(true);
    expect(await losses('scale-crop-flip')).toEqual(first);
    expect(await losses('none')).not.toEqual(first);
  });

  it('AdamW, a custom objective and ignoreIndex survive save/load: same options, same losses', async () => {
    const custom: TrainerOptions = {
      model: { name: 'unet', numClasses: 3, baseChannels: 4 },
      ignoreIndex: 255,
      objective: [
        { loss: 'dice', weight: 0.3, options: { preset: 'nnunet' } },
        { loss: 'cross-entropy', weight: 0.7, options: { classWeights: new Float64Array([0.2, 1, 1]), labelSmoothing: 0.1 } },
      ],
      optimizer: { name: 'adamw', lr: 2e-3, betas: [0.8, 0.99] },
      seed: 12,
    };
    const masks = new Int32Array(data.masks);
    masks.fill(255, 0, 100);
    const ignored = { ...data, masks };
    const run = async (trainer: Trainer, epochs: number) =>
      (await fitCollecting(trainer, ignored, { epochs, batchSize: 4 })).events.filter((e): e is StepEvent => e.type === 'step').map((e) => e.loss);
    const straightTrainer = await Trainer.create(custom);
    const all = await run(straightTrainer, 2);
    straightTrainer.dispose();
    const first = await Trainer.create(custom);
    const half = await run(first, 1);
    const file = path.join(folder, 'adamw.pt');
    await first.save(file);
    const options = first.options;
    first.dispose();
    const again = await Trainer.load(file);
    expect(again.options).toEqual(options);
    expect(again.options.objective).toEqual([
      { loss: 'dice', weight: 0.3, options: { preset: 'nnunet' } },
      { loss: 'cross-entropy', weight: 0.7, options: { classWeights: [0.2, 1, 1], labelSmoothing: 0.1 } },
    ]);
    expect([...half, ...(await run(again, 2))]).toEqual(all);
    again.dispose();
  });

  it("robust-t's θ is learned in its own parameter group, checkpointed, and resumes bit for bit", async () => {
    const objective: TrainerOptions['objective'] = [
      { loss: 'dice', weight: 0.7 },
      { loss: 'robust-t', weight: 0.3, options: { nuParameter: 0.5 } },
    ];
    const learned: TrainerOptions = { ...options, objective, optimizer: { name: 'sgd', lr: 0.05, weightDecay: 0.5, totalSteps: 6 } };
    const run = async (trainer: Trainer, epochs: number) =>
      (await fitCollecting(trainer, data, { epochs, batchSize: 4 })).events.filter((e): e is StepEvent => e.type === 'step');
    const straightTrainer = await Trainer.create(learned);
    const all = await run(straightTrainer, 2);
    straightTrainer.dispose();
    const thetas = all.map((e) => e.nuParameter as number);
    expect(thetas).toHaveLength(6);
    expect(thetas.every(Number.isFinite)).toBe(true);
    // θ moves, and it moves by the SGD update alone: with weight decay 0.5 on θ it would be pulled toward 0 as well.
    expect(new Set(thetas).size).toBe(6);
    expect(thetas[0]).not.toBe(0.5);
    const first = await Trainer.create(learned);
    const half = await run(first, 1);
    const file = path.join(folder, 'robust-t.pt');
    await first.save(file);
    first.dispose();
    const again = await Trainer.load(file);
    const rest = await run(again, 2);
    again.dispose();
    expect([...half, ...rest].map((e) => [e.loss, e.nuParameter])).toEqual(all.map((e) => [e.loss, e.nuParameter]));
    // Without robust-t, step events carry no θ.
    const plain = await Trainer.create(options);
    const plainSteps = await run(plain, 1);
    plain.dispose();
    expect(plainSteps.every((e) => e.nuParameter === undefined)).toBe(true);
    if (python) {
      const script = `import torch, json, sys\nc = torch.load(sys.argv[1], weights_only=False)\ns = c['loss_state']\nprint(json.dumps({'theta': float(s['nu_parameter']), 'wd': s['optimizer']['param_groups'][0]['weight_decay'], 'model_wd': c['optimizer']['param_groups'][0]['weight_decay']}))`;
      const r = spawnSync(python, ['-c', script, file], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      const state = JSON.parse(r.stdout.trim()) as { theta: number; wd: number; model_wd: number };
      expect(state.theta).toBe(half[half.length - 1].nuParameter);
      expect(state.wd).toBe(0);
      expect(state.model_wd).toBe(0.5);
    }
  }, 120_000);

  it('the robust-t terms of a trained objective share one θ', async () => {
    await expect(
      Trainer.create({ ...options, objective: [{ loss: 'robust-t', options: { nuParameter: 1 } }, { loss: 'robust-t', options: { nuParameter: 2 } }] }),
    ).rejects.toThrow('share one learned nuParameter');
  });

  it('an abort mid-epoch leaves a checkpoint from which the run continues bit-identically', async () => {
    const reference = path.join(folder, 'reference.pt');
    const lossesA = await straight(reference);
    const file = path.join(folder, 'aborted.pt');
    const controller = new AbortController();
    const trainer = await Trainer.create(options);
    const { events, error } = await fitCollecting(trainer, data, {
      ...fit,
      signal: controller.signal,
      checkpoint: { path: file, everyEpochs: 5 },
      onProgress: (e) => {
        if (e.type === 'step' && e.step === 0) controller.abort();
      },
    });
    expect((error as Error).name).toBe('AbortError');
    expect((error as { code: string }).code).toBe('ABORT_ERR');
    expect(events[events.length - 1]).toEqual({ type: 'checkpoint', path: file });
    const done = trainer.step;
    expect(done).toBeGreaterThanOrEqual(1);
    expect(done).toBeLessThan(6);
    trainer.dispose();
    const resumed = await Trainer.load(file);
    expect(resumed.step).toBe(done);
    const { events: rest } = await fitCollecting(resumed, data, fit);
    const losses = [...events, ...rest].filter((e): e is StepEvent => e.type === 'step').map((e) => e.loss);
    expect(losses).toEqual(lossesA);
    const end = path.join(folder, 'aborted-end.pt');
    await resumed.save(end);
    resumed.dispose();
    if (python) expect(interop('equal', reference, end)).toMatchObject({ model: true, optimizer: true });
  }, 120_000);

  it.skipIf(!python)("Python's torch.load(path) (weights_only) reads the checkpoint; its model is the PyTorch UNet's state dict", async () => {
    const file = path.join(folder, 'python.pt');
    const trainer = await Trainer.create(options);
    await trainer.fit(data, { epochs: 1, batchSize: 4 });
    await trainer.save(file);
    trainer.dispose();
    const r = interop<{ keys: string[]; modelKeys: string[]; pythonKeys: string[]; strictLoad: boolean; optimizerLoaded: boolean; epoch: number; step: number; format: string; config: { model: unknown; seed: number } }>(
      'inspect', file, 1, 3, 4);
    expect(r.keys).toEqual(['config', 'epoch', 'epoch_images', 'epoch_loss_sum', 'format', 'model', 'optimizer', 'rng', 'scheduler', 'step', 'step_in_epoch']);
    expect(r.format).toBe('segloss-trainer-checkpoint/1');
    expect(r.modelKeys).toEqual(r.pythonKeys);
    expect(r.modelKeys).toHaveLength(118);
    expect(r.strictLoad).toBe(true);
    expect(r.optimizerLoaded).toBe(true);
    expect([r.epoch, r.step]).toEqual([1, 3]);
    expect(r.config.model).toEqual({ name: 'unet', inChannels: 1, numClasses: 3, baseChannels: 4, bilinear: false });
    expect(r.config.seed).toBe(7);
  });

  // The native step (forward, 0.5·Dice + 0.5·CE, backward, the fused SGD update with momentum and
  // weight decay) against PyTorch's: torch.optim.SGD from our checkpoint's model and momentum
  // buffers, one step on the same batch (the whole set, no augmentation: the order does not matter).
  it.skipIf(!python)('one step equals torch.optim.SGD (momentum, weight decay) on the same batch from our checkpoint', async () => {
    const batch = shapesData(4, 32, 9);
    const [lr, momentum, weightDecay] = [0.2, 0.9, 0.01];
    const trainer = await Trainer.create({ ...small, optimizer: { name: 'sgd', lr, momentum, weightDecay, schedule: 'constant' } });
    const fitOne = (epochs: number) => trainer.fit(batch, { epochs, batchSize: 4, augment: 'none' });
    await fitOne(1); // the first step: the momentum buffers exist from here on
    const before = path.join(folder, 'sgd-before.pt');
    const after = path.join(folder, 'sgd-after.pt');
    await trainer.save(before);
    await fitOne(2);
    await trainer.save(after);
    trainer.dispose();
    const images = path.join(folder, 'sgd-images.f32');
    const masks = path.join(folder, 'sgd-masks.u8');
    writeF32(images, batch.images as Float32Array);
    fs.writeFileSync(masks, Buffer.from((batch.masks as Uint8Array).buffer));
    const r = interop<{ model: number; buffers: number; moved: number }>('sgd-step', before, after, images, masks, 4, 32, 32, lr, momentum, weightDecay);
    expect(r.moved).toBeGreaterThan(1e-3); // the step moved the weights
    expect(r.model).toBeLessThan(1e-4); // relative to each tensor's largest magnitude
    expect(r.buffers).toBeLessThan(1e-3);
  });
});

describe.skipIf(!torchReady)('Trainer: the event loop, abort and dispose', () => {
  // Timer lateness the machine itself causes (other processes, other test files on the same cores)
  // is measured first, for as long, without a fit; the bound applies to what the fit adds. Retried:
  // a shared CI machine can stall any process for longer than the bound.
  it('keeps the event loop responsive during fit (a 10 ms timer is never late by more than 50 ms)', { retry: 2, timeout: 120_000 }, async () => {
    const data = shapesData(32, 64, 9);
    const trainer = await Trainer.create({ model: { name: 'unet', inChannels: 1, numClasses: 3, baseChannels: 16 }, seed: 0 });
    const watch = () => {
      let last = performance.now();
      const state = { worst: 0, ticks: 0, stop: () => clearInterval(timer) };
      const timer = setInterval(() => {
        const now = performance.now();
        state.worst = Math.max(state.worst, now - last - 10);
        last = now;
        ++state.ticks;
      }, 10);
      return state;
    };
    const started = performance.now();
    const during = watch();
    await trainer.fit(data, { epochs: 2, batchSize: 8 });
    during.stop();
    const seconds = (performance.now() - started) / 1000;
    trainer.dispose();
    const idle = watch();
    await new Promise((resolve) => setTimeout(resolve, Math.min(seconds, 5) * 1000));
    idle.stop();
    expect(seconds).toBeGreaterThan(0.5);
    expect(during.ticks).toBeGreaterThan(seconds * 20);
    expect(during.worst - Math.max(0, idle.worst)).toBeLessThan(50);
  });

  it('an already-aborted signal rejects at once; an error thrown by onProgress stops the fit and rejects with it', async () => {
    const data = shapesData(8, 32, 10);
    const trainer = await Trainer.create(small);
    const controller = new AbortController();
    controller.abort();
    await expect(trainer.fit(data, { epochs: 1, signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(trainer.step).toBe(0);
    const boom = new Error('boom');
    let calls = 0;
    await expect(trainer.fit(data, { epochs: 3, batchSize: 2, onProgress: () => { ++calls; throw boom; } })).rejects.toBe(boom);
    expect(calls).toBe(1);
    expect(trainer.step).toBeLessThan(12);
    trainer.dispose();
  });

  it('every call on a disposed trainer throws SEGLOSS_TRAINER_DISPOSED; dispose during fit stops it', async () => {
    const data = shapesData(8, 32, 11);
    const trainer = await Trainer.create(small);
    const running = trainer.fit(data, { epochs: 50, batchSize: 2 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    trainer.dispose();
    await expect(running).rejects.toMatchObject({ code: TRAINER_DISPOSED });
    const disposed = { code: TRAINER_DISPOSED, message: 'segloss: this Trainer was disposed; create or load another one' };
    expect(() => trainer.parameterCount).toThrow(expect.objectContaining(disposed));
    expect(() => trainer.epoch).toThrow(expect.objectContaining(disposed));
    await expect(trainer.fit(data, { epochs: 1 })).rejects.toMatchObject(disposed);
    await expect(trainer.evaluate(data)).rejects.toMatchObject(disposed);
    await expect(trainer.predict(data.images, data.shape)).rejects.toMatchObject(disposed);
    await expect(trainer.save(path.join(folder, 'never.pt'))).rejects.toMatchObject(disposed);
    await expect(trainer.loadStateDict(path.join(folder, 'never.pt'))).rejects.toMatchObject(disposed);
    expect(() => trainer.dispose()).not.toThrow();
  });

  const child = (mode: string) =>
    spawnSync(process.execPath, [path.join(__dirname, 'helpers', 'trainer-child.cjs'), mode], { encoding: 'utf8', timeout: 120_000 });

  it('process.exit() during fit stops and joins the trainer thread first (exit code kept, no crash)', () => {
    expect(fs.existsSync(path.join(__dirname, '..', 'lib', 'index.js')), 'lib/ is missing: run `npm run build:ts`').toBe(true);
    const r = child('exit-during');
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(3);
  }, 60_000);

  it('worker.terminate() during a worker thread\'s fit leaves the main thread, and its own fit, running', () => {
    const r = child('worker-terminate');
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('main alive');
    expect(r.stdout).toContain('main fit 40');
  }, 60_000);

  it('hostile calls straight into the native binding answer with Errors, never a crash', () => {
    const r = child('raw');
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { errors: number; problems: string[] };
    expect(summary.problems).toEqual([]);
    expect(summary.errors).toBeGreaterThan(50);
  }, 60_000);

  it('calls on one trainer run in call order without awaiting each', async () => {
    const data = shapesData(8, 32, 12);
    const trainer = await Trainer.create(small);
    const order: string[] = [];
    const fit = trainer.fit(data, { epochs: 1, batchSize: 4 }).then(() => order.push('fit'));
    const evaluation = trainer.evaluate(data).then(() => order.push('evaluate'));
    const prediction = trainer.predict(data.images, data.shape).then(() => order.push('predict'));
    await Promise.all([fit, evaluation, prediction]);
    expect(order).toEqual(['fit', 'evaluate', 'predict']);
    trainer.dispose();
  });
});

describe.skipIf(!torchReady)('Trainer: argument errors', () => {
  const data = shapesData(2, 32, 13);

  it.each([
    [{ model: { name: 'vnet' } }, RangeError, "Expected one of 'unet', 'transunet' for model.name but received 'vnet'"],
    [{ model: { name: 'transunet', vitPreset: 'l16' } }, RangeError, "Expected one of 'b16', 's16', 'ti16' for model.vitPreset but received 'l16'"],
    [{ model: { name: 'transunet', imageSize: 100 } }, RangeError, 'Expected a multiple of 16 for model.imageSize but received 100'],
    [{ model: { name: 'transunet', hidden: 100, heads: 3 } }, RangeError, 'Expected a divisor of hidden 100 for model.heads but received 3'],
    [{ model: { name: 'transunet', inChannels: 2 } }, RangeError, 'Expected 1 (repeated to 3) or 3 for model.inChannels but received 2'],
    [{ model: { name: 'transunet', baseChannels: 8 } }, RangeError, "for an option name of model (transunet) but received 'baseChannels'"],
    [{}, TypeError, "Expected an object { name: 'unet', 'transunet', ... } for model but received undefined"],
    [{ model: { name: 'unet', numClasses: 1 } }, RangeError, 'Expected an integer in [2, 65536] for model.numClasses but received 1'],
    [{ model: { name: 'unet', baseChannels: 2.5 } }, RangeError, 'Expected an integer in [1, 1024] for model.baseChannels but received 2.5'],
    [{ model: { name: 'unet', depth: 3 } }, RangeError, "Expected one of baseChannels, bilinear, inChannels, name, numClasses for an option name of model (unet) but received 'depth'"],
    [{ model: { name: 'unet' }, optimizer: { name: 'lamb' } }, RangeError, "Expected one of 'sgd', 'adamw' for optimizer.name but received 'lamb'"],
    [{ model: { name: 'unet' }, optimizer: { name: 'sgd', lr: -1 } }, RangeError, 'Expected a finite number > 0 for optimizer.lr but received -1'],
    [{ model: { name: 'unet' }, optimizer: { name: 'sgd', schedule: 'cosine' } }, RangeError, "Expected one of 'poly', 'constant' for optimizer.schedule but received 'cosine'"],
    [{ model: { name: 'unet' }, optimizer: { name: 'adamw', betas: [0.9, 1] } }, RangeError, 'Expected a number in [0, 1) for optimizer.betas[1] but received 1'],
    [{ model: { name: 'unet' }, seed: -1 }, RangeError, 'Expected an integer in [0, 9007199254740991] for seed but received -1'],
    [{ model: { name: 'unet' }, precision: 'fp16' }, RangeError, "Expected one of 'float32', 'bfloat16' for precision but received 'fp16'"],
    [{ model: { name: 'unet' }, channelsLast: 1 }, TypeError, 'Expected a boolean for channelsLast but received 1'],
    [{ model: { name: 'unet' }, device: 'tpu' }, RangeError, "Expected 'cpu', 'cuda' or 'cuda:<index>' for device but received 'tpu'"],
    [{ model: { name: 'unet' }, objective: [{ loss: 'no-such-loss' }] }, RangeError, 'for objective[0].loss'],
    [{ model: { name: 'unet' }, lr: 0.1 }, RangeError, "Expected one of channelsLast, device, ignoreIndex, model, objective, optimizer, precision, seed, threads for an option name of Trainer.create but received 'lr'"],
  ])('Trainer.create(%j) → %s', async (options, type, message) => {
    const error = await Trainer.create(options as unknown as TrainerOptions).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toContain(message);
    expect((error as { code: string }).code).toBe('SEGLOSS_INVALID_ARGUMENT');
  });

  it('fit, evaluate, predict and load name the bad argument', async () => {
    const trainer = await Trainer.create(small);
    const cases: [() => Promise<unknown>, string][] = [
      [() => trainer.fit(data, undefined as never), 'Expected an object { epochs, batchSize?, ... } for options but received undefined'],
      [() => trainer.fit(data, { epochs: 0 }), 'Expected an integer in [1, 9007199254740991] for options.epochs but received 0'],
      [() => trainer.fit(data, { epochs: 1, batchSize: 0 }), 'Expected an integer in [1, 1048576] for options.batchSize but received 0'],
      [() => trainer.fit(data, { epochs: 1, signal: {} as AbortSignal }), 'Expected an AbortSignal for options.signal but received an object'],
      [() => trainer.fit(data, { epochs: 1, onProgress: 3 as never }), 'Expected a function for options.onProgress but received 3'],
      [() => trainer.fit(data, { epochs: 1, checkpoint: { path: '' } }), "Expected a non-empty string (a file path) for options.checkpoint.path but received ''"],
      [() => trainer.fit(data, { epochs: 1, augment: 'cutmix' } as never), "Expected one of 'none', 'rot-flip-rotate', 'scale-crop-flip' for options.augment but received 'cutmix'"],
      [() => trainer.fit(data, { epochs: 1, shuffle: true } as never), "Expected one of augment, batchSize, checkpoint, epochs, nonFinite, onProgress, signal, validation, validationOptions for an option name of options but received 'shuffle'"],
      [() => trainer.fit({ ...data, images: new Float64Array(2048) } as never, { epochs: 1 }), 'Expected a Float32Array [N, Cin, H, W] for data.images but received Float64Array of length 2048'],
      [() => trainer.fit({ ...data, images: new Float32Array(10) }, { epochs: 1 }), 'Expected length 2048 (N·Cin·H·W of shape [2, 1, 32, 32]) for data.images but received length 10'],
      [() => trainer.fit({ ...data, masks: new Float32Array(2048) } as never, { epochs: 1 }), 'Expected a Uint8Array, Uint16Array or Int32Array [N, H, W] for data.masks but received Float32Array of length 2048'],
      [() => trainer.fit({ ...data, masks: new Uint8Array(2048).fill(3) }, { epochs: 1 }), 'Expected class indices in [0, 3) for data.masks but received 3 at [n, h, w] = [0, 0, 0]'],
      [() => trainer.fit({ ...data, shape: [2, 3, 32, 32] } as never, { epochs: 1 }), "Expected the model's inChannels 1 for data.shape[1] (Cin) but received 3"],
      [() => trainer.fit({ ...data, shape: [2, 1, 8, 128] } as never, { epochs: 1 }), 'Expected an integer ≥ 16 (the UNet pools 4 times) for data.shape[2] (H) but received 8'],
      [() => trainer.fit({ ...data, images: new Float32Array(2048).fill(NaN) }, { epochs: 1 }), 'Expected finite values for data.images but received NaN at index 0 ([n, c, h, w] = [0, 0, 0, 0])'],
      [() => trainer.fit(data, { epochs: 1, validation: { ...data, shape: [1, 1, 32, 32] } }), 'Expected length 1024 (N·Cin·H·W of shape [1, 1, 32, 32]) for options.validation.images but received length 2048'],
      [() => trainer.evaluate(data, { batchSize: -2 }), 'Expected an integer in [1, 1048576] for options.batchSize but received -2'],
      [() => trainer.predict(data.images, [2, 1, 32] as never), 'Expected 4 entries [N, Cin, H, W] for shape but received 3 entries: [2, 1, 32]'],
      [() => trainer.save(42 as never), 'Expected a non-empty string (a file path) for path but received 42'],
      [() => Trainer.load(42 as never), 'Expected a non-empty string (a file path) for path but received 42'],
    ];
    for (const [call, message] of cases) {
      const error = await call().then(() => null, (e: unknown) => e);
      expect((error as Error)?.message, message).toBe(message);
      expect((error as { code: string }).code).toBe('SEGLOSS_INVALID_ARGUMENT');
    }
    trainer.dispose();
  });

  it('files that are missing or not checkpoints reject with a clear error, and the process lives on', async () => {
    await expect(Trainer.load(path.join(folder, 'missing.pt'))).rejects.toThrow(/cannot open .*missing\.pt: No such file/);
    const junk = path.join(folder, 'junk.pt');
    fs.writeFileSync(junk, 'not a zip');
    await expect(Trainer.load(junk)).rejects.toThrow(/junk\.pt is not a torch\.save file/);
    const trainer = await Trainer.create(small);
    await expect(trainer.loadStateDict(junk)).rejects.toThrow(/not a torch\.save file/);
    await expect(trainer.save(path.join(folder, 'no-such-dir', 'x.pt'))).rejects.toThrow(/cannot create .*No such file/);
    trainer.dispose();
  });
});
