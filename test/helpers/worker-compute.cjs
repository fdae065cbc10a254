// Worker-thread body and shared inputs for test/worker-threads.test.ts: computes a fixed set of
// losses (sync and async), distance transforms and metrics from `workerData.seed` and posts the
// results; `workerData.mode === 'terminate-mid-call'` starts long async calls and never waits.
'use strict';

const path = require('node:path');
const { parentPort, workerData, isMainThread } = require('node:worker_threads');

const segloss = require(path.join(__dirname, '..', '..', 'lib', 'index.js'));

function inputs(seed) {
  const shape = [2, 4, 24, 20];
  const n = 2 * 4 * 24 * 20;
  const logits = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.013 * (seed + 1)) * 5);
  const target = Uint8Array.from({ length: 2 * 480 }, (_, i) => (i * (seed + 3)) % 4);
  const mask = Uint8Array.from({ length: 3 * 40 * 36 }, (_, i) => ((i * (seed + 7)) % 11 === 0 ? 0 : 1));
  return { shape, logits, target, mask };
}

async function compute(seed) {
  const { shape, logits, target, mask } = inputs(seed);
  const objective = [{ loss: 'dice', weight: 0.5 }, { loss: 'cross-entropy', weight: 0.5 }];
  const sync = segloss.computeLoss(objective, { logits, target, shape }, { grad: true, ignoreIndex: 3 });
  const viaAsync = await segloss.computeLossAsync('focal-tversky', { logits, target, shape }, { grad: true });
  const edt = segloss.distanceTransform(mask, [3, 40, 36], { dims: 2, spacing: [0.7, 1.3] });
  const edtAsync = await segloss.distanceTransformAsync(mask, [3, 40, 36], { spacing: [2, 0.7, 1.3] });
  const hd95 = segloss.metrics.hausdorff95(mask.subarray(0, 1440), mask.subarray(1440, 2880), [40, 36]);
  return { value: sync.value, grad: sync.grad, asyncValue: viaAsync.value, asyncGrad: viaAsync.grad, edt, edtAsync, hd95 };
}

module.exports = { compute };

if (!isMainThread) {
  if (workerData.mode === 'terminate-mid-call') {
    const big = new Float32Array(8 * 8 * 256 * 256).map((_, i) => Math.sin(i));
    const labels = new Uint8Array(8 * 256 * 256).map((_, i) => i % 8);
    for (let i = 0; i < 4; ++i) {
      segloss.computeLossAsync('dice', { logits: big, target: labels, shape: [8, 8, 256, 256] }, { grad: true, gradOut: new Float32Array(big.length) }).catch(() => {});
      segloss.distanceTransformAsync(new Uint8Array(1024 * 1024).fill(1), [1024, 1024], { out: new Float64Array(1024 * 1024) }).catch(() => {});
    }
    parentPort.postMessage('started');
  } else {
    compute(workerData.seed).then((r) => parentPort.postMessage(r), (e) => parentPort.postMessage({ error: String(e?.stack ?? e) }));
  }
}
