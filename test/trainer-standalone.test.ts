// The trainer with the losses that run on their own entry points (native/torch/trainer/objective.h):
// conditional-boundary on the UNet's features and 1×1 head, inverseform on an extra edge-logit
// channel, boundary-aware on C·K distance-bin channels decoded into classes. For each: a few
// steps on a small synthetic set lower the objective and raise the held-out Dice, a checkpoint
// round trip keeps the output channels and the objective, and bad combinations are refused
// naming `objective`.
//
// Skipped, with the reason printed, when the torch addon is not built; SEGLOSS_REQUIRE_TORCH=1
// (CI) turns the skip into a failure.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { computeLoss, decodeBoundaryAware, defaultInverseFormNetwork } from '../src/index';
import { Trainer } from '../src/trainer/index';
import type { StepEvent, TrainerOptions, TrainingData } from '../src/trainer/types';
import type { LossSpec } from '../src/types';
import { shapesData } from './helpers/shapes';
import { interop, python, tempFolder, torchReady, torchRequired, torchSkipReason } from './helpers/trainer';

const skipReason = torchSkipReason();
if (!torchReady && !torchRequired) console.warn(`test/trainer-standalone.test.ts skipped: ${skipReason}`);

describe('trainer-standalone availability', () => {
  it.runIf(torchRequired)('the torch addon loads (SEGLOSS_REQUIRE_TORCH=1)', () => {
    expect(skipReason).toBe('');
  });
});

const folder = tempFolder('segloss-trainer-standalone-');
afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

// background and discs: a binary task that a small UNet learns in seconds
const C = 2;
const train = shapesData(32, 32, 21, C);
const test = shapesData(16, 32, 22, C);

function options(objective: LossSpec): TrainerOptions {
  return {
    model: { name: 'unet', inChannels: 1, numClasses: C, baseChannels: 8 },
    objective,
    optimizer: { name: 'adamw', lr: 1e-2, schedule: 'constant' },
    seed: 3,
  };
}

/** The step events of a fit. */
async function steps(trainer: Trainer, data: TrainingData, epochs: number): Promise<StepEvent[]> {
  const events: StepEvent[] = [];
  await trainer.fit(data, { epochs, batchSize: 8, onProgress: (e) => e.type === 'step' && events.push(e) });
  return events;
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Per class, the mean over the images of 32 × 32 where the class occurs of 2|P ∧ T| / (|P| + |T|) (evaluate's Dice). */
function perClassDice(masks: ArrayLike<number>, predicted: ArrayLike<number>, n: number): number[] {
  const dice: number[][] = Array.from({ length: C }, () => []);
  for (let i = 0; i < n; ++i) {
    const inter = new Array<number>(C).fill(0), pred = new Array<number>(C).fill(0), truth = new Array<number>(C).fill(0);
    for (let k = i * 1024; k < (i + 1) * 1024; ++k) {
      pred[predicted[k]]++;
      truth[masks[k]]++;
      if (predicted[k] === masks[k]) inter[masks[k]]++;
    }
    for (let c = 0; c < C; ++c) if (pred[c] + truth[c] > 0) dice[c].push((2 * inter[c]) / (pred[c] + truth[c]));
  }
  return dice.map((d) => (d.length ? mean(d) : NaN));
}

/** The foreground (disc) Dice of evaluate. */
async function foregroundDice(trainer: Trainer): Promise<number> {
  return (await trainer.evaluate(test)).perClassDice[1];
}

const cbl: LossSpec = [
  { loss: 'conditional-boundary', weight: 0.5 },
  { loss: 'cross-entropy', weight: 0.5 },
];
const binned: LossSpec = [{ loss: 'boundary-aware', options: { bins: 3, radius: 3 } }];

describe.skipIf(!torchReady)('Trainer: objectives with a standalone loss train', () => {
  it.each([
    ['0.5·conditional-boundary + 0.5·CE', cbl, C, 2],
    ['inverseform (CE + 0.3·BCE + 0.3·IF)', 'inverseform', C + 1, 1],
    ['boundary-aware (K = 3, R = 3)', binned, C * 3, 1],
  ] as const)('%s: the objective falls and the held-out Dice rises over 25 short epochs', { timeout: 180_000 }, async (_name, objective, channels, terms) => {
    const trainer = await Trainer.create(options(objective as LossSpec));
    try {
      const before = await foregroundDice(trainer);
      const events = await steps(trainer, train, 25);
      expect(events).toHaveLength(100);
      for (const e of events) {
        expect(e.terms).toHaveLength(terms);
        expect(Number.isFinite(e.loss)).toBe(true);
      }
      const first = mean(events.slice(0, 4).map((e) => e.loss));
      const last = mean(events.slice(-4).map((e) => e.loss));
      console.log(`${_name}: step loss ${first.toFixed(4)} → ${last.toFixed(4)}`);
      expect(last).toBeLessThan(0.8 * first);
      const after = await foregroundDice(trainer);
      console.log(`${_name}: held-out foreground Dice ${before.toFixed(3)} → ${after.toFixed(3)}`);
      expect(after).toBeGreaterThan(0.7);
      expect(after).toBeGreaterThan(before + 0.5);
      const logits = await trainer.predictLogits(test.images, test.shape as [number, number, number, number]);
      expect(logits.length).toBe(16 * channels * 32 * 32);
    } finally {
      trainer.dispose();
    }
  });

  it("conditional-boundary's gradient reaches the model through its features and head: alone (CE weight 0) it falls", { timeout: 60_000 }, async () => {
    const trainer = await Trainer.create(options([{ loss: 'conditional-boundary' }, { loss: 'cross-entropy', weight: 0 }]));
    try {
      const events = await steps(trainer, train, 4);
      const values = events.map((e) => e.terms[0]);
      console.log(`conditional-boundary alone: term ${values[0].toFixed(4)} → ${values.at(-1)?.toFixed(4)}`);
      expect(mean(values.slice(-4))).toBeLessThan(0.9 * mean(values.slice(0, 4)));
      expect(events.every((e) => e.loss === e.terms[0])).toBe(true);
    } finally {
      trainer.dispose();
    }
  });

  it("evaluate's loss is the objective the loss API computes on predictLogits (inverseform: on all C + 1 channels)", { timeout: 60_000 }, async () => {
    const trainer = await Trainer.create(options([{ loss: 'inverseform', weight: 0.7 }, { loss: 'dice', weight: 0.3 }]));
    try {
      await steps(trainer, train, 1);
      const data = shapesData(4, 32, 30, C);
      const r = await trainer.evaluate(data);
      const logits = await trainer.predictLogits(data.images, data.shape as [number, number, number, number]);
      const shape = [4, C + 1, 32, 32] as const;
      const inverseform = computeLoss('inverseform', { logits, target: data.masks, shape }).value;
      // dice on the first C channels of each image
      const seg = new Float32Array(4 * C * 32 * 32);
      for (let n = 0; n < 4; ++n) seg.set(logits.subarray(n * (C + 1) * 1024, (n * (C + 1) + C) * 1024), n * C * 1024);
      const diceLoss = computeLoss('dice', { logits: seg, target: data.masks, shape: [4, C, 32, 32] }).value;
      expect(r.loss).toBeCloseTo(0.7 * inverseform + 0.3 * diceLoss, 5);
      const classes = await trainer.predict(data.images, data.shape as [number, number, number, number]);
      const dice = perClassDice(data.masks, classes, 4);
      for (let c = 0; c < C; ++c) expect(r.perClassDice[c]).toBeCloseTo(dice[c], 12);
    } finally {
      trainer.dispose();
    }
  });

  it("boundary-aware's predict is decodeBoundaryAware of predictLogits", { timeout: 60_000 }, async () => {
    const trainer = await Trainer.create(options(binned));
    try {
      await steps(trainer, train, 2);
      const data = shapesData(4, 32, 31, C);
      const logits = await trainer.predictLogits(data.images, data.shape as [number, number, number, number]);
      const classes = await trainer.predict(data.images, data.shape as [number, number, number, number]);
      const decoded = decodeBoundaryAware(logits, [4, C * 3, 32, 32], { bins: 3, radius: 3 });
      expect(Array.from(classes)).toEqual(Array.from(decoded));
      const r = await trainer.evaluate(data);
      expect(r.loss).toBeCloseTo(computeLoss('boundary-aware', { logits, target: data.masks, shape: [4, C * 3, 32, 32] }, { bins: 3, radius: 3 }).value, 5);
    } finally {
      trainer.dispose();
    }
  });
});

describe.skipIf(!torchReady)('Trainer: standalone objectives on a TransUNet (fixed input size)', () => {
  it.each([
    ['inverseform', 'inverseform', C + 1],
    ['boundary-aware', binned, C * 3],
  ] as const)('%s: images of another size are resized in and the classes out, as for any objective', { timeout: 120_000 }, async (_name, objective, channels) => {
    const trainer = await Trainer.create({
      model: { name: 'transunet', numClasses: C, imageSize: 32, layers: 1, hidden: 32, heads: 2, mlp: 32 },
      objective: objective as LossSpec,
      optimizer: { name: 'adamw', lr: 1e-3 },
    });
    try {
      const events = await steps(trainer, shapesData(8, 32, 40, C), 1);
      expect(events.every((e) => Number.isFinite(e.loss))).toBe(true);
      const data = shapesData(2, 48, 41, C);
      const shape = data.shape as [number, number, number, number];
      const logits = await trainer.predictLogits(data.images, shape);
      expect(logits.length).toBe(2 * channels * 48 * 48);
      const classes = await trainer.predict(data.images, shape);
      expect(classes.length).toBe(2 * 48 * 48);
      expect(Math.max(...classes)).toBeLessThan(C);
      const r = await trainer.evaluate(data);
      expect(Number.isFinite(r.loss)).toBe(true);
      expect(r.perClassDice).toHaveLength(C);
    } finally {
      trainer.dispose();
    }
  });
});

describe.skipIf(!torchReady)('Trainer: standalone objectives in checkpoints', () => {
  const network = defaultInverseFormNetwork().map((x) => x * 0.5);
  it.each([
    ['conditional-boundary', cbl, C],
    ['inverseform with its own network', [{ loss: 'inverseform', options: { network, edgeWeight: 0.5 } }], C + 1],
    ['boundary-aware', binned, C * 3],
  ] as const)('%s: save/load keeps the options and the output channels, and resumes bit for bit', { timeout: 120_000 }, async (name, objective, channels) => {
    const run = async (trainer: Trainer, epochs: number) => (await steps(trainer, train, epochs)).map((e) => e.loss);
    const straight = await Trainer.create(options(objective as LossSpec));
    const all = await run(straight, 2);
    straight.dispose();
    const first = await Trainer.create(options(objective as LossSpec));
    const half = await run(first, 1);
    const file = path.join(folder, `${name.split(' ')[0]}.pt`);
    await first.save(file);
    const logits = await first.predictLogits(test.images, test.shape as [number, number, number, number]);
    const resolved = first.options;
    first.dispose();
    const again = await Trainer.load(file);
    try {
      expect(again.options).toEqual(resolved);
      const reloaded = await again.predictLogits(test.images, test.shape as [number, number, number, number]);
      expect(reloaded.length).toBe(16 * channels * 32 * 32);
      expect(reloaded).toEqual(logits);
      expect([...half, ...(await run(again, 2))]).toEqual(all);
    } finally {
      again.dispose();
    }
    if (python) {
      // the checkpoint's model is the PyTorch UNet with `channels` outputs (strict load)
      const r = interop<{ strictLoad: boolean }>('inspect', file, 1, channels, 8);
      expect(r.strictLoad).toBe(true);
    }
  });

  it("inverseform's network travels in the checkpoint's config: a trainer with the default network differs", { timeout: 60_000 }, async () => {
    const own = await Trainer.create(options([{ loss: 'inverseform', options: { network } }]));
    const shipped = await Trainer.create(options('inverseform'));
    try {
      const [a, b] = [await steps(own, train, 1), await steps(shipped, train, 1)];
      // the same model, data and CE: the first step's IF term differs with the network
      expect(a[0].loss).not.toBe(b[0].loss);
      const file = path.join(folder, 'own-network.pt');
      await own.save(file);
      const loaded = await Trainer.load(file);
      const objective = loaded.options.objective as { options: { network: number[] } }[];
      expect(objective[0].options.network).toEqual(Array.from(network));
      const data = shapesData(4, 32, 32, C);
      expect((await loaded.evaluate(data)).loss).toBe((await own.evaluate(data)).loss);
      loaded.dispose();
    } finally {
      own.dispose();
      shipped.dispose();
    }
  });
});

describe.skipIf(!torchReady)('Trainer: standalone objectives that do not fit', () => {
  it.each([
    [{ model: { name: 'transunet', numClasses: 3, imageSize: 32, layers: 1, hidden: 32, heads: 2, mlp: 32 }, objective: cbl }, RangeError,
      "Expected model 'unet' with conditional-boundary (it reads the model's features and 1×1 head; transunet's head is a 3×3 convolution) for objective"],
    [{ model: { name: 'unet' }, objective: 'conditional-boundary' }, RangeError,
      'Expected conditional-boundary with a term on the logits, which it reaches only through their argmax'],
    [{ model: { name: 'unet' }, objective: [{ loss: 'boundary-aware' }, { loss: 'cross-entropy' }] }, RangeError,
      'Expected boundary-aware alone (its model outputs C·K distance-bin channels and no segmentation logits for other terms) for objective'],
    [{ model: { name: 'unet' }, objective: [{ loss: 'inverseform' }, { loss: 'conditional-boundary' }] }, RangeError,
      "Expected at most one term of a loss with its own entry point (boundary-aware, inverseform, conditional-boundary) for objective but received ['inverseform', 'conditional-boundary']"],
    [{ model: { name: 'unet' }, objective: [{ loss: 'boundary-aware', options: { bins: 0 } }] }, RangeError,
      'Expected an integer in [1, 127] for objective[0].options.bins but received 0'],
    [{ model: { name: 'unet' }, objective: [{ loss: 'inverseform', options: { network: new Float32Array(3) } }] }, RangeError,
      'for objective[0].options.network but received length 3'],
    [{ model: { name: 'unet' }, objective: [{ loss: 'inverseform', options: { network: [1, 2] } }] }, TypeError,
      'for objective[0].options.network'],
    [{ model: { name: 'unet' }, objective: [{ loss: 'conditional-boundary', options: { centreWeight: -1 } }, { loss: 'dice' }] }, RangeError,
      'for objective[0].options.centreWeight but received -1'],
  ])('Trainer.create(%j) → %s', async (opts, type, message) => {
    const error = await Trainer.create(opts as unknown as TrainerOptions).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toContain(message);
    expect((error as { code: string }).code).toBe('SEGLOSS_INVALID_ARGUMENT');
  });
});
