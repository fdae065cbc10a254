// Trainers side by side (docs/reliability.md): two trainers train at the same time and each gets
// the result it gets alone, bit for bit; BatchNorm's batch of one image at a 1×1 feature map is a
// RangeError before training, not a libtorch error mid-epoch; a trainer's `threads` are its own
// (another trainer created after it still gets libtorch's default). (1,000 create / one-step / dispose
// cycles with flat RSS: test/memory-growth.test.ts.)
//
// Skipped, with the reason printed, when the torch addon is not built; SEGLOSS_REQUIRE_TORCH=1
// (CI) turns the skip into a failure (test/trainer.test.ts checks that the addon loads).
import { describe, expect, it } from 'vitest';

import { torchInfo } from '../src/torch';
import { Trainer, TRAINER_BUSY } from '../src/trainer/index';
import type { TrainerOptions } from '../src/trainer/types';
import { shapesData } from './helpers/shapes';
import { torchReady, torchRequired, torchSkipReason } from './helpers/trainer';

if (!torchReady && !torchRequired) console.warn(`test/trainer-concurrency.test.ts skipped: ${torchSkipReason()}`);

const small = (seed: number, baseChannels = 4): TrainerOptions => ({
  model: { name: 'unet', inChannels: 1, numClasses: 3, baseChannels },
  optimizer: { name: 'sgd', lr: 0.05 },
  seed,
});

async function withTrainer<T>(options: TrainerOptions, use: (trainer: Trainer) => Promise<T>): Promise<T> {
  const trainer = await Trainer.create(options);
  try {
    return await use(trainer);
  } finally {
    trainer.dispose();
  }
}

async function trainAlone(options: TrainerOptions, data: ReturnType<typeof shapesData>): Promise<{ losses: number[]; logits: Float32Array }> {
  const trainer = await Trainer.create(options);
  try {
    const losses: number[] = [];
    await trainer.fit(data, { epochs: 2, batchSize: 4, onProgress: (e) => e.type === 'step' && losses.push(e.loss) });
    return { losses, logits: await trainer.predictLogits(data.images, data.shape) };
  } finally {
    trainer.dispose();
  }
}

describe.skipIf(!torchReady)('Trainer: concurrency and resource use', () => {
  it('two trainers training at once each give what they give alone, bit for bit', { timeout: 120_000 }, async () => {
    const a = shapesData(8, 32, 3);
    const b = shapesData(8, 32, 4);
    const aloneA = await trainAlone(small(1), a);
    const aloneB = await trainAlone(small(2, 8), b);
    const [togetherA, togetherB] = await Promise.all([trainAlone(small(1), a), trainAlone(small(2, 8), b)]);
    expect(togetherA.losses).toEqual(aloneA.losses);
    expect(togetherB.losses).toEqual(aloneB.losses);
    expect(Buffer.from(togetherA.logits.buffer).equals(Buffer.from(aloneA.logits.buffer))).toBe(true);
    expect(Buffer.from(togetherB.logits.buffer).equals(Buffer.from(aloneB.logits.buffer))).toBe(true);
    expect(aloneA.losses).not.toEqual(aloneB.losses);
  });

  it("threads: each trainer's jobs run with its own count; the default is libtorch's, also after another trainer's", { timeout: 60_000 }, async () => {
    const data = shapesData(4, 32, 5);
    const defaultThreads = (await withTrainer(small(4), async (t) => t.threads));
    expect(defaultThreads).toBe(torchInfo().threads);
    for (const threads of [1, 3]) {
      expect(await withTrainer({ ...small(4), threads }, async (t) => {
        await t.fit(data, { epochs: 1, batchSize: 4 });
        return t.threads;
      })).toBe(threads);
    }
    expect(await withTrainer(small(4), async (t) => t.threads)).toBe(defaultThreads);
    // The same count gives the same training, bit for bit.
    const once = await trainAlone({ ...small(5), threads: 1 }, data);
    const again = await trainAlone({ ...small(5), threads: 1 }, data);
    expect(again.losses).toEqual(once.losses);
    expect(Buffer.from(again.logits.buffer).equals(Buffer.from(once.logits.buffer))).toBe(true);
  });

  it('a second fit while one runs is refused with TRAINER_BUSY; the first fit ends as it does alone; evaluate waits its turn', { timeout: 60_000 }, async () => {
    const data = shapesData(8, 32, 7);
    const alone = await trainAlone(small(8), data);
    const trainer = await Trainer.create(small(8));
    try {
      const losses: number[] = [];
      const first = trainer.fit(data, { epochs: 2, batchSize: 4, onProgress: (e) => e.type === 'step' && losses.push(e.loss) });
      const second = trainer.fit(data, { epochs: 2, batchSize: 4 });
      await expect(second).rejects.toMatchObject({ code: TRAINER_BUSY, message: expect.stringContaining('another fit of this trainer is still running') });
      const evaluation = trainer.evaluate(data);
      await first;
      expect(losses).toEqual(alone.losses);
      expect((await evaluation).images).toBe(8);
      expect(Buffer.from((await trainer.predictLogits(data.images, data.shape)).buffer).equals(Buffer.from(alone.logits.buffer))).toBe(true);
      await trainer.fit(data, { epochs: 3, batchSize: 4 }); // after the first settled, the next fit runs
      expect(trainer.epoch).toBe(3);
    } finally {
      trainer.dispose();
    }
  });

  it.each([
    [0, RangeError, 'Expected an integer in [1, 1024] for threads but received 0'],
    [2.5, RangeError, 'Expected an integer in [1, 1024] for threads but received 2.5'],
    ['2', TypeError, "Expected an integer in [1, 1024] for threads but received '2'"],
  ])('threads %j is a %O naming threads', async (threads, type, message) => {
    const attempt = Trainer.create({ ...small(6), threads: threads as number });
    await expect(attempt).rejects.toBeInstanceOf(type);
    await expect(attempt).rejects.toThrow(message);
  });

  it("a batch of one image where the UNet's deepest map is 1×1 is a RangeError naming batchSize", async () => {
    const trainer = await Trainer.create(small(3, 2));
    try {
      const three = shapesData(3, 16, 6);
      await expect(trainer.fit(three, { epochs: 1, batchSize: 2 })).rejects.toThrow(
        "Expected a batch size that leaves no batch of one image (at 16×16 the UNet's deepest feature map is 1×1, and BatchNorm needs more than one value per channel) for options.batchSize but received 2 (N = 3 leaves a batch of 1)",
      );
      await expect(trainer.fit(shapesData(1, 16, 6), { epochs: 1 })).rejects.toThrow('(N = 1 leaves a batch of 1)');
      await trainer.fit(three, { epochs: 1, batchSize: 3 }); // one batch of 3 trains
      await trainer.fit(shapesData(3, 32, 6), { epochs: 2, batchSize: 2 }); // 2×2 at 32×32: a batch of 1 is fine
    } finally {
      trainer.dispose();
    }
  });
});
