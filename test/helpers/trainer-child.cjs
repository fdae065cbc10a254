// Child-process scenarios of test/trainer.test.ts, against the built package (lib/):
//   exit-during       process.exit(3) while fit runs: the trainer's thread is stopped and joined
//                     before libtorch's globals go (exit code 3, no signal)
//   worker-terminate  worker.terminate() while a worker thread's trainer fits; the main thread lives
//                     on, and its own trainer's fit, running meanwhile, completes (prints 'main fit 40')
//   raw               hostile calls straight into the native NativeTrainer: each answers with an
//                     Error, none crashes; prints a JSON summary
'use strict';

const path = require('node:path');
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');

const root = path.resolve(__dirname, '..', '..');

function smallData() {
  const n = 8, s = 32;
  return { images: new Float32Array(n * s * s), masks: new Uint8Array(n * s * s), shape: [n, 1, s, s] };
}

async function fitForever() {
  const { Trainer } = require(path.join(root, 'lib', 'index.js'));
  const trainer = await Trainer.create({ model: { name: 'unet', baseChannels: 4 } });
  return trainer.fit(smallData(), { epochs: 100000, batchSize: 2, onProgress: () => {} });
}

async function raw() {
  const { torchAddon } = require(path.join(root, 'lib', 'torch', 'addon.js'));
  const { NativeTrainer } = torchAddon();
  const problems = [];
  let errors = 0;
  const attempt = async (what, call) => {
    try {
      await call();
      problems.push(`${what}: no error`);
    } catch (error) {
      if (error instanceof Error) ++errors;
      else problems.push(`${what}: threw a non-Error`);
    }
  };
  const t = new NativeTrainer();
  const garbage = [undefined, null, 0, 'x', {}, [], new Float32Array(3), () => {}, { model: null }];
  for (const g of garbage) {
    await attempt('create', () => t.create(g));
    await attempt('fit', () => t.fit(g, g, g, g));
    await attempt('evaluate', () => t.evaluate(g, g));
    await attempt('predict', () => t.predict(g, g, g, g));
    await attempt('save', () => t.save(g));
    await attempt('open', () => t.open(g === undefined ? '/nonexistent' : g));
  }
  const config = {
    model: { name: 'unet', inChannels: 1, numClasses: 2, baseChannels: 2, bilinear: false },
    objective: { terms: [{ id: 'cross-entropy', weight: 1, activation: 'softmax', ignoreIndex: null, classWeights: null, labelSmoothing: 0 }], gradScale: 1 },
    optimizer: { name: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 0, nesterov: false },
    standalone: null,
    schedule: { name: 'constant', power: 0.9, totalSteps: 0 }, device: 'cpu', seed: 0, precision: 'float32', channelsLast: false, record: {},
    threads: 0,
  };
  // standalone terms TypeScript would never send
  const cbl = { id: 'conditional-boundary', weight: 1, activation: 'softmax', ignoreIndex: null, boundaryWidthRatio: 0.02, contextWeight: 1, neighbourClassWeight: 0.2, centreWeight: 2 };
  const inverseform = { id: 'inverseform', weight: 1, activation: 'softmax', ignoreIndex: null, segmentationWeight: 1, edgeWeight: 0.3, inverseFormWeight: 0.3 };
  const binned = { id: 'boundary-aware', weight: 1, activation: 'sigmoid', ignoreIndex: null, bins: 2, radius: 2 };
  const noTerms = { terms: [], gradScale: 1 };
  for (const [what, changes] of [
    ['standalone not an object', { standalone: 3 }],
    ['standalone of an engine loss', { standalone: { position: 0, term: config.objective.terms[0], network: null } }],
    ['standalone position outside the terms', { standalone: { position: 4, term: cbl, network: null } }],
    ['no terms at all', { objective: noTerms, standalone: null }],
    ['boundary-aware beside engine terms', { standalone: { position: 1, term: binned, network: null } }],
    ['boundary-aware with bins 0', { objective: noTerms, standalone: { position: 0, term: { ...binned, bins: 0 }, network: null } }],
    ['inverseform without a network', { objective: noTerms, standalone: { position: 0, term: inverseform, network: null } }],
    ['inverseform with a short network', { objective: noTerms, standalone: { position: 0, term: inverseform, network: new Float32Array(5) } }],
    ['inverseform with a float64 network', { objective: noTerms, standalone: { position: 0, term: inverseform, network: new Float64Array(36622) } }],
    ['conditional-boundary on a transunet', { model: { name: 'transunet', inChannels: 1, numClasses: 2, imageSize: 32, hidden: 32, layers: 1, heads: 2, mlp: 32, dropout: 0 }, standalone: { position: 1, term: cbl, network: null } }],
  ]) {
    await attempt(what, () => new NativeTrainer().create({ ...config, ...changes }));
  }
  await t.create(config);
  const data = smallData();
  const fitOptions = { epochs: 1, batchSize: 2, evalBatchSize: 2, augment: 'none', checkpoint: null, nonFinite: 'stop' };
  await attempt('lying shape', () => t.fit({ ...data, shape: [9, 1, 32, 32] }, null, fitOptions, () => {}));
  await attempt('labels out of range', () => t.fit({ ...data, masks: new Uint8Array(data.masks.length).fill(7) }, null, fitOptions, () => {}));
  await attempt('too small', () => t.predict(new Float32Array(4), [1, 1, 2, 2], 1, false));
  await attempt('zero batch', () => t.evaluate(data, 0));
  await attempt('device', () => new NativeTrainer().create({ ...config, device: 'cuda:7' }));
  await attempt('model name', () => new NativeTrainer().create({ ...config, model: { ...config.model, name: 'vnet' } }));
  const busy = t.fit(data, null, { ...fitOptions, epochs: 3 }, () => {});
  await attempt('busy', () => t.evaluate(data, 2));
  await busy;
  t.dispose();
  await attempt('disposed', () => t.evaluate(data, 2));
  console.log(JSON.stringify({ errors, problems }));
}

const mode = isMainThread ? process.argv[2] : workerData;
if (mode === 'exit-during') {
  fitForever().catch(() => {});
  setTimeout(() => process.exit(3), 500);
} else if (mode === 'worker-terminate' && isMainThread) {
  const { Trainer } = require(path.join(root, 'lib', 'index.js'));
  (async () => {
    const trainer = await Trainer.create({ model: { name: 'unet', baseChannels: 4 } });
    const mainFit = trainer.fit(smallData(), { epochs: 40, batchSize: 4 });
    const worker = new Worker(__filename, { workerData: 'worker-fit' });
    await new Promise((resolve) => worker.once('message', resolve));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await worker.terminate();
    console.log('main alive');
    const result = await mainFit;
    console.log(`main fit ${result.epoch}`);
    trainer.dispose();
  })().catch((error) => console.log(`main failed: ${error.message}`));
} else if (mode === 'worker-fit') {
  parentPort.postMessage('fitting');
  fitForever().catch(() => {});
} else if (mode === 'raw') {
  raw().catch((error) => {
    console.log(JSON.stringify({ errors: 0, problems: [`raw: ${error.message}`] }));
  });
}
