// Runs hostile inputs through the built package (lib/) in a plain Node process: every call must
// return a finite value or throw / reject an Error, never crash or hang. Prints a JSON summary on
// the last line of stdout; test/hostile.test.ts runs it in a child process and checks exit code 0.
'use strict';

const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const segloss = require(path.join(root, 'lib', 'index.js'));
const { coreAddon } = require(path.join(root, 'lib', 'native', 'core.js'));

const HOSTILE = 'HOSTILE';
const hostileError = () => Object.assign(new Error('hostile getter'), { code: HOSTILE });

// A proxy that throws from every trap.
const exploding = new Proxy({}, {
  get() { throw hostileError(); },
  has() { throw hostileError(); },
  ownKeys() { throw hostileError(); },
  getOwnPropertyDescriptor() { throw hostileError(); },
  getPrototypeOf() { throw hostileError(); },
});

function detached(ctor, n) {
  const array = new ctor(n);
  structuredClone(array.buffer, { transfer: [array.buffer] });
  return array;
}

class LyingFloat32 extends Float32Array {
  get length() { return 24; }
}
class LyingUint8 extends Uint8Array {
  get length() { return 8; }
}

const good = () => ({ logits: new Float32Array(24), target: new Uint8Array(8), shape: [2, 3, 2, 2] });

const weirdValues = [
  undefined, null, 0, -0, 1, -1, 1.5, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 63), 10n, '', 'dice',
  'cross-entropy', '__proto__', 'constructor', true, false, Symbol('s'), () => 1, [], [1], [1, 2, 3, 4],
  {}, Object.create(null), exploding, new Float32Array(24), new Float64Array(3), new Uint8Array(8),
  new Int32Array(8), new BigInt64Array(8), new DataView(new ArrayBuffer(8)), new ArrayBuffer(96),
  detached(Float32Array, 24), detached(Uint8Array, 8), new Map(), new Date(), /re/, new Error('x'),
  Promise.resolve(1), new Float32Array(new SharedArrayBuffer(96)), new Uint8Array(new SharedArrayBuffer(8)),
  new Float32Array(new ArrayBuffer(200), 8, 24), new LyingFloat32(2), new LyingUint8(2),
];

const weirdInputs = [
  ...weirdValues,
  { ...good(), logits: exploding },
  { ...good(), shape: exploding },
  { get logits() { throw hostileError(); }, target: new Uint8Array(8), shape: [2, 3, 2, 2] },
  { ...good(), shape: [1e9, 1e9, 1e9, 1e9] },
  { ...good(), shape: [2, 3, 2, 2, 1, 1] },
  { ...good(), shape: [2, 3, , 2] }, // eslint-disable-line no-sparse-arrays
  { ...good(), shape: new Proxy([2, 3, 2, 2], { get(t, k) { if (k === '2') throw hostileError(); return t[k]; } }) },
  { ...good(), shape: [2, 3, 2, { valueOf() { throw hostileError(); } }] },
  { ...good(), logits: detached(Float32Array, 24) },
  { ...good(), target: detached(Uint8Array, 8) },
  { ...good(), logits: new LyingFloat32(2) },
  { ...good(), target: new LyingUint8(2) },
  { ...good(), logits: new Float32Array(new SharedArrayBuffer(96)) },
  { ...good(), target: new Uint8Array(8).fill(255) },
  { ...good(), logits: new Float32Array(24).fill(3.4e38) },
  { ...good(), logits: new Float32Array(24).fill(-3.4e38) },
  { ...good(), logits: new Float64Array(24).fill(1.7e308) },
  { ...good(), logits: new Float64Array(24).fill(5e-324) },
  Object.freeze(good()),
  Object.assign(Object.create(good()), {}),
  good(),
];

const weirdOptions = [
  ...weirdValues,
  JSON.parse('{"__proto__": {"grad": true, "polluted": 1}}'),
  { grad: true, gradScale: 5e-324 },
  { ignoreIndex: -(2 ** 53) + 1 },
  { ignoreIndex: 2 ** 53 - 1 },
  { ignoreIndex: 0, grad: true },
  { activation: 'none', grad: true },
  { activation: 'sigmoid', grad: true, smooth: 0 },
  { classWeights: new Array(1e6).fill(1) },
  { classWeights: [0, 0, 0], grad: true },
  { classWeights: [1e308, 1e308, 1e308], grad: true },
  { classWeights: new Proxy([1, 1, 1], { get(t, k) { if (k === '1') throw hostileError(); return t[k]; } }) },
  { labelSmoothing: 1, grad: true },
  { smooth: 1e308, grad: true },
  { smooth: 0, logLoss: true, grad: true },
  { preset: 'smp', smooth: 0, grad: true },
  { preset: 'nnunet', perImage: true, grad: true },
  { get grad() { throw hostileError(); } },
  { signal: exploding },
  { signal: AbortSignal.abort() },
  { toString() { throw hostileError(); } },
  exploding,
];

const weirdLosses = [
  ...weirdValues,
  [{ loss: 'dice', options: exploding }],
  [{ loss: 'dice' }, exploding],
  new Array(1000).fill({ loss: 'dice', weight: 0.001 }),
  [{ loss: 'cross-entropy', options: { classWeights: [1, 2, 3] } }],
  'dice',
  'cross-entropy',
];

// Requests whose value or gradient may overflow to ±Infinity legitimately (weights or an
// upstream gradient near the largest double): for them only "a number or an Error" is required.
const overflowing = new WeakSet();
const overflow = (x) => {
  overflowing.add(x);
  return x;
};
weirdOptions.push(overflow({ grad: true, gradScale: 1e308 }), overflow({ grad: true, gradScale: -1e308 }));
weirdLosses.push(overflow([{ loss: 'dice', weight: 1e308 }, { loss: 'cross-entropy', weight: 1e308 }]));

const allowedCodes = new Set(['SEGLOSS_INVALID_ARGUMENT', 'SEGLOSS_NATIVE', 'ABORT_ERR', HOSTILE]);
const summary = { calls: 0, values: 0, errors: 0, byCode: {}, problems: [] };

function record(outcome, label, args = []) {
  summary.calls += 1;
  if (outcome.ok) {
    const mayOverflow = args.some((a) => typeof a === 'object' && a !== null && overflowing.has(a));
    if (typeof outcome.value !== 'number' || (!mayOverflow && !Number.isFinite(outcome.value))) {
      summary.problems.push(`${label}: non-finite value ${outcome.value}`);
    }
    if (outcome.grad && !mayOverflow && !outcome.grad.every(Number.isFinite)) {
      summary.problems.push(`${label}: non-finite gradient`);
    }
    summary.values += 1;
    return;
  }
  const error = outcome.error;
  summary.errors += 1;
  if (!(error instanceof Error)) {
    summary.problems.push(`${label}: threw a non-Error ${String(error)}`);
    return;
  }
  const code = error.code ?? `(${error.name})`;
  summary.byCode[code] = (summary.byCode[code] ?? 0) + 1;
  if (!allowedCodes.has(error.code)) summary.problems.push(`${label}: ${error.name} ${code}: ${error.message}`);
}

function syncCall(fn) {
  try {
    const result = fn();
    return { ok: true, value: result && typeof result === 'object' ? result.value : result, grad: result?.grad };
  } catch (error) {
    return { ok: false, error };
  }
}

async function asyncCall(fn) {
  try {
    const result = await fn();
    return { ok: true, value: result && typeof result === 'object' ? result.value : result, grad: result?.grad };
  } catch (error) {
    return { ok: false, error };
  }
}

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function main() {
  const pick = (random, list) => list[Math.floor(random() * list.length)];
  const combos = [];
  // Each axis varied alone around a good call, then random combinations.
  for (const loss of weirdLosses) combos.push([loss, good(), { grad: true }]);
  for (const input of weirdInputs) for (const loss of ['dice', 'cross-entropy']) combos.push([loss, input, { grad: true }]);
  for (const options of weirdOptions) for (const loss of ['dice', 'cross-entropy']) combos.push([loss, good(), options]);
  const random = rng(1234);
  for (let i = 0; i < 600; ++i) combos.push([pick(random, weirdLosses), pick(random, weirdInputs), pick(random, weirdOptions)]);

  combos.forEach(([loss, input, options], i) =>
    record(syncCall(() => segloss.computeLoss(loss, input, options)), `sync #${i}`, [loss, options]),
  );
  const pending = combos.map(([loss, input, options], i) =>
    asyncCall(() => segloss.computeLossAsync(loss, input, options)).then((o) => record(o, `async #${i}`, [loss, options])),
  );
  await Promise.all(pending);

  // The raw binding, with arguments TypeScript would never send.
  const addon = coreAddon();
  const rawArgs = [...weirdValues, [2, 3, 4], { terms: [], gradScale: 1 }, { terms: [{}], gradScale: 1 }];
  for (let i = 0; i < 800; ++i) {
    const args = Array.from({ length: Math.floor(random() * 7) }, () => pick(random, rawArgs));
    record(syncCall(() => addon.computeLoss(...args)), `raw sync #${i}`);
    record(await asyncCall(() => addon.computeLossAsync(...args)), `raw async #${i}`);
  }

  if (Object.prototype.polluted !== undefined || {}.grad !== undefined) summary.problems.push('Object.prototype was polluted');
  // The process still works after all that.
  const after = segloss.computeLoss('dice', good(), { grad: true });
  if (!Number.isFinite(after.value)) summary.problems.push('computeLoss broken after the battery');
  console.log(JSON.stringify(summary));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
