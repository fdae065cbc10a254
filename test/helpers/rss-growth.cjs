// Resident memory across many calls of one kind: `node --expose-gc rss-growth.cjs <kind> <calls>`.
// Warms up (as many calls), collects garbage, records RSS, runs `calls` more, collects garbage again
// and prints { kind, calls, baselineMB, finalMB, growthMB, check } as JSON. `check` is a value of
// the last call, so that the work cannot be skipped.
'use strict';

const path = require('node:path');

const segloss = require(path.join(__dirname, '..', '..', 'lib', 'index.js'));

const [kind, callsArg] = process.argv.slice(2);
const calls = Number(callsArg);

const shape = [2, 3, 8, 8];
const logits = Float32Array.from({ length: 2 * 3 * 64 }, (_, i) => Math.sin(i * 0.3) * 2);
const target = Uint8Array.from({ length: 2 * 64 }, (_, i) => i % 3);
const objective = [{ loss: 'dice', weight: 0.5 }, { loss: 'cross-entropy', weight: 0.5 }];
const mask = Uint8Array.from({ length: 16 * 16 }, (_, i) => (i % 5 === 0 ? 0 : 1));
const other = Uint8Array.from(mask, (v, i) => (i % 7 === 0 ? 1 - v : v));
const labels = Uint8Array.from({ length: 4 * 8 * 8 }, (_, i) => i % 4);
const guess = Uint8Array.from(labels, (v, i) => (i % 3 === 0 ? (v + 1) % 4 : v));

const kinds = {
  // computeLoss with a new gradient array per call, then with a reused gradOut.
  computeLoss: () => segloss.computeLoss(objective, { logits, target, shape }, { grad: true, ignoreIndex: 2 }).value,
  computeLossGradOut: (() => {
    const gradOut = new Float32Array(logits.length);
    return () => segloss.computeLoss('tversky', { logits, target, shape }, { grad: true, gradOut }).value;
  })(),
  // Validation errors thrown from native-bound paths (label out of range found by the engine).
  computeLossErrors: () => {
    try {
      segloss.computeLoss('dice', { logits, target: new Uint8Array(128).fill(9), shape }, { grad: true });
    } catch (error) {
      return error.code;
    }
    throw new Error('expected an error');
  },
  distanceTransform: () => segloss.distanceTransform(mask, [16, 16], { spacing: [0.5, 2] })[17],
  distanceMap: () => segloss.distanceMap('boundary', mask, [16, 16])[17],
  metrics: () => segloss.metrics.hausdorff95(mask, other, [16, 16]) + segloss.metrics.evaluateVolume(guess, labels, [4, 8, 8], 4).meanDice + segloss.metrics.meanIoU(guess, labels, 4).meanIoU,
};
const asyncKinds = {
  computeLossAsync: () => segloss.computeLossAsync(objective, { logits, target, shape }, { grad: true }).then((r) => r.value),
  distanceTransformAsync: (() => {
    const out = new Float64Array(mask.length);
    return () => segloss.distanceTransformAsync(mask, [16, 16], { out }).then((d) => d[17]);
  })(),
};

// One at a time: a trainer created, trained one step (a tiny UNet, 2 images of 16×16) and disposed.
const trainerImages = Float32Array.from({ length: 2 * 16 * 16 }, (_, i) => (i % 11) / 11);
const trainerMasks = Uint8Array.from({ length: 2 * 16 * 16 }, (_, i) => (i % 11 > 5 ? 1 : 0));
const sequentialKinds = {
  trainerCycles: async () => {
    const trainer = await segloss.Trainer.create({ model: { name: 'unet', inChannels: 1, numClasses: 2, baseChannels: 2 }, seed: 1 });
    const result = await trainer.fit({ images: trainerImages, masks: trainerMasks, shape: [2, 1, 16, 16] }, { epochs: 1, batchSize: 2 });
    trainer.dispose();
    return result.step;
  },
};

async function run(n) {
  let check;
  if (sequentialKinds[kind]) {
    for (let i = 0; i < n; ++i) check = await sequentialKinds[kind]();
    return check;
  }
  if (kinds[kind]) {
    for (let i = 0; i < n; ++i) check = kinds[kind]();
    return check;
  }
  // Async: 16 calls in flight at a time.
  for (let i = 0; i < n; i += 16) {
    const batch = await Promise.all(Array.from({ length: Math.min(16, n - i) }, () => asyncKinds[kind]()));
    check = batch[batch.length - 1];
  }
  return check;
}

const mb = () => process.memoryUsage.rss() / 2 ** 20;
const settle = () => {
  for (let i = 0; i < 3; ++i) global.gc();
};

(async () => {
  if (!kinds[kind] && !asyncKinds[kind] && !sequentialKinds[kind]) throw new Error(`unknown kind ${kind}`);
  await run(calls); // warm-up: as many calls as measured, so V8 heap growth is over
  settle();
  const baselineMB = mb();
  const check = await run(calls);
  settle();
  const finalMB = mb();
  console.log(JSON.stringify({ kind, calls, baselineMB, finalMB, growthMB: finalMB - baselineMB, check }));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
