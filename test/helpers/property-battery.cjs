// Property-based hostile-input battery (fast-check), run in a plain Node process against the built
// package (lib/) so that a crash is a dead child, not a dead test runner:
//   node test/helpers/property-battery.cjs <group> [runs] [seed]
// groups: losses, losses-async, torch, geometry, metrics, introspection.
//
// Every case is a valid call (random shapes, dtypes, options, presets, compound objectives) with
// zero or more mutations applied. The oracle, by case:
// - no mutation: the call returns; the value is finite; a gradient has the logits' type, length and
//   finite entries; async results equal the sync ones bit for bit; geometry and metric outputs
//   have their documented type, length and range;
// - only equivalent mutations (the same data in a SharedArrayBuffer, a view at an offset into a
//   larger buffer, a frozen input, a caller-owned gradOut / out): the same result bit for bit;
// - one hostile mutation that declares its error: exactly that error (name, code, argument);
// - anything else: a value, or an Error with a known code (SEGLOSS_INVALID_ARGUMENT must be a
//   TypeError or RangeError whose message starts with "Expected"), or the hostile getter's own
//   error passing through.
// Every BATCH cases a known-good loss, distance transform and metric are recomputed and must equal
// the first computation bit for bit (no corrupted state). The case being run is written to
// $SEGLOSS_FUZZ_TRACE (when set) before it runs, so a crash names it.
// Prints one JSON line: { group, seed, cases, values, errors, byCode, byMutation, problems }.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const fc = require('fast-check');

const root = path.resolve(__dirname, '..', '..');
const segloss = require(path.join(root, 'lib', 'index.js'));

const [group = 'losses', runsArg = '1000', seedArg = '20261201', replayPath] = process.argv.slice(2); // replayPath: fast-check's counterexample path
const RUNS = Number(runsArg);
const SEED = Number(seedArg);
const BATCH = 200;

// ---------------------------------------------------------------------------------------------
// Hostile building blocks.

const HOSTILE = 'HOSTILE';
const hostileError = () => Object.assign(new Error('hostile getter'), { code: HOSTILE });
const exploding = () =>
  new Proxy({}, {
    get() { throw hostileError(); },
    has() { throw hostileError(); },
    ownKeys() { throw hostileError(); },
    getOwnPropertyDescriptor() { throw hostileError(); },
    getPrototypeOf() { throw hostileError(); },
  });
const revoked = () => {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
};
const withThrowingGetter = (object, key) => {
  const copy = { ...object };
  Object.defineProperty(copy, key, { enumerable: true, get() { throw hostileError(); } });
  return copy;
};
const detach = (array) => {
  structuredClone(array.buffer, { transfer: [array.buffer] });
  return array;
};
const inShared = (array) => {
  const copy = new array.constructor(new SharedArrayBuffer(array.byteLength), 0, array.length);
  copy.set(array);
  return copy;
};
const atOffset = (array, before = 3) => {
  const size = array.BYTES_PER_ELEMENT;
  const buffer = new ArrayBuffer((array.length + before + 5) * size);
  new Uint8Array(buffer).fill(0xa5); // garbage around the view
  const view = new array.constructor(buffer, before * size, array.length);
  view.set(array);
  return view;
};
const resizable = (array) => {
  const buffer = new ArrayBuffer(array.byteLength, { maxByteLength: array.byteLength * 2 + 8 });
  const view = new array.constructor(buffer); // length-tracking
  view.set(array);
  return view;
};

const TYPED_ARRAYS = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
];
const hugeNumbers = [2 ** 31, 2 ** 31 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 53, 2 ** 53 + 2, 2 ** 60, 2 ** 63, 1e308, Number.MAX_VALUE];
const hostileNumbers = [0, -0, -1, 0.5, 1.5, -1e-300, 5e-324, NaN, Infinity, -Infinity, ...hugeNumbers, -(2 ** 53)];

// A value of any JavaScript kind, built fresh per case (so detaching one never leaks into another).
const anyValue = fc.oneof(
  fc.constantFrom(undefined, null, true, false, '', 'dice', 'cpu', '__proto__', 'constructor', 10n, -1n),
  fc.constantFrom(...hostileNumbers),
  fc.double(),
  fc.string({ maxLength: 8 }),
  fc.constantFrom(
    'symbol', 'function', 'array', 'object', 'null-proto', 'exploding', 'revoked', 'date', 'map', 'dataview',
    'arraybuffer', 'shared-arraybuffer', 'detached', 'promise', 'error',
  ).map((kind) => ({ kind })),
  fc.record({ ctor: fc.constantFrom(...TYPED_ARRAYS.map((c) => c.name)), length: fc.nat(40) }),
).map((v) => ({ make: () => materialize(v), toString: () => describeSpec(v) }));

function materialize(v) {
  if (v === null || typeof v !== 'object') return v;
  if (v.ctor) return new globalThis[v.ctor](v.length);
  switch (v.kind) {
    case 'symbol': return Symbol('s');
    case 'function': return () => 1;
    case 'array': return [1, 2, 3, 4];
    case 'object': return {};
    case 'null-proto': return Object.create(null);
    case 'exploding': return exploding();
    case 'revoked': return revoked();
    case 'date': return new Date(0);
    case 'map': return new Map();
    case 'dataview': return new DataView(new ArrayBuffer(16));
    case 'arraybuffer': return new ArrayBuffer(16);
    case 'shared-arraybuffer': return new SharedArrayBuffer(16);
    case 'detached': return detach(new Float32Array(8));
    case 'promise': return Promise.resolve(1);
    case 'error': return new Error('x');
    default: throw new Error(`unknown kind ${v.kind}`);
  }
}
function describeSpec(v) {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || typeof v !== 'object') return String(v);
  return v.ctor ? `new ${v.ctor}(${v.length})` : `<${v.kind}>`;
}

// ---------------------------------------------------------------------------------------------
// Outcomes and the summary.

const ALLOWED_CODES = new Set(['SEGLOSS_INVALID_ARGUMENT', 'SEGLOSS_NATIVE', 'ABORT_ERR', 'SEGLOSS_NO_CUDA', HOSTILE]);
const summary = { group, seed: SEED, cases: 0, values: 0, errors: 0, byCode: {}, byMutation: {}, problems: [] };

class Problem extends Error {}
const problem = (message) => {
  throw new Problem(message);
};

async function outcomeOf(fn) {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error };
  }
}

// Starts the async call, runs afterStart (while the call is in flight), then awaits it.
async function asyncOutcome(fn, afterStart) {
  let promise;
  try {
    promise = fn();
  } catch (error) {
    return { ok: false, error: Object.assign(new Error('an async function threw synchronously'), { cause: error }) };
  }
  if (afterStart) {
    try {
      afterStart();
    } catch {
      // nothing to transfer
    }
  }
  return outcomeOf(() => promise);
}

function syncOutcome(fn) {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    return { ok: false, error };
  }
}

// Checks an error against the allowed set; returns its code (or a pseudo-code).
function checkError(error) {
  if (!(error instanceof Error)) problem(`threw a non-Error: ${String(error)}`);
  const code = error.code;
  if (code === undefined && error instanceof TypeError && /revoked/.test(error.message)) return '(revoked proxy)';
  if (!ALLOWED_CODES.has(code)) problem(`${error.name} with code ${String(code)}: ${error.message}`);
  if (code === 'SEGLOSS_INVALID_ARGUMENT') {
    if (!(error instanceof TypeError || error instanceof RangeError)) problem(`${code} on a ${error.name}`);
    if (!error.message.startsWith('Expected ')) problem(`${code} message not in the house style: ${error.message}`);
  }
  if (code === 'SEGLOSS_NATIVE' && !(error instanceof TypeError || error instanceof RangeError || error.name === 'Error')) {
    problem(`${code} on a ${error.name}`);
  }
  return code;
}

function tally(outcome) {
  summary.cases += 1;
  if (outcome.ok) {
    summary.values += 1;
    return;
  }
  summary.errors += 1;
  const code = checkError(outcome.error);
  summary.byCode[code] = (summary.byCode[code] ?? 0) + 1;
}

// expect: { name, code, mentions } — the one error a single declared mutation must give.
function checkExpected(outcome, expect, label) {
  if (outcome.ok) problem(`${label}: expected ${expect.name} ${expect.code} but the call returned`);
  const { error } = outcome;
  const codes = [expect.code, ...(expect.orCodes ?? [])];
  if (expect.code && !codes.includes(error.code)) problem(`${label}: expected code ${codes.join(' or ')}, got ${error.code}: ${error.message}`);
  if (expect.name && error.name !== expect.name) problem(`${label}: expected ${expect.name}, got ${error.name}: ${error.message}`);
  if (expect.mentions && !error.message.includes(expect.mentions)) {
    problem(`${label}: expected the message to mention '${expect.mentions}': ${error.message}`);
  }
}

const sameBits = (a, b) => {
  if (a === b) return true;
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    return a.constructor === b.constructor && a.length === b.length &&
      Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b);
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => sameBits(a[k], b[k]));
  }
  return false;
};

// ---------------------------------------------------------------------------------------------
// Canary: known-good calls recomputed every BATCH cases, compared bit for bit with the first run.

function canary() {
  const shape = [2, 3, 6, 5];
  const logits = Float32Array.from({ length: 180 }, (_, i) => Math.sin(i * 0.37) * 3);
  const target = Uint8Array.from({ length: 60 }, (_, i) => (i * 7) % 3);
  const loss = segloss.computeLoss([{ loss: 'dice', weight: 0.5 }, { loss: 'cross-entropy', weight: 0.5 }], { logits, target, shape }, { grad: true });
  const mask = Uint8Array.from({ length: 9 * 11 }, (_, i) => (i % 4 === 0 ? 0 : 1));
  const edt = segloss.distanceTransform(mask, [9, 11], { spacing: [0.5, 1.5] });
  const hd = segloss.metrics.hausdorff95(mask, Uint8Array.from(mask, (v, i) => (i % 9 === 0 ? 1 - v : v)), [9, 11]);
  return { value: loss.value, grad: loss.grad, edt, hd };
}
const canaryReference = canary();
let sinceCanary = 0;
function maybeCheckCanary(force = false) {
  sinceCanary += 1;
  if (!force && sinceCanary < BATCH) return;
  sinceCanary = 0;
  if (!sameBits(canary(), canaryReference)) problem('the known-good canary changed: state was corrupted');
}

// Crash tracing.
const traceFd = process.env.SEGLOSS_FUZZ_TRACE ? fs.openSync(process.env.SEGLOSS_FUZZ_TRACE, 'w') : null;
function trace(text) {
  if (traceFd === null) return;
  const bytes = Buffer.from(`${text}\n`);
  fs.ftruncateSync(traceFd, 0);
  fs.writeSync(traceFd, bytes, 0, bytes.length, 0);
}

// ---------------------------------------------------------------------------------------------
// Valid loss calls.

// The losses that take the common input (logits + labels in [0, C)); the others (boundary-aware,
// inverseform, conditional-boundary) run alone on their own input and have their own tests. rmi is
// left out too: it needs planes at least its radius after pooling, C ≥ 2 and the sigmoid (test/rmi.test.ts).
const LOSSES = segloss.combinableLossNames.filter((id) => id !== 'rmi');

const validLossCase = fc
  .record({
    batch: fc.integer({ min: 1, max: 3 }),
    channels: fc.integer({ min: 1, max: 5 }),
    spatial: fc.oneof(fc.tuple(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 9 })), fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }))),
    float64: fc.boolean(),
    labelType: fc.constantFrom('Uint8Array', 'Uint16Array', 'Int32Array'),
    terms: fc.array(fc.record({ loss: fc.constantFrom(...LOSSES), weight: fc.double({ min: 0, max: 10, noNaN: true }), preset: fc.nat(3) }), { minLength: 1, maxLength: 3 }),
    compound: fc.boolean(),
    grad: fc.boolean(),
    gradScale: fc.option(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { nil: undefined }),
    ignore: fc.option(fc.constantFrom(255, 7, -1), { nil: undefined }),
    seed: fc.nat(),
    spread: fc.constantFrom(1, 10, 1e4),
  })
  .map((r) => {
    const classes = r.channels === 1 ? 2 : r.channels;
    const pixels = r.spatial.reduce((a, b) => a * b, 1);
    const Logits = r.float64 ? Float64Array : Float32Array;
    let s = r.seed;
    const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const logits = Logits.from({ length: r.batch * r.channels * pixels }, () => (next() * 2 - 1) * r.spread);
    const ignoreValid = r.ignore !== undefined && !(r.ignore < 0 && r.labelType !== 'Int32Array') && !(r.ignore > 255 && r.labelType === 'Uint8Array');
    const target = globalThis[r.labelType].from({ length: r.batch * pixels }, () =>
      ignoreValid && next() < 0.2 ? r.ignore : Math.floor(next() * classes));
    const options = { grad: r.grad };
    if (r.gradScale !== undefined) options.gradScale = r.gradScale;
    if (ignoreValid) options.ignoreIndex = r.ignore;
    let loss;
    if (r.compound) {
      loss = r.terms.map((t) => ({ loss: t.loss, weight: t.weight }));
    } else {
      loss = r.terms[0].loss;
      const presets = segloss.lossPresetNames(loss);
      if (r.terms[0].preset < presets.length) options.preset = presets[r.terms[0].preset];
    }
    return { loss, input: { logits, target, shape: [r.batch, r.channels, ...r.spatial] }, options, classes };
  });

// A mutation: { name, apply(c) (mutates the case), expect?: { name, code, mentions }, equivalent?: true }.
const invalid = (name, mentions) => ({ name, code: 'SEGLOSS_INVALID_ARGUMENT', mentions });
const hostileCode = { code: HOSTILE };
// A detached array: TypeScript's length check refuses it (length 0), and native code re-checks
// every length. Under TurboFan the TypeScript check was seen to pass in about 1 of 6,000 cases
// here (Node 20.20, never with --no-opt): the native check then refuses it (SEGLOSS_NATIVE).
const detachedError = (mentions) => ({ name: 'RangeError', code: 'SEGLOSS_INVALID_ARGUMENT', orCodes: ['SEGLOSS_NATIVE'], mentions: undefined, why: mentions });

const lossMutations = fc.oneof(
  // equivalent transforms
  fc.constant({ name: 'logits in a SharedArrayBuffer', equivalent: true, apply: (c) => { c.input.logits = inShared(c.input.logits); } }),
  fc.constant({ name: 'target in a SharedArrayBuffer', equivalent: true, apply: (c) => { c.input.target = inShared(c.input.target); } }),
  fc.nat(7).map((k) => ({ name: `logits at offset ${k + 1}`, equivalent: true, apply: (c) => { c.input.logits = atOffset(c.input.logits, k + 1); } })),
  fc.nat(7).map((k) => ({ name: `target at offset ${k + 1}`, equivalent: true, apply: (c) => { c.input.target = atOffset(c.input.target, k + 1); } })),
  fc.constant({ name: 'length-tracking logits', equivalent: true, apply: (c) => { c.input.logits = resizable(c.input.logits); } }),
  fc.constant({ name: 'frozen input', equivalent: true, apply: (c) => { c.input = Object.freeze({ ...c.input, shape: Object.freeze([...c.input.shape]) }); } }),
  fc.constant({ name: 'gradOut', equivalent: true, gradOut: true, apply: (c) => { if (c.options.grad) c.options.gradOut = new c.input.logits.constructor(c.input.logits.length); } }),
  // hostile data
  fc.tuple(fc.nat(), fc.constantFrom(NaN, Infinity, -Infinity)).map(([at, v]) => ({
    name: `logit ${v}`, expect: { name: 'RangeError', ...invalid('', 'for logits') },
    apply: (c) => { c.input.logits[at % c.input.logits.length] = v; },
  })),
  fc.tuple(fc.nat(), fc.constantFrom(-1, 5, 6, 254, 256, 65535, 2 ** 31 - 1)).map(([at, v]) => ({
    name: `label ${v}`,
    apply: (c) => {
      const t = c.input.target;
      t[at % t.length] = v;
      const stored = t[at % t.length];
      if (stored >= c.classes || stored < 0) {
        if (stored !== c.options.ignoreIndex) c.expect = { name: 'RangeError', ...invalid('', 'for target') };
      }
    },
  })),
  fc.constantFrom(-1, 1).map((d) => ({ name: `logits length ${d > 0 ? '+' : ''}${d}`, expect: { name: 'RangeError', ...invalid('', 'for logits') }, apply: (c) => { const z = c.input.logits; c.input.logits = new z.constructor(z.length + d); } })),
  fc.constantFrom(-1, 1).map((d) => ({ name: `target length ${d > 0 ? '+' : ''}${d}`, expect: { name: 'RangeError', ...invalid('', 'for target') }, apply: (c) => { const t = c.input.target; c.input.target = new t.constructor(t.length + d); } })),
  fc.constantFrom(...TYPED_ARRAYS.filter((t) => t !== Float32Array && t !== Float64Array)).map((T) => ({ name: `logits as ${T.name}`, expect: { name: 'TypeError', ...invalid('', 'for logits') }, apply: (c) => { c.input.logits = new T(c.input.logits.length); } })),
  fc.constantFrom(...TYPED_ARRAYS.filter((t) => ![Uint8Array, Uint16Array, Int32Array].includes(t))).map((T) => ({ name: `target as ${T.name}`, expect: { name: 'TypeError', ...invalid('', 'for target') }, apply: (c) => { c.input.target = new T(c.input.target.length); } })),
  fc.constant({ name: 'detached logits', expect: detachedError('for logits'), apply: (c) => { detach(c.input.logits); } }),
  fc.constant({ name: 'detached target', expect: detachedError('for target'), apply: (c) => { detach(c.input.target); } }),
  fc.tuple(fc.nat(4), fc.constantFrom(...hostileNumbers, '2', null, 2n)).map(([axis, v]) => ({ name: `shape[${axis}] = ${describeSpec(v)}`, apply: (c) => { c.input.shape = [...c.input.shape]; c.input.shape[axis % c.input.shape.length] = v; } })),
  fc.constantFrom([2 ** 31, 2 ** 31, 1, 1], [2 ** 27, 2 ** 27, 2 ** 27, 1], [2 ** 53, 1, 1, 1], [1, 2 ** 31, 1, 1], [3, 2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1], [1e308, 1e308, 1e308, 1e308], [0, 3, 4, 4]).map((shape) => ({
    name: `huge shape ${JSON.stringify(shape)}`, expect: { name: 'RangeError', ...invalid('', '') }, apply: (c) => { c.input.shape = shape; },
  })),
  fc.integer({ min: 0, max: 7 }).filter((n) => n !== 4 && n !== 5).map((n) => ({ name: `shape of rank ${n}`, expect: { name: 'RangeError', ...invalid('', 'for shape') }, apply: (c) => { c.input.shape = Array(n).fill(1); } })),
  fc.constantFrom('logits', 'target', 'shape').map((key) => ({ name: `throwing getter input.${key}`, expect: hostileCode, apply: (c) => { c.input = withThrowingGetter(c.input, key); } })),
  fc.constantFrom('logits', 'target', 'shape').map((key) => ({ name: `input.${key} exploding proxy`, apply: (c) => { c.input = { ...c.input, [key]: exploding() }; } })),
  anyValue.map((v) => ({ name: `input = ${v}`, apply: (c) => { c.input = v.make(); } })),
  anyValue.map((v) => ({ name: `loss = ${v}`, apply: (c) => { c.loss = v.make(); } })),
  anyValue.map((v) => ({ name: `options = ${v}`, apply: (c) => { c.options = v.make(); } })),
  // hostile options
  fc.tuple(fc.nat(20), anyValue).map(([k, v]) => ({
    name: `option #${k} = ${v}`,
    apply: (c) => {
      const names = typeof c.loss === 'string' && LOSSES.includes(c.loss) ? segloss.lossOptionNames(c.loss) : ['activation', 'ignoreIndex', 'grad', 'gradScale'];
      c.options = { ...c.options, [names[k % names.length]]: v.make() };
    },
  })),
  fc.tuple(fc.nat(20), fc.constantFrom(...hostileNumbers)).map(([k, v]) => ({
    name: `option #${k} = ${v}`,
    apply: (c) => {
      const names = typeof c.loss === 'string' && LOSSES.includes(c.loss) ? segloss.lossOptionNames(c.loss) : ['gradScale', 'ignoreIndex'];
      c.options = { ...c.options, [names[k % names.length]]: v };
    },
  })),
  fc.string({ minLength: 1, maxLength: 6 }).map((key) => ({
    name: `unknown option '${key}'`,
    apply: (c) => {
      const known = typeof c.loss === 'string' && LOSSES.includes(c.loss) ? segloss.lossOptionNames(c.loss) : [];
      if (['gradOut', 'signal', 'device', ...known].includes(key) || ['__proto__'].includes(key)) return;
      Object.defineProperty(c.options, key, { value: 1, enumerable: true, configurable: true, writable: true });
      if (!Array.isArray(c.loss)) c.expect = { name: 'RangeError', ...invalid('', key) };
    },
  })),
  fc.constantFrom('grad', 'gradScale', 'ignoreIndex', 'preset').map((key) => ({ name: `throwing getter options.${key}`, apply: (c) => { c.options = withThrowingGetter(c.options, key); } })),
  fc.constant({ name: 'options prototype pollution', apply: (c) => { c.options = Object.assign(JSON.parse('{"__proto__": {"grad": true, "polluted": 1}}'), c.options); } }),
  // gradOut misuse
  fc.constantFrom('wrong type', 'short', 'long', 'detached', 'the logits', 'overlapping target', 'array', 'without grad', 'exploding').map((how) => ({
    name: `gradOut ${how}`,
    expect: {
      'wrong type': { name: 'TypeError', ...invalid('', 'for gradOut') },
      array: { name: 'TypeError', ...invalid('', 'for gradOut') },
      'without grad': { name: 'RangeError', ...invalid('', 'for grad ') },
      detached: detachedError('for gradOut'),
      exploding: hostileCode,
    }[how] ?? { name: 'RangeError', ...invalid('', 'for gradOut') },
    apply: (c) => {
      const z = c.input.logits;
      if (!ArrayBuffer.isView(z) || !(z instanceof Float32Array || z instanceof Float64Array)) return;
      const Other = z instanceof Float32Array ? Float64Array : Float32Array;
      const make = {
        'wrong type': () => new Other(z.length),
        short: () => new z.constructor(Math.max(0, z.length - 1)),
        long: () => new z.constructor(z.length + 1),
        detached: () => detach(new z.constructor(z.length)),
        'the logits': () => z,
        'overlapping target': () => {
          const t = c.input.target;
          if (!ArrayBuffer.isView(t)) return new z.constructor(z.length);
          const buffer = new ArrayBuffer(Math.max(t.byteLength, z.byteLength) + 64);
          const labels = new t.constructor(buffer, 0, t.length);
          labels.set(t);
          c.input = { ...c.input, target: labels };
          return new z.constructor(buffer, 0, z.length);
        },
        array: () => Array.from(z),
        'without grad': () => { c.options = { ...c.options, grad: false }; return new z.constructor(z.length); },
        exploding: () => exploding(),
      }[how];
      const gradOut = make();
      c.options = { ...c.options, gradOut };
    },
  })),
);

// Async only: the caller transfers its output array right after the call started.
const transferGradOutMidCall = fc.constant({
  name: 'gradOut transferred mid-call',
  expect: { name: 'TypeError', code: 'SEGLOSS_NATIVE', mentions: 'grad was detached or resized while the call ran' },
  apply: (c) => {
    if (c.options.grad !== true) throw new Error('not applicable');
    const gradOut = new c.input.logits.constructor(c.input.logits.length);
    c.options = { ...c.options, gradOut };
    c.afterStart = () => detach(gradOut);
  },
});
const transferOutMidCall = fc.constant({
  name: 'out transferred mid-call',
  expect: { name: 'TypeError', code: 'SEGLOSS_NATIVE', mentions: 'out was detached or resized while the call ran' },
  apply: (c) => {
    if (c.fn !== 'distanceTransformAsync') throw new Error('not applicable');
    const out = new (c.options.float32 ? Float32Array : Float64Array)(c.n);
    c.options = { ...c.options, out };
    c.afterStart = () => detach(out);
  },
});

function describeCase(c, mutations) {
  const arr = (a) => (ArrayBuffer.isView(a) ? `${a.constructor.name}(${a.length})` : typeof a);
  let tensors;
  try {
    tensors = `logits ${arr(c.input.logits)} target ${arr(c.input.target)} shape ${safeJson(c.input.shape)}`;
  } catch {
    tensors = 'input <unreadable>';
  }
  return `loss ${safeJson(c.loss)} ${tensors} options ${safeJson(c.options)} | ${mutations.map((m) => m.name).join('; ') || 'valid'}`;
}
function isProxyish(value) {
  try {
    Object.keys(value);
    return false;
  } catch {
    return true;
  }
}
function safeJson(value) {
  try {
    return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `${v}n` : ArrayBuffer.isView(v) ? `${v.constructor.name}(${v.length})` : v));
  } catch {
    return '<unprintable>';
  }
}

function checkLossValue(result, c) {
  if (typeof result?.value !== 'number' || !Number.isFinite(result.value)) problem(`non-finite value ${result?.value}`);
  if (c.options.grad) {
    const z = c.input.logits;
    if (!(result.grad instanceof z.constructor) || result.grad.length !== z.length) problem('gradient of the wrong type or length');
    if (!result.grad.every(Number.isFinite)) problem('non-finite gradient');
    if (c.options.gradOut && result.grad !== c.options.gradOut) problem('the gradient is not gradOut');
  } else if (result.grad !== undefined) {
    problem('a gradient without grad: true');
  }
}

// Applies the mutations in order; one that cannot apply to what earlier ones left (a getter that
// throws, a value that is no longer an array) is skipped. Returns the applied ones.
function applyAll(c, mutations) {
  const applied = [];
  // Equivalent transforms first, so that a hostile mutation (and the error it declares) is not
  // undone by a later one replacing the same array.
  const ordered = [...mutations.filter((m) => m.equivalent), ...mutations.filter((m) => !m.equivalent)];
  for (const m of ordered) {
    const expect = c.expect;
    try {
      m.apply(c);
      applied.push(m);
    } catch {
      c.expect = expect;
    }
  }
  for (const m of applied) {
    const key = m.name.split(/[ =]/)[0];
    summary.byMutation[key] = (summary.byMutation[key] ?? 0) + 1;
  }
  return applied;
}

const copyResult = (r) => (r && typeof r === 'object' && r.grad ? { value: r.value, grad: r.grad.slice() } : r);

function lossProperty(call) {
  const mutation = group === 'losses-async' ? fc.oneof({ arbitrary: lossMutations, weight: 20 }, { arbitrary: transferGradOutMidCall, weight: 1 }) : lossMutations;
  return fc.asyncProperty(validLossCase, fc.array(mutation, { maxLength: 3 }), async (base, generated) => {
    const c = { ...base, input: { ...base.input, logits: base.input.logits.slice(), target: base.input.target.slice() }, options: { ...base.options } };
    const pristine = base; // never mutated
    const mutations = applyAll(c, generated);
    const label = describeCase(c, mutations);
    trace(`${group} #${summary.cases}: ${label}`);
    const started = Date.now();
    const outcome = await call(c.loss, c.input, c.options, c.afterStart);
    if (Date.now() - started > 5000) problem(`${label}: took ${Date.now() - started} ms`);
    try {
      tally(outcome);
    } catch (e) {
      if (e instanceof Problem) problem(`${label}: ${e.message}`);
      throw e;
    }
    const hostile = mutations.filter((m) => !m.equivalent);
    if (hostile.length === 0) {
      if (!outcome.ok) problem(`${label}: a valid call failed: ${outcome.error.name} ${outcome.error.code}: ${outcome.error.message}`);
      checkLossValue(outcome.value, c);
      // The same call on the pristine inputs, synchronously: identical bits.
      const reference = segloss.computeLoss(pristine.loss, pristine.input, pristine.options);
      if (!sameBits(copyResult(outcome.value), copyResult(reference))) problem(`${label}: result differs from the plain sync call`);
    } else if (hostile.length === 1 && (c.expect ?? hostile[0].expect)) {
      checkExpected(outcome, c.expect ?? hostile[0].expect, label);
    }
    maybeCheckCanary();
  });
}

// ---------------------------------------------------------------------------------------------
// Geometry.

const validGridCase = fc
  .record({
    dims: fc.constantFrom(2, 3),
    batch: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    extents: fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 5 })),
    spacing: fc.option(fc.tuple(fc.double({ min: 0.05, max: 20, noNaN: true }), fc.double({ min: 0.05, max: 20, noNaN: true }), fc.double({ min: 0.05, max: 20, noNaN: true })), { nil: undefined }),
    density: fc.constantFrom(0, 0.1, 0.5, 0.9, 1),
    seed: fc.nat(),
    fn: fc.constantFrom('distanceTransform', 'distanceTransformAsync', 'distanceMap', 'binaryMorphology'),
    float32: fc.boolean(),
    kind: fc.constantFrom('boundary', 'region-wise', 'hausdorff-dt', 'distance-map-ce'),
    op: fc.constantFrom('erode', 'dilate', 'inner-boundary', 'outer-boundary'),
    full: fc.boolean(),
  })
  .map((r) => {
    const spatial = r.dims === 2 ? [r.extents[0], r.extents[1]] : [r.extents[2], r.extents[0], r.extents[1]];
    const shape = r.batch === undefined ? spatial : [r.batch, ...spatial];
    const n = shape.reduce((a, b) => a * b, 1);
    let s = r.seed;
    const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const mask = Uint8Array.from({ length: n }, () => (next() < r.density ? 1 + Math.floor(next() * 254) : 0));
    const options = {};
    if (r.batch !== undefined) options.dims = r.dims;
    if (r.spacing && r.fn !== 'binaryMorphology') options.spacing = r.spacing.slice(0, r.dims);
    if (r.fn.startsWith('distanceTransform') && r.float32) options.float32 = true;
    if (r.fn === 'binaryMorphology' && r.full) options.connectivity = r.dims === 2 ? 8 : 26;
    return { fn: r.fn, kind: r.fn === 'distanceMap' ? r.kind : r.fn === 'binaryMorphology' ? r.op : undefined, mask, shape, options, n };
  });

function geometryCall(c, afterStart) {
  const g = segloss;
  switch (c.fn) {
    case 'distanceTransform': return syncOutcome(() => g.distanceTransform(c.mask, c.shape, c.options));
    case 'distanceTransformAsync': return asyncOutcome(() => g.distanceTransformAsync(c.mask, c.shape, c.options), afterStart);
    case 'distanceMap': return syncOutcome(() => g.distanceMap(c.kind, c.mask, c.shape, c.options));
    default: return syncOutcome(() => g.binaryMorphology(c.kind, c.mask, c.shape, c.options));
  }
}

const geometryMutations = fc.oneof(
  fc.constant({ name: 'mask in a SharedArrayBuffer', equivalent: true, apply: (c) => { c.mask = inShared(c.mask); } }),
  fc.nat(7).map((k) => ({ name: `mask at offset ${k + 1}`, equivalent: true, apply: (c) => { c.mask = atOffset(c.mask, k + 1); } })),
  fc.constant({ name: 'length-tracking mask', equivalent: true, apply: (c) => { c.mask = resizable(c.mask); } }),
  fc.constantFrom('plain', 'shared', 'offset').map((how) => ({
    name: `out ${how}`, equivalent: true,
    apply: (c) => {
      if (!c.fn.startsWith('distanceTransform')) return;
      const out = new (c.options.float32 ? Float32Array : Float64Array)(c.n);
      c.options = { ...c.options, out: how === 'plain' ? out : how === 'shared' ? inShared(out) : atOffset(out, 2) };
    },
  })),
  fc.constantFrom(-1, 1).map((d) => ({ name: `mask length ${d}`, expect: { name: 'RangeError', ...invalid('', 'for mask') }, apply: (c) => { c.mask = new Uint8Array(c.mask.length + d); } })),
  fc.constantFrom(...TYPED_ARRAYS.filter((t) => t !== Uint8Array)).map((T) => ({ name: `mask as ${T.name}`, expect: { name: 'TypeError', ...invalid('', 'for mask') }, apply: (c) => { c.mask = new T(c.mask.length); } })),
  fc.constant({ name: 'detached mask', expect: detachedError('for mask'), apply: (c) => { detach(c.mask); } }),
  fc.tuple(fc.nat(3), fc.constantFrom(...hostileNumbers, '2', null, 2n)).map(([axis, v]) => ({ name: `shape[${axis}] = ${describeSpec(v)}`, apply: (c) => { c.shape = [...c.shape]; c.shape[axis % c.shape.length] = v; } })),
  fc.constantFrom([2 ** 31, 2 ** 31], [2 ** 27, 2 ** 27, 2 ** 27], [2 ** 53, 1], [2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1], [1e308, 1e308, 1e308]).map((shape) => ({
    name: `huge shape ${JSON.stringify(shape)}`, apply: (c) => { c.shape = shape; c.options = { ...c.options, dims: shape.length === 4 ? 3 : undefined }; if (c.options.dims === undefined) delete c.options.dims; delete c.options.spacing; c.expect = { name: 'RangeError', ...invalid('', '') }; },
  })),
  fc.integer({ min: 0, max: 6 }).map((n) => ({ name: `shape of rank ${n}`, apply: (c) => { c.shape = Array(n).fill(1); } })),
  anyValue.map((v) => ({ name: `mask = ${v}`, apply: (c) => { c.mask = v.make(); } })),
  anyValue.map((v) => ({ name: `shape = ${v}`, apply: (c) => { c.shape = v.make(); } })),
  anyValue.map((v) => ({ name: `options = ${v}`, apply: (c) => { c.options = v.make(); } })),
  anyValue.map((v) => ({ name: `kind = ${v}`, apply: (c) => { c.kind = v.make(); } })),
  fc.tuple(fc.constantFrom('dims', 'spacing', 'float32', 'out', 'connectivity', 'signal'), anyValue).map(([key, v]) => ({ name: `options.${key} = ${v}`, apply: (c) => { c.options = { ...c.options, [key]: v.make() }; } })),
  fc.tuple(fc.constantFrom('dims', 'connectivity'), fc.constantFrom(...hostileNumbers, 1, 2, 3, 4, 6, 8, 26)).map(([key, v]) => ({ name: `options.${key} = ${v}`, apply: (c) => { c.options = { ...c.options, [key]: v }; } })),
  fc.tuple(fc.nat(2), fc.constantFrom(...hostileNumbers)).map(([axis, v]) => ({
    name: `spacing[${axis}] = ${v}`,
    apply: (c) => {
      if (c.fn === 'binaryMorphology' || !Array.isArray(c.shape)) return;
      const dims = c.options.dims ?? c.shape.length;
      const spacing = Array(dims === 3 ? 3 : 2).fill(1);
      spacing[axis % spacing.length] = v;
      c.options = { ...c.options, spacing };
      if (!(Number.isFinite(v) && v > 0 && v <= 1e300)) c.expect = { name: 'RangeError', ...invalid('', 'spacing') };
    },
  })),
  fc.constant({
    name: 'out overlapping the mask',
    apply: (c) => {
      if (!c.fn.startsWith('distanceTransform')) throw new Error('not applicable');
      const T = c.options.float32 ? Float32Array : Float64Array;
      const buffer = new ArrayBuffer(c.n * T.BYTES_PER_ELEMENT);
      const mask = new Uint8Array(buffer, 0, c.n);
      mask.set(c.mask);
      c.mask = mask;
      c.options = { ...c.options, out: new T(buffer, 0, c.n) };
      c.expect = { name: 'RangeError', ...invalid('', 'does not overlap the mask for out') };
    },
  }),
  fc.constantFrom('wrong length', 'wrong type', 'detached', 'float32 disagrees').map((how) => ({
    name: `out ${how}`,
    apply: (c) => {
      if (!c.fn.startsWith('distanceTransform')) return;
      const n = c.n;
      const T = c.options.float32 ? Float32Array : Float64Array;
      const out = { 'wrong length': () => new T(n + 1), 'wrong type': () => new Int32Array(n), detached: () => detach(new T(n)), 'float32 disagrees': () => new (c.options.float32 ? Float64Array : Float32Array)(n) }[how]();
      c.options = { ...c.options, out, ...(how === 'float32 disagrees' ? { float32: !!c.options.float32 } : {}) };
      c.expect = how === 'detached' ? detachedError('for out') : invalid('', 'for out');
    },
  })),
  fc.constantFrom('dims', 'spacing', 'out').map((key) => ({ name: `throwing getter options.${key}`, apply: (c) => { c.options = withThrowingGetter(c.options ?? {}, key); } })),
  fc.string({ minLength: 1, maxLength: 6 }).map((key) => ({
    name: `unknown option '${key}'`,
    apply: (c) => {
      if (['dims', 'spacing', 'float32', 'out', 'connectivity', 'signal', '__proto__'].includes(key)) return;
      c.options = { ...c.options, [key]: 1 };
      c.expect = { name: 'RangeError', ...invalid('', key) };
    },
  })),
);

function checkGeometryResult(c, value) {
  if (c.fn === 'binaryMorphology') {
    if (!(value instanceof Uint8Array) || value.length !== c.n) problem('morphology result of the wrong type or length');
    if (!value.every((v) => v === 0 || v === 1)) problem('morphology result not 0/1');
    return;
  }
  const T = c.fn === 'distanceMap' || !c.options.float32 ? (c.options.out?.constructor ?? Float64Array) : Float32Array;
  if (!(value instanceof T) || value.length !== c.n) problem(`result of the wrong type or length (${value?.constructor?.name})`);
  if (c.options.out && value !== c.options.out) problem('the result is not out');
  if (c.fn === 'distanceMap') {
    if (!value.every(Number.isFinite)) problem('a distance map with a non-finite entry');
    return;
  }
  for (let i = 0; i < c.n; ++i) {
    const d = value[i];
    if (c.mask[i] === 0 ? d !== 0 : !(d > 0)) problem(`EDT entry ${i} = ${d} for mask ${c.mask[i]}`);
  }
}

function geometryProperty() {
  const mutation = fc.oneof({ arbitrary: geometryMutations, weight: 20 }, { arbitrary: transferOutMidCall, weight: 1 });
  return fc.asyncProperty(validGridCase, fc.array(mutation, { maxLength: 3 }), async (base, generated) => {
    const c = { ...base, mask: base.mask.slice(), options: { ...base.options } };
    const pristine = base; // never mutated
    const mutations = applyAll(c, generated);
    const label = `${c.fn} ${safeJson(c.kind)} mask ${ArrayBuffer.isView(c.mask) ? `${c.mask.constructor.name}(${c.mask.length})` : typeof c.mask} shape ${safeJson(c.shape)} options ${safeJson(c.options)} | ${mutations.map((m) => m.name).join('; ') || 'valid'}`;
    trace(`${group} #${summary.cases}: ${label}`);
    const outcome = await geometryCall(c, c.afterStart);
    try {
      tally(outcome);
    } catch (e) {
      if (e instanceof Problem) problem(`${label}: ${e.message}`);
      throw e;
    }
    const hostile = mutations.filter((m) => !m.equivalent);
    if (hostile.length === 0) {
      if (!outcome.ok) problem(`${label}: a valid call failed: ${outcome.error.name} ${outcome.error.code}: ${outcome.error.message}`);
      checkGeometryResult(c, outcome.value);
      const plain = { ...pristine, fn: pristine.fn === 'distanceTransformAsync' ? 'distanceTransform' : pristine.fn };
      const reference = (await geometryCall(plain)).value;
      if (!sameBits(outcome.value.slice(), reference)) problem(`${label}: result differs from the plain sync call`);
    } else if (hostile.length === 1 && (c.expect ?? hostile[0].expect)) {
      checkExpected(outcome, c.expect ?? hostile[0].expect, label);
    }
    maybeCheckCanary();
  });
}

// ---------------------------------------------------------------------------------------------
// Metrics.

const validMetricCase = fc
  .record({
    fn: fc.constantFrom('dice', 'hausdorff95', 'confusionMatrix', 'meanIoU', 'meanIoUFromConfusionMatrix', 'evaluateVolume', 'evaluateVolumeAsync'),
    spatial: fc.oneof(fc.tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 8 })), fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }))),
    classes: fc.integer({ min: 2, max: 6 }),
    predType: fc.constantFrom('Uint8Array', 'Uint16Array', 'Int32Array'),
    targetType: fc.constantFrom('Uint8Array', 'Uint16Array', 'Int32Array'),
    policy: fc.option(fc.constantFrom('transunet', 'strict'), { nil: undefined }),
    spacing: fc.option(fc.tuple(fc.double({ min: 0.1, max: 5, noNaN: true }), fc.double({ min: 0.1, max: 5, noNaN: true }), fc.double({ min: 0.1, max: 5, noNaN: true })), { nil: undefined }),
    ignore: fc.option(fc.constantFrom(255, 0, 3), { nil: undefined }),
    agreement: fc.constantFrom(0, 0.5, 0.9, 1),
    seed: fc.nat(),
  })
  .map((r) => {
    const n = r.spatial.reduce((a, b) => a * b, 1);
    let s = r.seed;
    const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const binary = r.fn === 'dice' || r.fn === 'hausdorff95';
    const k = binary ? 2 : r.classes;
    const target = globalThis[binary ? 'Uint8Array' : r.targetType].from({ length: n }, () => Math.floor(next() * k));
    const pred = globalThis[binary ? 'Uint8Array' : r.predType].from(target, (v) => (next() < r.agreement ? v : Math.floor(next() * k)));
    const options = {};
    if ((binary || r.fn.startsWith('evaluate')) && r.policy) options.policy = r.policy;
    if ((r.fn === 'hausdorff95' || r.fn.startsWith('evaluate')) && r.spacing) options.spacing = r.spacing.slice(0, r.spatial.length);
    if ((r.fn === 'confusionMatrix' || r.fn === 'meanIoU') && r.ignore !== undefined) {
      options.ignoreIndex = r.ignore;
      if (r.ignore >= k) for (let i = 0; i < n; i += 3) target[i] = r.ignore; // exercised
    }
    const matrix = new Float64Array(k * k).map(() => Math.floor(next() * 50));
    return { fn: r.fn, pred, target, shape: [...r.spatial], classes: k, options, matrix, n };
  });

function metricCall(c) {
  const m = segloss.metrics;
  switch (c.fn) {
    case 'dice': return syncOutcome(() => m.dice(c.pred, c.target, c.shape, c.options));
    case 'hausdorff95': return syncOutcome(() => m.hausdorff95(c.pred, c.target, c.shape, c.options));
    case 'confusionMatrix': return syncOutcome(() => m.confusionMatrix(c.pred, c.target, c.classes, c.options));
    case 'meanIoU': return syncOutcome(() => m.meanIoU(c.pred, c.target, c.classes, c.options));
    case 'meanIoUFromConfusionMatrix': return syncOutcome(() => m.meanIoUFromConfusionMatrix(c.matrix, c.classes));
    case 'evaluateVolume': return syncOutcome(() => m.evaluateVolume(c.pred, c.target, c.shape, c.classes, c.options));
    default: return asyncOutcome(() => m.evaluateVolumeAsync(c.pred, c.target, c.shape, c.classes, c.options));
  }
}

const metricMutations = fc.oneof(
  fc.constantFrom('pred', 'target').map((key) => ({ name: `${key} in a SharedArrayBuffer`, equivalent: true, apply: (c) => { c[key] = inShared(c[key]); } })),
  fc.tuple(fc.constantFrom('pred', 'target'), fc.nat(5)).map(([key, k]) => ({ name: `${key} at offset ${k + 1}`, equivalent: true, apply: (c) => { c[key] = atOffset(c[key], k + 1); } })),
  fc.constant({ name: 'matrix at offset', equivalent: true, apply: (c) => { c.matrix = atOffset(c.matrix, 1); } }),
  fc.tuple(fc.constantFrom('pred', 'target'), fc.constantFrom(-1, 1)).map(([key, d]) => ({ name: `${key} length ${d}`, apply: (c) => { c[key] = new c[key].constructor(c[key].length + d); } })),
  fc.tuple(fc.constantFrom('pred', 'target'), fc.constantFrom(...TYPED_ARRAYS)).map(([key, T]) => ({ name: `${key} as ${T.name}`, apply: (c) => { c[key] = new T(c[key].length); } })),
  fc.constantFrom('pred', 'target', 'matrix').map((key) => ({ name: `detached ${key}`, apply: (c) => { detach(c[key]); } })),
  fc.tuple(fc.constantFrom('pred', 'target'), fc.nat(), fc.constantFrom(-1, 7, 255, 65535, 2 ** 31 - 1)).map(([key, at, v]) => ({ name: `${key} label ${v}`, apply: (c) => { c[key][at % c[key].length] = v; } })),
  fc.tuple(fc.nat(), fc.constantFrom(-1, NaN, Infinity, -Infinity, 0.5, 1e308)).map(([at, v]) => ({
    name: `matrix entry ${v}`,
    apply: (c) => { c.matrix[at % c.matrix.length] = v; if (c.fn === 'meanIoUFromConfusionMatrix' && !(Number.isFinite(v) && v >= 0)) c.expect = { name: 'RangeError', ...invalid('', 'for matrix') }; },
  })),
  fc.constantFrom(...hostileNumbers, 0, 1, 4097, 4096, '3', null).map((v) => ({ name: `numClasses = ${describeSpec(v)}`, apply: (c) => { c.classes = v; } })),
  fc.tuple(fc.nat(3), fc.constantFrom(...hostileNumbers, '2', null)).map(([axis, v]) => ({ name: `shape[${axis}] = ${describeSpec(v)}`, apply: (c) => { c.shape = [...c.shape]; c.shape[axis % c.shape.length] = v; } })),
  fc.constantFrom([2 ** 31, 2 ** 31], [2 ** 27, 2 ** 27, 2 ** 27], [2 ** 53, 1], [1e308, 1e308]).map((shape) => ({ name: `huge shape ${JSON.stringify(shape)}`, apply: (c) => { c.shape = shape; delete c.options.spacing; } })),
  anyValue.map((v) => ({ name: `pred = ${v}`, apply: (c) => { c.pred = v.make(); } })),
  anyValue.map((v) => ({ name: `target = ${v}`, apply: (c) => { c.target = v.make(); } })),
  anyValue.map((v) => ({ name: `shape = ${v}`, apply: (c) => { c.shape = v.make(); } })),
  anyValue.map((v) => ({ name: `options = ${v}`, apply: (c) => { c.options = v.make(); } })),
  anyValue.map((v) => ({ name: `matrix = ${v}`, apply: (c) => { c.matrix = v.make(); } })),
  fc.tuple(fc.constantFrom('policy', 'spacing', 'ignoreIndex', 'signal'), anyValue).map(([key, v]) => ({ name: `options.${key} = ${v}`, apply: (c) => { c.options = { ...c.options, [key]: v.make() }; } })),
  fc.tuple(fc.constantFrom('ignoreIndex'), fc.constantFrom(...hostileNumbers)).map(([key, v]) => ({ name: `options.${key} = ${v}`, apply: (c) => { c.options = { ...c.options, [key]: v }; } })),
  fc.constantFrom('policy', 'spacing', 'ignoreIndex').map((key) => ({ name: `throwing getter options.${key}`, apply: (c) => { c.options = withThrowingGetter(c.options, key); } })),
  fc.string({ minLength: 1, maxLength: 6 }).map((key) => ({
    name: `unknown option '${key}'`,
    apply: (c) => {
      if (['policy', 'spacing', 'ignoreIndex', 'signal', '__proto__'].includes(key) || c.fn === 'meanIoUFromConfusionMatrix') return;
      c.options = { ...c.options, [key]: 1 };
      c.expect = { name: 'RangeError', ...invalid('', key) };
    },
  })),
);

function checkMetricResult(c, value) {
  const unit = (x) => typeof x === 'number' && x >= 0 && x <= 1;
  switch (c.fn) {
    case 'dice':
      if (!unit(value)) problem(`dice ${value} outside [0, 1]`);
      break;
    case 'hausdorff95':
      if (!(value >= 0)) problem(`hd95 ${value}`);
      if (c.options.policy !== 'strict' && !Number.isFinite(value)) problem(`hd95 ${value} under transunet`);
      break;
    case 'confusionMatrix': {
      if (!(value instanceof Float64Array) || value.length !== c.classes ** 2) problem('confusion matrix of the wrong type or length');
      const counted = Array.from(c.target).filter((t) => t !== c.options.ignoreIndex).length;
      if (value.reduce((a, b) => a + b, 0) !== counted) problem('confusion matrix does not count every non-ignored pixel');
      break;
    }
    case 'meanIoU':
    case 'meanIoUFromConfusionMatrix':
      if (!(value.perClassIoU instanceof Float64Array) || value.perClassIoU.length !== c.classes) problem('perClassIoU of the wrong length');
      if (!value.perClassIoU.every((x) => Number.isNaN(x) || unit(x))) problem('a per-class IoU outside [0, 1]');
      if (!(Number.isNaN(value.meanIoU) || unit(value.meanIoU))) problem(`meanIoU ${value.meanIoU}`);
      break;
    default:
      if (value.dice.length !== c.classes - 1 || value.hd95.length !== c.classes - 1) problem('volume metrics of the wrong length');
      if (!value.dice.every(unit)) problem('a volume dice outside [0, 1]');
      if (!value.hd95.every((x) => x >= 0)) problem('a negative hd95');
  }
}

function metricProperty() {
  return fc.asyncProperty(validMetricCase, fc.array(metricMutations, { maxLength: 3 }), async (base, generated) => {
    const c = { ...base, pred: base.pred.slice(), target: base.target.slice(), matrix: base.matrix.slice(), shape: [...base.shape], options: { ...base.options } };
    const pristine = base; // never mutated
    const mutations = applyAll(c, generated);
    const arr = (a) => (ArrayBuffer.isView(a) ? `${a.constructor.name}(${a.length})` : typeof a);
    const label = `metrics.${c.fn} pred ${arr(c.pred)} target ${arr(c.target)} shape ${safeJson(c.shape)} classes ${safeJson(c.classes)} options ${safeJson(c.options)} | ${mutations.map((m) => m.name).join('; ') || 'valid'}`;
    trace(`${group} #${summary.cases}: ${label}`);
    const outcome = await metricCall(c);
    try {
      tally(outcome);
    } catch (e) {
      if (e instanceof Problem) problem(`${label}: ${e.message}`);
      throw e;
    }
    const hostile = mutations.filter((m) => !m.equivalent);
    if (hostile.length === 0) {
      if (!outcome.ok) problem(`${label}: a valid call failed: ${outcome.error.name} ${outcome.error.code}: ${outcome.error.message}`);
      checkMetricResult(c, outcome.value);
      const plain = { ...pristine, fn: pristine.fn === 'evaluateVolumeAsync' ? 'evaluateVolume' : pristine.fn };
      const reference = (await metricCall(plain)).value;
      if (!sameBits(outcome.value, reference)) problem(`${label}: result differs from the plain sync call`);
    } else if (hostile.length === 1 && (c.expect ?? hostile[0].expect)) {
      checkExpected(outcome, c.expect ?? hostile[0].expect, label);
    }
    maybeCheckCanary();
  });
}

// ---------------------------------------------------------------------------------------------
// Introspection: cpuEngineInfo, lossOptionNames, lossPresetNames with any arguments.

function introspectionProperty() {
  const arg = fc.oneof(fc.constantFrom(...LOSSES).map((id) => ({ make: () => id, toString: () => id })), anyValue);
  return fc.property(fc.constantFrom('cpuEngineInfo', 'lossOptionNames', 'lossPresetNames'), fc.array(arg, { maxLength: 3 }), (fn, args) => {
    const values = args.map((a) => a.make());
    const label = `${fn}(${args.map(String).join(', ')})`;
    trace(`${group} #${summary.cases}: ${label}`);
    const outcome = syncOutcome(() => segloss[fn](...values));
    try {
      tally(outcome);
    } catch (e) {
      if (e instanceof Problem) problem(`${label}: ${e.message}`);
      throw e;
    }
    const validId = LOSSES.includes(values[0]);
    if (fn === 'cpuEngineInfo') {
      if (!outcome.ok) problem(`${label} threw ${outcome.error.message}`);
      const info = outcome.value;
      if (!info.supported.includes(info.active) || !(Number.isInteger(info.threads) && info.threads >= 1)) problem(`${label}: ${safeJson(info)}`);
    } else if (validId) {
      if (!outcome.ok || !Array.isArray(outcome.value) || !Object.isFrozen(outcome.value)) problem(`${label}: not a frozen array`);
      if (fn === 'lossOptionNames' && !['activation', 'ignoreIndex', 'grad', 'gradScale'].every((n) => outcome.value.includes(n))) problem(`${label}: common options missing`);
    } else {
      checkExpected(outcome, { code: typeof values[0] === 'string' || values[0] === undefined || typeof values[0] !== 'object' ? 'SEGLOSS_INVALID_ARGUMENT' : undefined }, label);
    }
    maybeCheckCanary();
  });
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const parameters = { seed: SEED, numRuns: RUNS, endOnFailure: true, ...(replayPath ? { path: replayPath } : {}) };
  let property;
  switch (group) {
    case 'losses':
      property = lossProperty((loss, input, options) => syncOutcome(() => segloss.computeLoss(loss, input, options)));
      break;
    case 'losses-async':
      property = lossProperty((loss, input, options, afterStart) => asyncOutcome(() => segloss.computeLossAsync(loss, input, options), afterStart));
      break;
    case 'torch':
      if (!segloss.torchAvailable()) {
        let why = 'the torch addon is not available';
        try {
          segloss.torchInfo();
        } catch (error) {
          why = error.message;
        }
        console.log(JSON.stringify({ ...summary, skipped: why }));
        return;
      }
      property = torchProperty();
      break;
    case 'geometry':
      property = geometryProperty();
      break;
    case 'metrics':
      property = metricProperty();
      break;
    case 'introspection':
      property = introspectionProperty();
      break;
    default:
      throw new Error(`unknown group ${group}`);
  }
  const result = await fc.check(property, parameters);
  if (result.failed) {
    summary.problems.push(`${result.errorInstance?.message ?? result.error} (seed ${result.seed}, path ${result.counterexamplePath})`);
  }
  maybeCheckCanary(true);
  if (Object.prototype.polluted !== undefined || {}.grad !== undefined) summary.problems.push('Object.prototype was polluted');
  console.log(JSON.stringify(summary));
}

// computeLossTorch / computeLossTorchAsync: the losses' cases plus `device`; a valid case's value
// equals computeLoss's to the logits' precision (the torch op rounds its value to that dtype).
function torchProperty() {
  const devices = ['cpu', 'cuda', 'cuda:0', 'cuda:99', 'CPU', 'tpu', '', 'cuda:-1', 'cuda:0.5'];
  return fc.asyncProperty(validLossCase, fc.array(lossMutations, { maxLength: 2 }), fc.boolean(), fc.option(fc.constantFrom(...devices), { nil: undefined }), async (base, generated, viaAsync, device) => {
    const c = { ...base, input: { ...base.input, logits: base.input.logits.slice(), target: base.input.target.slice() }, options: { ...base.options } };
    const mutations = applyAll(c, generated.filter((m) => !m.name.startsWith('gradOut'))); // no gradOut in the torch API
    if (c.options && typeof c.options === 'object' && !isProxyish(c.options)) {
      delete c.options.gradOut; // computeLossTorch has no gradOut
      if (device !== undefined) c.options.device = device;
    }
    const label = `${viaAsync ? 'computeLossTorchAsync' : 'computeLossTorch'} ${describeCase(c, mutations)} device ${device}`;
    trace(`${group} #${summary.cases}: ${label}`);
    const fn = viaAsync ? segloss.computeLossTorchAsync : segloss.computeLossTorch;
    const outcome = viaAsync ? await asyncOutcome(() => fn(c.loss, c.input, c.options)) : syncOutcome(() => fn(c.loss, c.input, c.options));
    try {
      tally(outcome);
    } catch (e) {
      if (e instanceof Problem) problem(`${label}: ${e.message}`);
      throw e;
    }
    const hostile = mutations.filter((m) => !m.equivalent && !m.gradOut);
    if (hostile.length === 0 && (device === undefined || device === 'cpu')) {
      if (!outcome.ok) problem(`${label}: a valid call failed: ${outcome.error.name} ${outcome.error.code}: ${outcome.error.message}`);
      const reference = segloss.computeLoss(base.loss, base.input, { ...base.options, grad: false });
      const tolerance = base.input.logits instanceof Float64Array ? 1e-9 : 2e-5;
      if (!(Math.abs(outcome.value.value - reference.value) <= tolerance * Math.max(1, Math.abs(reference.value)))) {
        problem(`${label}: torch value ${outcome.value.value} vs computeLoss ${reference.value}`);
      }
      if (c.options.grad && !(outcome.value.grad?.length === base.input.logits.length && outcome.value.grad.every(Number.isFinite))) problem(`${label}: bad torch gradient`);
    } else if (hostile.length === 1 && (c.expect ?? hostile[0].expect) && (device === undefined || device === 'cpu')) {
      checkExpected(outcome, c.expect ?? hostile[0].expect, label);
    }
    maybeCheckCanary();
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
