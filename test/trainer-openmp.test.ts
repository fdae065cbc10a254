// The main thread stays out of OpenMP (native/addon/trainer_addon.cpp, imagesTensor): handing a
// dataset to `fit` copies it on the main thread without an ATen parallel region, so no OpenMP
// worker threads attach to the main thread for the life of the process. Such workers made libgomp
// see more threads than cores and throttle the spinning of the trainer's own workers (TransUNet ti16
// trained at 0.70× PyTorch's images/s on 2 cores; 0.95× without them: bench/results/train-cpu-*.json).
// Linux only (threads counted in /proc/self/task); its own file, so that no earlier test of the same
// process has run a parallel copy on the main thread. Skipped without the torch addon, as the other
// trainer tests.
import fs from 'fs';

import { describe, expect, it } from 'vitest';

import { Trainer } from '../src/trainer/index';
import type { TrainerOptions } from '../src/trainer/types';
import { shapesData } from './helpers/shapes';
import { torchReady, torchRequired, torchSkipReason } from './helpers/trainer';

if (!torchReady && !torchRequired) console.warn(`test/trainer-openmp.test.ts skipped: ${torchSkipReason()}`);

const linux = fs.existsSync('/proc/self/task');
const options: TrainerOptions = {
  model: { name: 'unet', inChannels: 1, numClasses: 3, baseChannels: 4 },
  optimizer: { name: 'sgd', lr: 0.05 },
  seed: 0,
  threads: 2,
};

function threadCount(): number {
  return fs.readdirSync('/proc/self/task').length;
}

/** The thread count once threads that were told to end have ended (libgomp's workers of a joined
 * thread exit on their own schedule, later under load): polled until it stops falling, at most 3 s. */
async function settledThreadCount(): Promise<number> {
  let count = threadCount();
  for (let waited = 0; waited < 3000; waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = threadCount();
    if (now >= count && waited >= 200) return now;
    count = Math.min(count, now);
  }
  return count;
}

async function fitOnce(n: number, size: number): Promise<void> {
  const trainer = await Trainer.create(options);
  try {
    await trainer.fit(shapesData(n, size, 1), { epochs: 1, batchSize: n });
  } finally {
    trainer.dispose();  // joins the job thread, whose OpenMP workers end with it
  }
}

describe.skipIf(!torchReady || !linux)('Trainer: the main thread runs no OpenMP region', () => {
  it('a fit on 8 images of 128² (a copy large enough for ATen to parallelise) leaves no thread behind', { timeout: 120_000 }, async () => {
    // Every lazily started thread of the process first, the loss engine's workers included: 2·112²
    // = 25,088 elements per array, below ATen's parallel grain (32,768); 3-class logits of 75,264.
    await fitOnce(2, 112);
    const before = await settledThreadCount();
    await fitOnce(8, 128);  // 8·128² = 131,072 elements per array
    expect(await settledThreadCount()).toBe(before);
  });
});
