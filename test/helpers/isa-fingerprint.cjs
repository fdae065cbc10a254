// Child-process helper of the CPU-kernel tests: computes a fixed set of losses with the segloss
// package found from `process.argv[2]` (a module path, e.g. 'segloss' or the repo's lib/index.js)
// and prints, as JSON, the active CPU kernels and every value and gradient as hex bytes, so two
// binaries can be compared bit for bit. SEGLOSS_CPU_ISA / SEGLOSS_NUM_THREADS come from the env.
'use strict';
const { computeLoss, cpuEngineInfo, coreAddonLocation } = require(process.argv[2]);

function inputs(B, C, H, W, Logits, seed) {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  const logits = new Logits(B * C * H * W);
  for (let i = 0; i < logits.length; ++i) logits[i] = 8 * next() - 4;
  const K = C === 1 ? 2 : C;
  const target = new Uint8Array(B * H * W);
  for (let i = 0; i < target.length; ++i) target[i] = next() < 0.1 ? 255 : Math.floor(next() * K);
  return { logits, target, shape: [B, C, H, W] };
}

const diceCe = [
  { loss: 'dice', weight: 0.5 },
  { loss: 'cross-entropy', weight: 0.5 },
];
const cases = [
  ['dice+ce f32', diceCe, inputs(2, 5, 37, 41, Float32Array, 7), { ignoreIndex: 255 }],
  ['dice+ce f64', diceCe, inputs(2, 5, 37, 41, Float64Array, 8), { ignoreIndex: 255 }],
  ['dice squared perImage f32', 'dice', inputs(3, 4, 19, 23, Float32Array, 9), { squared: true, perImage: true, ignoreIndex: 255 }],
  ['ce weights smoothing f32', 'cross-entropy', inputs(2, 3, 33, 17, Float32Array, 10), { classWeights: [1, 2, 0.5], labelSmoothing: 0.1, ignoreIndex: 255 }],
  ['dice sigmoid C=1 f32', 'dice', inputs(2, 1, 29, 31, Float32Array, 11), { ignoreIndex: 255 }],
  ['ce sigmoid f32', 'cross-entropy', inputs(1, 3, 50, 60, Float32Array, 12), { activation: 'sigmoid', ignoreIndex: 255 }],
];

const hex = (array) => Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString('hex');
const results = {};
for (const [name, spec, input, options] of cases) {
  const r = computeLoss(spec, input, { ...options, grad: true });
  results[name] = { value: r.value, valueHex: hex(Float64Array.of(r.value)), gradHex: hex(r.grad), grad: Array.from(r.grad) };
}
console.log(JSON.stringify({ cpu: cpuEngineInfo(), location: coreAddonLocation(), results }));
