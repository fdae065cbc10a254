// Training faults (docs/reliability.md): a non-finite step is caught before the update ('stop'
// rejects naming the step, 'skip' drops it; the weights never take it), running out of memory is
// an Error that suggests a smaller batch and leaves the trainer usable, and checkpoints survive
// SIGKILL while they are written and locations that cannot be written.
//
// Skipped, with the reason printed, when the torch addon is not built; SEGLOSS_REQUIRE_TORCH=1
// (CI) turns the skip into a failure (test/trainer.test.ts checks that the addon loads).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { Trainer, TRAINER_NON_FINITE, TRAINER_OUT_OF_MEMORY } from '../src/trainer/index';
import type { StepEvent, TrainerOptions } from '../src/trainer/types';
import { shapesData } from './helpers/shapes';
import { tempFolder, torchReady, torchRequired, torchSkipReason } from './helpers/trainer';

if (!torchReady && !torchRequired) console.warn(`test/trainer-faults.test.ts skipped: ${torchSkipReason()}`);

const root = path.resolve(__dirname, '..');
const folder = tempFolder('segloss-trainer-faults-');
afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

// One step per epoch (batch = the whole set), so "s steps" is "s epochs" with the same batches,
// and an lr that makes the weights blow up within a few steps (the schedule fixed by totalSteps).
const data = shapesData(4, 32, 21);
const diverging: TrainerOptions = {
  model: { name: 'unet', inChannels: 1, numClasses: 3, baseChannels: 4 },
  optimizer: { name: 'sgd', lr: 1e18, momentum: 0.9, totalSteps: 12, schedule: 'constant' },
  seed: 5,
};

function bytes(values: Float32Array): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

describe.skipIf(!torchReady)('Trainer: non-finite steps', () => {
  it("'stop' rejects at the first non-finite step, naming it, with the weights from before it; the trainer stays usable", async () => {
    const trainer = await Trainer.create(diverging);
    const steps: StepEvent[] = [];
    const error = await trainer
      .fit(data, { epochs: 12, batchSize: 4, onProgress: (e) => e.type === 'step' && steps.push(e) })
      .then(() => null, (e: unknown) => e as Error & { code?: string });
    expect(error, 'the lr must make training diverge within 12 steps').not.toBeNull();
    expect(error?.code).toBe(TRAINER_NON_FINITE);
    const failed = trainer.step;
    expect(failed).toBeGreaterThan(0);
    expect(steps).toHaveLength(failed);
    expect(steps.every((s) => Number.isFinite(s.loss) && !s.skipped)).toBe(true);
    expect(error?.message).toMatch(new RegExp(`(the logits|term \\d \\('\\w[\\w-]*'\\)|the gradient) of step ${failed} \\(epoch ${failed}\\) are not finite; the step was not applied`));
    // The same seed trained for exactly `failed` steps has the same weights: bit-identical logits.
    const reference = await Trainer.create(diverging);
    await reference.fit(data, { epochs: failed, batchSize: 4 });
    const [mine, theirs] = await Promise.all([trainer.predictLogits(data.images, data.shape), reference.predictLogits(data.images, data.shape)]);
    expect(bytes(mine).equals(bytes(theirs))).toBe(true);
    // Still usable: it evaluates, saves and loads.
    const file = path.join(folder, 'after-stop.pt');
    await trainer.save(file);
    const again = await Trainer.load(file);
    expect(again.step).toBe(failed);
    again.dispose();
    reference.dispose();
    trainer.dispose();
  }, 120_000);

  it("'skip' drops every non-finite step (reported with skipped: true) and never applies it", async () => {
    const trainer = await Trainer.create(diverging);
    const steps: StepEvent[] = [];
    const epochs: number[] = [];
    await trainer.fit(data, {
      epochs: 12,
      batchSize: 4,
      nonFinite: 'skip',
      onProgress: (e) => {
        if (e.type === 'step') steps.push(e);
        if (e.type === 'epoch') epochs.push(e.loss);
      },
    });
    expect(steps).toHaveLength(12);
    const firstSkipped = steps.findIndex((s) => s.skipped);
    expect(firstSkipped).toBeGreaterThan(0);
    expect(steps.slice(0, firstSkipped).every((s) => Number.isFinite(s.loss))).toBe(true);
    expect(steps.slice(firstSkipped).every((s) => s.skipped === true)).toBe(true);
    // The weights are those of the last applied step, as a trainer that stopped there.
    const reference = await Trainer.create(diverging);
    await reference.fit(data, { epochs: firstSkipped, batchSize: 4 });
    const [mine, theirs] = await Promise.all([trainer.predictLogits(data.images, data.shape), reference.predictLogits(data.images, data.shape)]);
    expect(bytes(mine).equals(bytes(theirs))).toBe(true);
    // Epochs whose only step was skipped have no images: their loss is 0, never NaN.
    expect(epochs.slice(firstSkipped).every((l) => l === 0)).toBe(true);
    await expect(trainer.fit(data, { epochs: 13, nonFinite: 'ignore' as never })).rejects.toThrow("Expected one of 'stop', 'skip' for options.nonFinite but received 'ignore'");
    reference.dispose();
    trainer.dispose();
  }, 120_000);
});

describe.skipIf(!torchReady)('Trainer: out of memory', () => {
  it('a batch too large for the machine rejects with SEGLOSS_OUT_OF_MEMORY, suggesting a smaller batch; the trainer trains on', async () => {
    // Two 8192² images: UNet's first activation alone is 2·64·8192²·4 bytes = 34 GB.
    const side = 8192;
    const trainer = await Trainer.create({ model: { name: 'unet', inChannels: 1, numClasses: 2, baseChannels: 64 }, seed: 0 });
    const huge = { images: new Float32Array(2 * side * side), masks: new Uint8Array(2 * side * side), shape: [2, 1, side, side] as const };
    const error = await trainer.fit(huge, { epochs: 1, batchSize: 2 }).then(() => null, (e: unknown) => e as Error & { code?: string });
    expect(error?.code, String(error)).toBe(TRAINER_OUT_OF_MEMORY);
    expect(error?.message).toMatch(/out of memory .*try a smaller batchSize/);
    await expect(trainer.evaluate(huge, { batchSize: 2 })).rejects.toMatchObject({ code: TRAINER_OUT_OF_MEMORY });
    const small = shapesData(2, 32, 3);
    const done = await trainer.fit({ ...small, masks: small.masks.map((v) => Math.min(v, 1)) }, { epochs: 1, batchSize: 2 });
    expect(Number.isFinite(done.loss)).toBe(true);
    trainer.dispose();
  }, 120_000);
});

/** Starts the checkpoint writer, kills it with SIGKILL `delayMs` after its first save. */
function killWhileSaving(file: string, delayMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'helpers', 'checkpoint-writer.cjs'), file], { cwd: root });
    let saves = 0;
    let armed = false;
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      saves += (chunk.toString().match(/saved/g) ?? []).length;
      if (!armed) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(saves) : reject(new Error(`writer exited ${code}: ${stderr}`))));
  });
}

describe.skipIf(!torchReady)('Trainer: checkpoints are never lost', () => {
  it('SIGKILL at random moments while a checkpoint is rewritten leaves a loadable checkpoint every time', async () => {
    const file = path.join(folder, 'killed.pt');
    let seed = 12345;
    const delays: number[] = [];
    for (let kill = 0; kill < 8; ++kill) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      delays.push(seed % 400);
    }
    for (const delay of delays) {
      const saves = await killWhileSaving(file, delay);
      expect(saves).toBeGreaterThan(0);
      const restored = await Trainer.load(file);
      expect(restored.parameterCount).toBe(1_942_323);
      restored.dispose();
    }
  }, 240_000);

  it('a truncated or corrupted checkpoint is an error naming the file; a location that cannot be written keeps the previous one', async () => {
    const trainer = await Trainer.create({ model: { name: 'unet', inChannels: 1, numClasses: 3, baseChannels: 4 }, seed: 2 });
    const file = path.join(folder, 'good.pt');
    await trainer.save(file);
    const good = fs.readFileSync(file);
    const truncated = path.join(folder, 'truncated.pt');
    fs.writeFileSync(truncated, good.subarray(0, Math.floor(good.length / 2)));
    await expect(Trainer.load(truncated)).rejects.toThrow(/truncated\.pt is damaged \(truncated or corrupted\)/);
    const corrupted = path.join(folder, 'corrupted.pt');
    const flipped = Buffer.from(good);
    for (let k = Math.floor(flipped.length / 3); k < flipped.length / 3 + 64; ++k) flipped[k] ^= 0xff;
    fs.writeFileSync(corrupted, flipped);
    await expect(Trainer.load(corrupted)).rejects.toThrow(/corrupted\.pt is damaged \(truncated or corrupted\): record '.*' fails its CRC-32 check/);
    // Under a regular file (ENOTDIR): the save fails, the file it would have gone under is intact.
    await expect(trainer.save(path.join(file, 'inside.pt'))).rejects.toThrow(/inside\.pt/);
    expect(fs.readFileSync(file).equals(good)).toBe(true);
    const reloaded = await Trainer.load(file);
    reloaded.dispose();
    trainer.dispose();
  });
});
