// Every bad argument is a TypeError or RangeError (code 'SEGLOSS_INVALID_ARGUMENT') thrown before
// native code runs, naming the argument, what was expected and what was received. Messages are
// asserted in full.
import { describe, expect, it } from 'vitest';

import { computeLoss, computeLossAsync, INVALID_ARGUMENT, lossOptionNames, lossPresetNames } from '../src/index';

const shape = [2, 3, 2, 2] as const;
const logits = new Float32Array(24);
const target = new Uint8Array(8);
const input = { logits, target, shape };

type Kind = 'TypeError' | 'RangeError';

/** [description, arguments of computeLoss, error kind, exact message] */
type BadCase = [string, unknown[], Kind, string];

/** The arguments of a call; `input` unless given (an explicit undefined stays undefined). */
function detachedWeights(): Float32Array {
  const weights = new Float32Array([1, 2, 3]);
  structuredClone(weights.buffer, { transfer: [weights.buffer] });
  return weights;
}

function call(loss: unknown, ...rest: unknown[]): unknown[] {
  return [loss, ...(rest.length === 0 ? [input] : rest)];
}

function runSync(args: unknown[]): unknown {
  return (computeLoss as (...a: unknown[]) => unknown)(...args);
}

function runAsync(args: unknown[]): Promise<unknown> {
  return (computeLossAsync as (...a: unknown[]) => Promise<unknown>)(...args);
}

const DICE_OPTIONS = 'activation, grad, gradOut, gradScale, ignoreIndex, includeBackground, logLoss, perImage, preset, smooth, squared';
const CE_OPTIONS = 'activation, classWeights, grad, gradOut, gradScale, ignoreIndex, labelSmoothing';
const LOSS_IDS = 'cross-entropy, topk, focal, distance-map-ce, dice, log-cosh-dice, generalized-wasserstein-dice, jaccard, lovasz-softmax, tversky, focal-tversky, sensitivity-specificity, rmi, robust-t, boundary, hausdorff-dt, boundary-aware, active-boundary, inverseform, conditional-boundary, boundary-dou, region-wise, combo, exp-log, unified-focal';

const lossCases: BadCase[] = [
  ['unknown loss id', call('dise'), 'RangeError', `Expected one of ${LOSS_IDS} for loss but received 'dise'`],
  ['loss id of the wrong type', call(5), 'TypeError', `Expected a loss id (one of ${LOSS_IDS}) or an array of terms for loss but received 5`],
  ['missing loss', call(undefined), 'TypeError', `Expected a loss id (one of ${LOSS_IDS}) or an array of terms for loss but received undefined`],
  ['empty compound', call([]), 'RangeError', 'Expected at least one term { loss, weight?, options? } for loss but received []'],
  ['term not an object', call([5]), 'TypeError', 'Expected an object { loss, weight?, options? } for loss[0] but received 5'],
  ['unknown term key', call([{ loss: 'dice', wieght: 1 }]), 'RangeError', "Expected one of loss, options, weight for a key of loss[0] but received 'wieght'"],
  ['unknown term loss', call([{ loss: 'dice' }, { loss: 'top-k' }]), 'RangeError', `Expected one of ${LOSS_IDS} for loss[1].loss but received 'top-k'`],
  ['term weight NaN', call([{ loss: 'dice', weight: Number.NaN }]), 'RangeError', 'Expected a finite number for loss[0].weight but received NaN'],
  ['term weight string', call([{ loss: 'dice', weight: '1' }]), 'TypeError', "Expected a number for loss[0].weight but received '1'"],
  ['term options not an object', call([{ loss: 'dice', options: 3 }]), 'TypeError', 'Expected an object for loss[0].options but received 3'],
  [
    'unknown term option',
    call([{ loss: 'cross-entropy', options: { smooth: 1 } }]),
    'RangeError',
    "Expected one of classWeights, labelSmoothing for an option name of loss[0].options (cross-entropy) but received 'smooth'",
  ],
  [
    'common option inside a term',
    call([{ loss: 'dice', options: { ignoreIndex: 1 } }]),
    'RangeError',
    "Expected one of includeBackground, logLoss, perImage, preset, smooth, squared for an option name of loss[0].options (dice) but received 'ignoreIndex'",
  ],
  [
    'loss option at the top of a compound',
    call([{ loss: 'dice' }], input, { smooth: 1 }),
    'RangeError',
    "Expected one of activation, grad, gradOut, gradScale, ignoreIndex for an option name of a compound loss but received 'smooth'",
  ],
  [
    'bad term option value',
    call([{ loss: 'dice', options: { smooth: -1 } }]),
    'RangeError',
    'Expected a finite number ≥ 0 for loss[0].options.smooth but received -1',
  ],
  [
    'bad term preset',
    call([{ loss: 'dice', options: { preset: 'keras' } }]),
    'RangeError',
    "Expected one of 'monai', 'smp', 'nnunet' (presets of dice) for loss[0].options.preset but received 'keras'",
  ],
];

const inputCases: BadCase[] = [
  ['input missing', call('dice', undefined), 'TypeError', 'Expected an object { logits, target, shape } for input but received undefined'],
  ['input an array', call('dice', [logits, target]), 'TypeError', 'Expected an object { logits, target, shape } for input but received an array of length 2'],
  ['logits Int32Array', call('dice', { ...input, logits: new Int32Array(24) }), 'TypeError', 'Expected Float32Array or Float64Array for logits but received Int32Array of length 24'],
  ['logits a plain array', call('dice', { ...input, logits: [1, 2] }), 'TypeError', 'Expected Float32Array or Float64Array for logits but received [1, 2]'],
  ['logits missing', call('dice', { target, shape }), 'TypeError', 'Expected Float32Array or Float64Array for logits but received undefined'],
  ['target Float32Array', call('dice', { ...input, target: new Float32Array(8) }), 'TypeError', 'Expected Uint8Array, Uint16Array or Int32Array for target but received Float32Array of length 8'],
  ['target Int8Array', call('dice', { ...input, target: new Int8Array(8) }), 'TypeError', 'Expected Uint8Array, Uint16Array or Int32Array for target but received Int8Array of length 8'],
  ['target a Buffer-like object', call('dice', { ...input, target: { length: 8 } }), 'TypeError', 'Expected Uint8Array, Uint16Array or Int32Array for target but received an object'],
  ['shape missing', call('dice', { logits, target }), 'TypeError', 'Expected an array [B, C, H, W] or [B, C, D, H, W] for shape but received undefined'],
  ['shape a string', call('dice', { ...input, shape: '2x3x2x2' }), 'TypeError', "Expected an array [B, C, H, W] or [B, C, D, H, W] for shape but received '2x3x2x2'"],
  ['shape of rank 3', call('dice', { ...input, shape: [2, 3, 4] }), 'RangeError', 'Expected 4 or 5 entries ([B, C, H, W] or [B, C, D, H, W]) for shape but received 3 entries: [2, 3, 4]'],
  ['shape of rank 6', call('dice', { ...input, shape: [1, 2, 3, 1, 2, 1] }), 'RangeError', 'Expected 4 or 5 entries ([B, C, H, W] or [B, C, D, H, W]) for shape but received 6 entries: [1, 2, 3, 1, 2, 1]'],
  ['C = 0', call('dice', { ...input, shape: [2, 0, 2, 2] }), 'RangeError', 'Expected a positive integer for shape[1] (C) but received 0'],
  ['negative H', call('dice', { ...input, shape: [2, 3, -2, 2] }), 'RangeError', 'Expected a positive integer for shape[2] (H) but received -2'],
  ['non-integer W', call('dice', { ...input, shape: [2, 3, 2, 2.5] }), 'RangeError', 'Expected a positive integer for shape[3] (W) but received 2.5'],
  ['NaN B', call('dice', { ...input, shape: [Number.NaN, 3, 2, 2] }), 'RangeError', 'Expected a positive integer for shape[0] (B) but received NaN'],
  ['Infinity D', call('dice', { ...input, shape: [2, 3, Infinity, 2, 2] }), 'RangeError', 'Expected a positive integer for shape[2] (D) but received Infinity'],
  ['string entry', call('dice', { ...input, shape: [2, '3', 2, 2] }), 'TypeError', "Expected a positive integer for shape[1] (C) but received '3'"],
  ['C too large', call('dice', { ...input, shape: [1, 2 ** 31, 1, 1] }), 'RangeError', 'Expected a positive integer ≤ 2147483647 for shape[1] (C) but received 2147483648'],
  ['logits too short', call('dice', { ...input, logits: new Float32Array(20) }), 'RangeError', 'Expected length 24 (B·C·H·W of shape [2, 3, 2, 2]) for logits but received length 20'],
  ['logits too long (5-D)', call('dice', { ...input, shape: [2, 3, 1, 2, 2] , logits: new Float64Array(25) }), 'RangeError', 'Expected length 24 (B·C·D·H·W of shape [2, 3, 1, 2, 2]) for logits but received length 25'],
  ['target too short', call('dice', { ...input, target: new Uint8Array(7) }), 'RangeError', 'Expected length 8 (B·H·W of shape [2, 3, 2, 2]) for target but received length 7'],
  ['target of logits length', call('dice', { ...input, target: new Int32Array(24) }), 'RangeError', 'Expected length 8 (B·H·W of shape [2, 3, 2, 2]) for target but received length 24'],
];

function withLabel(index: number, value: number, array: Uint8Array | Int32Array = new Uint8Array(8)): typeof array {
  const copy = array.slice();
  copy[index] = value;
  return copy;
}

const valueCases: BadCase[] = [
  ['label = C', call('dice', { ...input, target: withLabel(7, 3) }), 'RangeError', 'Expected class indices in [0, 3) for target but received 3 at [b, h, w] = [1, 1, 1]'],
  ['label 255 without ignoreIndex', call('cross-entropy', { ...input, target: withLabel(2, 255) }), 'RangeError', 'Expected class indices in [0, 3) for target but received 255 at [b, h, w] = [0, 1, 0]'],
  [
    'label 254 with ignoreIndex 255',
    call('cross-entropy', { ...input, target: withLabel(5, 254) }, { ignoreIndex: 255 }),
    'RangeError',
    'Expected class indices in [0, 3) or the ignoreIndex 255 for target but received 254 at [b, h, w] = [1, 0, 1]',
  ],
  [
    'negative int32 label',
    call('dice', { ...input, target: withLabel(4, -1, new Int32Array(8)) }),
    'RangeError',
    'Expected class indices in [0, 3) for target but received -1 at [b, h, w] = [1, 0, 0]',
  ],
  [
    'label 2 with C = 1',
    call('dice', { logits: new Float32Array(4), target: Uint8Array.from([0, 1, 2, 0]), shape: [1, 1, 2, 2] }),
    'RangeError',
    'Expected class indices in [0, 2) (K = 2 for one channel) for target but received 2 at [b, h, w] = [0, 1, 0]',
  ],
  [
    'bad label in a volume',
    call('dice', { logits: new Float32Array(16), target: withLabel(6, 9), shape: [1, 2, 2, 2, 2] }),
    'RangeError',
    'Expected class indices in [0, 2) for target but received 9 at [b, d, h, w] = [0, 1, 1, 0]',
  ],
  [
    'NaN logit',
    call('dice', { ...input, logits: Float32Array.from({ length: 24 }, (_, i) => (i === 13 ? Number.NaN : 0)) }),
    'RangeError',
    'Expected finite values for logits but received NaN at index 13 ([b, c, h, w] = [1, 0, 0, 1])',
  ],
  [
    'infinite logit',
    call('cross-entropy', { ...input, logits: Float64Array.from({ length: 24 }, (_, i) => (i === 5 ? -Infinity : 0)) }),
    'RangeError',
    'Expected finite values for logits but received -Infinity at index 5 ([b, c, h, w] = [0, 1, 0, 1])',
  ],
];

const optionCases: BadCase[] = [
  ['options a number', call('dice', input, 5), 'TypeError', 'Expected an object for options but received 5'],
  ['options null', call('dice', input, null), 'TypeError', 'Expected an object for options but received null'],
  ['unknown dice option', call('dice', input, { smoth: 1 }), 'RangeError', `Expected one of ${DICE_OPTIONS} for an option name of dice but received 'smoth'`],
  ['CE option on dice', call('dice', input, { classWeights: [1, 1, 1] }), 'RangeError', `Expected one of ${DICE_OPTIONS} for an option name of dice but received 'classWeights'`],
  ['unknown CE option', call('cross-entropy', input, { weight: [1, 1, 1] }), 'RangeError', `Expected one of ${CE_OPTIONS} for an option name of cross-entropy but received 'weight'`],
  ['signal on the sync call', call('dice', input, { signal: new AbortController().signal }), 'RangeError', `Expected one of ${DICE_OPTIONS} for an option name of dice but received 'signal'`],
  ['unknown activation', call('dice', input, { activation: 'relu' }), 'RangeError', "Expected one of 'softmax', 'sigmoid', 'none' for activation but received 'relu'"],
  ['activation of the wrong type', call('dice', input, { activation: 1 }), 'TypeError', "Expected one of 'softmax', 'sigmoid', 'none' for activation but received 1"],
  [
    'softmax with C = 1',
    call('dice', { logits: new Float32Array(4), target: new Uint8Array(4), shape: [1, 1, 2, 2] }, { activation: 'softmax' }),
    'RangeError',
    "Expected 'sigmoid' or 'none' (softmax over one channel, C = 1, is constant) for activation but received 'softmax'",
  ],
  ['ignoreIndex 1.5', call('dice', input, { ignoreIndex: 1.5 }), 'RangeError', 'Expected an integer for ignoreIndex but received 1.5'],
  ['ignoreIndex a string', call('dice', input, { ignoreIndex: '255' }), 'TypeError', "Expected an integer for ignoreIndex but received '255'"],
  ['ignoreIndex too large', call('dice', input, { ignoreIndex: 2 ** 60 }), 'RangeError', 'Expected an integer for ignoreIndex but received 1152921504606847000'],
  ['grad a string', call('dice', input, { grad: 'yes' }), 'TypeError', "Expected a boolean for grad but received 'yes'"],
  ['gradScale Infinity', call('dice', input, { gradScale: Infinity }), 'RangeError', 'Expected a finite number for gradScale but received Infinity'],
  ['gradScale a bigint', call('dice', input, { gradScale: 2n }), 'TypeError', 'Expected a number for gradScale but received 2n'],
  // Regression (issue 11): a detached Float32Array reached Array.from, an engine TypeError without a code.
  ['classWeights detached', call('cross-entropy', input, { classWeights: detachedWeights() }), 'RangeError', 'Expected an array of K = 3 class weights (one per class) for classWeights but received 0 weights'],
  ['classWeights too short', call('cross-entropy', input, { classWeights: [1, 2] }), 'RangeError', 'Expected an array of K = 3 class weights (one per class) for classWeights but received 2 weights'],
  [
    'classWeights for C = 1 need K = 2',
    call('cross-entropy', { logits: new Float32Array(4), target: new Uint8Array(4), shape: [1, 1, 2, 2] }, { classWeights: [1] }),
    'RangeError',
    'Expected an array of K = 2 class weights (one per class) for classWeights but received 1 weights',
  ],
  ['classWeights negative', call('cross-entropy', input, { classWeights: [1, -1, 1] }), 'RangeError', 'Expected a finite number ≥ 0 for classWeights[1] but received -1'],
  ['classWeights NaN', call('cross-entropy', input, { classWeights: new Float64Array([1, 1, Number.NaN]) }), 'RangeError', 'Expected a finite number ≥ 0 for classWeights[2] but received NaN'],
  ['classWeights entry a string', call('cross-entropy', input, { classWeights: [1, '2', 1] }), 'TypeError', "Expected a number for classWeights[1] but received '2'"],
  ['classWeights an object', call('cross-entropy', input, { classWeights: { 0: 1 } }), 'TypeError', 'Expected an array of class weights (numbers) for classWeights but received an object'],
  ['labelSmoothing 1.5', call('cross-entropy', input, { labelSmoothing: 1.5 }), 'RangeError', 'Expected a number in [0, 1] for labelSmoothing but received 1.5'],
  ['labelSmoothing negative', call('cross-entropy', input, { labelSmoothing: -0.1 }), 'RangeError', 'Expected a number in [0, 1] for labelSmoothing but received -0.1'],
  ['labelSmoothing NaN', call('cross-entropy', input, { labelSmoothing: Number.NaN }), 'RangeError', 'Expected a number in [0, 1] for labelSmoothing but received NaN'],
  ['smooth negative', call('dice', input, { smooth: -1e-5 }), 'RangeError', 'Expected a finite number ≥ 0 for smooth but received -0.00001'],
  ['smooth Infinity', call('dice', input, { smooth: Infinity }), 'RangeError', 'Expected a finite number ≥ 0 for smooth but received Infinity'],
  ['smooth a string', call('dice', input, { smooth: '1' }), 'TypeError', "Expected a number for smooth but received '1'"],
  ['perImage a number', call('dice', input, { perImage: 1 }), 'TypeError', 'Expected a boolean for perImage but received 1'],
  ['includeBackground null', call('dice', input, { includeBackground: null }), 'TypeError', 'Expected a boolean for includeBackground but received null'],
  ['squared a string', call('dice', input, { squared: 'true' }), 'TypeError', "Expected a boolean for squared but received 'true'"],
  ['logLoss an array', call('dice', input, { logLoss: [true] }), 'TypeError', 'Expected a boolean for logLoss but received [true]'],
  ['unknown dice preset', call('dice', input, { preset: 'keras' }), 'RangeError', "Expected one of 'monai', 'smp', 'nnunet' (presets of dice) for preset but received 'keras'"],
  ['dice preset of the wrong type', call('dice', input, { preset: 1 }), 'TypeError', "Expected one of 'monai', 'smp', 'nnunet' for preset but received 1"],
  ['preset on cross-entropy', call('cross-entropy', input, { preset: 'monai' }), 'RangeError', "Expected no preset (cross-entropy has none) for preset but received 'monai'"],
];

const REGION = 'activation, grad, gradOut, gradScale, ignoreIndex, includeBackground, perImage';

// The options of focal.
const focalCases: BadCase[] = [
  ['focal gamma negative', call('focal', input, { gamma: -1 }), 'RangeError', 'Expected a finite number ≥ 0 for gamma but received -1'],
  ['focal gamma NaN', call('focal', input, { gamma: Number.NaN }), 'RangeError', 'Expected a finite number ≥ 0 for gamma but received NaN'],
  ['focal gamma a string', call('focal', input, { gamma: '2' }), 'TypeError', "Expected a number for gamma but received '2'"],
  ['focal alpha a number (only preset smp takes one)', call('focal', input, { alpha: 0.25 }), 'TypeError', "Expected an array of K = 3 class weights (a single number α is for preset 'smp') for alpha but received 0.25"],
  ['focal alpha not an array', call('focal', input, { alpha: 'x' }), 'TypeError', "Expected an array of class weights (numbers) for alpha but received 'x'"],
  ['focal alpha of the wrong length', call('focal', input, { alpha: [1, 2] }), 'RangeError', 'Expected an array of K = 3 class weights (one per class) for alpha but received 2 weights'],
  ['focal alpha negative entry', call('focal', input, { alpha: [1, -2, 1] }), 'RangeError', 'Expected a finite number ≥ 0 for alpha[1] but received -2'],
  ['focal unknown preset', call('focal', input, { preset: 'smpp' }), 'RangeError', "Expected one of 'monai', 'smp' (presets of focal) for preset but received 'smpp'"],
  ['focal smp alpha an array', call('focal', input, { preset: 'smp', alpha: [0.25, 0.25, 0.25] }), 'TypeError', "Expected smp's scalar α, a number in [0, 1] (preset 'smp' weighs each pixel's target channel by α and the other channels by 1 − α; a per-class array has no smp form) for alpha but received [0.25, 0.25, 0.25]"],
  ['focal smp alpha above 1', call('focal', input, { preset: 'smp', alpha: 1.5 }), 'RangeError', 'Expected a number in [0, 1] for alpha but received 1.5'],
  ['focal smp alpha negative', call('focal', input, { preset: 'smp', alpha: -0.1 }), 'RangeError', 'Expected a number in [0, 1] for alpha but received -0.1'],
  ['focal smp gamma negative', call('focal', input, { preset: 'smp', gamma: -1 }), 'RangeError', 'Expected a finite number ≥ 0 for gamma but received -1'],
  ['focal smp activation softmax', call('focal', input, { preset: 'smp', activation: 'softmax' }), 'RangeError', "Expected 'sigmoid' (the activation focal's preset 'smp' takes) for activation but received 'softmax'"],
  ['focal smp activation none', call('focal', input, { preset: 'smp', activation: 'none' }), 'RangeError', "Expected 'sigmoid' (the activation focal's preset 'smp' takes) for activation but received 'none'"],
  ['focal smp in a term, named with its path', call([{ loss: 'focal', options: { preset: 'smp', alpha: [1] } }], input, { activation: 'sigmoid' }), 'TypeError', "Expected smp's scalar α, a number in [0, 1] (preset 'smp' weighs each pixel's target channel by α and the other channels by 1 − α; a per-class array has no smp form) for loss[0].options.alpha but received [1]"],
  ['focal labelSmoothing (a CE option)', call('focal', input, { labelSmoothing: 0.1 }), 'RangeError', "Expected one of activation, alpha, gamma, grad, gradOut, gradScale, ignoreIndex, preset for an option name of focal but received 'labelSmoothing'"],
];

// The options of the special losses (topk, lovasz-softmax, combo, exp-log, unified-focal).
const specialCases: BadCase[] = [
  ['topk k 0', call('topk', input, { k: 0 }), 'RangeError', 'Expected a percentage in (0, 100] for k but received 0'],
  ['topk k above 100', call('topk', input, { k: 100.5 }), 'RangeError', 'Expected a percentage in (0, 100] for k but received 100.5'],
  ['topk k negative', call('topk', input, { k: -10 }), 'RangeError', 'Expected a percentage in (0, 100] for k but received -10'],
  ['topk k NaN', call('topk', input, { k: Number.NaN }), 'RangeError', 'Expected a percentage in (0, 100] for k but received NaN'],
  ['topk k a string', call('topk', input, { k: '10' }), 'TypeError', "Expected a number for k but received '10'"],
  ['topk unknown preset', call('topk', input, { preset: 'monai' }), 'RangeError', "Expected one of 'nnunet' (presets of topk) for preset but received 'monai'"],
  ['topk gamma (a focal option)', call('topk', input, { gamma: 2 }), 'RangeError', "Expected one of activation, grad, gradOut, gradScale, ignoreIndex, k, preset for an option name of topk but received 'gamma'"],
  ['lovasz classes an unknown string', call('lovasz-softmax', input, { classes: 'some' }), 'RangeError', "Expected 'present', 'all' or an array of class indices for classes but received 'some'"],
  ['lovasz classes a number', call('lovasz-softmax', input, { classes: 1 }), 'TypeError', "Expected 'present', 'all' or an array of class indices for classes but received 1"],
  ['lovasz classes empty', call('lovasz-softmax', input, { classes: [] }), 'RangeError', 'Expected at least one class index for classes but received []'],
  ['lovasz classes entry out of range', call('lovasz-softmax', input, { classes: [0, 3] }), 'RangeError', 'Expected a class index in [0, 3) for classes[1] but received 3'],
  ['lovasz classes entry not an integer', call('lovasz-softmax', input, { classes: [1.5] }), 'RangeError', 'Expected a class index in [0, 3) for classes[0] but received 1.5'],
  ['lovasz classes entry a string', call('lovasz-softmax', input, { classes: ['1'] }), 'TypeError', "Expected a class index (an integer) for classes[0] but received '1'"],
  ['lovasz classes repeated', call('lovasz-softmax', input, { classes: [2, 1, 2] }), 'RangeError', 'Expected a class index not listed before for classes[2] but received 2'],
  ['lovasz perImage a number', call('lovasz-softmax', input, { perImage: 1 }), 'TypeError', 'Expected a boolean for perImage but received 1'],
  ['lovasz has no preset', call('lovasz-softmax', input, { preset: 'berman' }), 'RangeError', "Expected no preset (lovasz-softmax has none) for preset but received 'berman'"],
  ['lovasz smooth (a region option)', call('lovasz-softmax', input, { smooth: 1 }), 'RangeError', "Expected one of activation, classes, grad, gradOut, gradScale, ignoreIndex, perImage for an option name of lovasz-softmax but received 'smooth'"],
  ['combo alpha above 1', call('combo', input, { alpha: 1.5 }), 'RangeError', 'Expected a number in [0, 1] for alpha but received 1.5'],
  ['combo alpha negative', call('combo', input, { alpha: -0.1 }), 'RangeError', 'Expected a number in [0, 1] for alpha but received -0.1'],
  ['combo beta NaN', call('combo', input, { beta: Number.NaN }), 'RangeError', 'Expected a number in [0, 1] for beta but received NaN'],
  ['combo beta a string', call('combo', input, { beta: '0.5' }), 'TypeError', "Expected a number for beta but received '0.5'"],
  ['combo smooth negative', call('combo', input, { smooth: -1 }), 'RangeError', 'Expected a finite number ≥ 0 for smooth but received -1'],
  ['combo perImage a string', call('combo', input, { perImage: 'no' }), 'TypeError', "Expected a boolean for perImage but received 'no'"],
  ['combo has no preset', call('combo', input, { preset: 'mlyg' }), 'RangeError', "Expected no preset (combo has none) for preset but received 'mlyg'"],
  ['combo gamma (not an option)', call('combo', input, { gamma: 1 }), 'RangeError', "Expected one of activation, alpha, beta, grad, gradOut, gradScale, ignoreIndex, includeBackground, perImage, smooth for an option name of combo but received 'gamma'"],
  ['exp-log gamma 0', call('exp-log', input, { gamma: 0 }), 'RangeError', 'Expected a finite number > 0 for gamma but received 0'],
  ['exp-log gamma negative', call('exp-log', input, { gamma: -0.3 }), 'RangeError', 'Expected a finite number > 0 for gamma but received -0.3'],
  ['exp-log wDice Infinity', call('exp-log', input, { wDice: Infinity }), 'RangeError', 'Expected a finite number for wDice but received Infinity'],
  ['exp-log wCe a string', call('exp-log', input, { wCe: '0.2' }), 'TypeError', "Expected a number for wCe but received '0.2'"],
  ['exp-log smooth negative', call('exp-log', input, { smooth: -1 }), 'RangeError', 'Expected a finite number ≥ 0 for smooth but received -1'],
  ['exp-log unknown preset', call('exp-log', input, { preset: 'wong' }), 'RangeError', "Expected one of 'odyssey' (presets of exp-log) for preset but received 'wong'"],
  ['exp-log alpha (not an option)', call('exp-log', input, { alpha: 1 }), 'RangeError', "Expected one of activation, gamma, grad, gradOut, gradScale, ignoreIndex, includeBackground, perImage, preset, smooth, wCe, wDice for an option name of exp-log but received 'alpha'"],
  ['unified-focal lambda above 1', call('unified-focal', input, { lambda: 2 }), 'RangeError', 'Expected a number in [0, 1] for lambda but received 2'],
  ['unified-focal delta negative', call('unified-focal', input, { delta: -0.6 }), 'RangeError', 'Expected a number in [0, 1] for delta but received -0.6'],
  ['unified-focal gamma above 1', call('unified-focal', input, { gamma: 1.5 }), 'RangeError', 'Expected a number in [0, 1] for gamma but received 1.5'],
  ['unified-focal gamma a string', call('unified-focal', input, { gamma: '0.5' }), 'TypeError', "Expected a number for gamma but received '0.5'"],
  ['unified-focal unknown preset', call('unified-focal', input, { preset: 'mlyg' }), 'RangeError', "Expected one of 'monai' (presets of unified-focal) for preset but received 'mlyg'"],
  ['unified-focal perImage (not an option)', call('unified-focal', input, { perImage: true }), 'RangeError', "Expected one of activation, delta, gamma, grad, gradOut, gradScale, ignoreIndex, lambda, preset for an option name of unified-focal but received 'perImage'"],
  ['topk k in a term, named with its path', call([{ loss: 'dice' }, { loss: 'topk', options: { k: 0 } }]), 'RangeError', 'Expected a percentage in (0, 100] for loss[1].options.k but received 0'],
];

// The options of the region losses (jaccard, tversky, focal-tversky, sensitivity-specificity, log-cosh-dice).
const regionOptionCases: BadCase[] = [
  ['jaccard smooth negative', call('jaccard', input, { smooth: -1 }), 'RangeError', 'Expected a finite number ≥ 0 for smooth but received -1'],
  ['jaccard smooth NaN', call('jaccard', input, { smooth: Number.NaN }), 'RangeError', 'Expected a finite number ≥ 0 for smooth but received NaN'],
  ['jaccard perImage a string', call('jaccard', input, { perImage: 'yes' }), 'TypeError', "Expected a boolean for perImage but received 'yes'"],
  ['jaccard squared a number', call('jaccard', input, { squared: 1 }), 'TypeError', 'Expected a boolean for squared but received 1'],
  ['jaccard unknown preset', call('jaccard', input, { preset: 'smp' }), 'RangeError', "Expected one of 'monai' (presets of jaccard) for preset but received 'smp'"],
  ['jaccard logLoss (a dice option)', call('jaccard', input, { logLoss: true }), 'RangeError', `Expected one of ${REGION}, preset, smooth, squared for an option name of jaccard but received 'logLoss'`],
  ['tversky alpha negative', call('tversky', input, { alpha: -0.1 }), 'RangeError', 'Expected a finite number ≥ 0 for alpha but received -0.1'],
  ['tversky beta Infinity', call('tversky', input, { beta: Infinity }), 'RangeError', 'Expected a finite number ≥ 0 for beta but received Infinity'],
  ['tversky alpha a string', call('tversky', input, { alpha: '0.3' }), 'TypeError', "Expected a number for alpha but received '0.3'"],
  ['tversky alpha + beta = 0', call('tversky', input, { alpha: 0, beta: 0 }), 'RangeError', 'Expected alpha + beta > 0 for alpha and beta but received alpha = 0, beta = 0'],
  ['tversky beta 0 with the default alpha is fine, alpha 0 beta 0 in a term is not',
    call([{ loss: 'tversky', options: { alpha: 0, beta: 0 } }]),
    'RangeError',
    'Expected alpha + beta > 0 for loss[0].options.alpha and loss[0].options.beta but received alpha = 0, beta = 0',
  ],
  ['tversky has no preset', call('tversky', input, { preset: 'monai' }), 'RangeError', "Expected no preset (tversky has none) for preset but received 'monai'"],
  ['tversky gamma (a focal-tversky option)', call('tversky', input, { gamma: 2 }), 'RangeError', `Expected one of activation, alpha, beta, grad, gradOut, gradScale, ignoreIndex, includeBackground, perImage, smooth for an option name of tversky but received 'gamma'`],
  ['focal-tversky gamma 0', call('focal-tversky', input, { gamma: 0 }), 'RangeError', 'Expected a finite number > 0 for gamma but received 0'],
  ['focal-tversky gamma negative', call('focal-tversky', input, { gamma: -2 }), 'RangeError', 'Expected a finite number > 0 for gamma but received -2'],
  ['focal-tversky gamma Infinity', call('focal-tversky', input, { gamma: Infinity }), 'RangeError', 'Expected a finite number > 0 for gamma but received Infinity'],
  ['focal-tversky gamma a string', call('focal-tversky', input, { gamma: '2' }), 'TypeError', "Expected a number for gamma but received '2'"],
  ['focal-tversky alpha + beta = 0', call('focal-tversky', input, { preset: 'odyssey', alpha: 0, beta: 0 }), 'RangeError', 'Expected alpha + beta > 0 for alpha and beta but received alpha = 0, beta = 0'],
  ['focal-tversky beta negative', call('focal-tversky', input, { beta: -1 }), 'RangeError', 'Expected a finite number ≥ 0 for beta but received -1'],
  ['focal-tversky smooth negative', call('focal-tversky', input, { smooth: -0.5 }), 'RangeError', 'Expected a finite number ≥ 0 for smooth but received -0.5'],
  ['focal-tversky unknown preset', call('focal-tversky', input, { preset: 'smp' }), 'RangeError', "Expected one of 'odyssey' (presets of focal-tversky) for preset but received 'smp'"],
  ['sensitivity-specificity r 1.5', call('sensitivity-specificity', input, { r: 1.5 }), 'RangeError', 'Expected a number in [0, 1] for r but received 1.5'],
  ['sensitivity-specificity r negative', call('sensitivity-specificity', input, { r: -0.05 }), 'RangeError', 'Expected a number in [0, 1] for r but received -0.05'],
  ['sensitivity-specificity r NaN', call('sensitivity-specificity', input, { r: Number.NaN }), 'RangeError', 'Expected a number in [0, 1] for r but received NaN'],
  ['sensitivity-specificity r a string', call('sensitivity-specificity', input, { r: '0.1' }), 'TypeError', "Expected a number for r but received '0.1'"],
  ['sensitivity-specificity smooth negative', call('sensitivity-specificity', input, { smooth: -1e-5 }), 'RangeError', 'Expected a finite number ≥ 0 for smooth but received -0.00001'],
  ['sensitivity-specificity includeBackground a number', call('sensitivity-specificity', input, { includeBackground: 0 }), 'TypeError', 'Expected a boolean for includeBackground but received 0'],
  ['sensitivity-specificity unknown preset', call('sensitivity-specificity', input, { preset: 'monai' }), 'RangeError', "Expected one of 'odyssey' (presets of sensitivity-specificity) for preset but received 'monai'"],
  ['log-cosh-dice smooth negative', call('log-cosh-dice', input, { smooth: -2 }), 'RangeError', 'Expected a finite number ≥ 0 for smooth but received -2'],
  ['log-cosh-dice logLoss a string', call('log-cosh-dice', input, { logLoss: 'no' }), 'TypeError', "Expected a boolean for logLoss but received 'no'"],
  ['log-cosh-dice unknown preset', call('log-cosh-dice', input, { preset: 'odyssey' }), 'RangeError', "Expected one of 'monai', 'smp', 'nnunet' (presets of log-cosh-dice) for preset but received 'odyssey'"],
  [
    'region option in a term, named with its path',
    call([{ loss: 'dice' }, { loss: 'sensitivity-specificity', options: { r: 2 } }]),
    'RangeError',
    'Expected a number in [0, 1] for loss[1].options.r but received 2',
  ],
];

function thrown(thunk: () => unknown): Error & { code?: string } {
  try {
    thunk();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected an error, none was thrown');
}

describe('bad arguments throw before native code runs', () => {
  for (const [group, cases] of [
    ['loss', lossCases],
    ['input', inputCases],
    ['values', valueCases],
    ['options', optionCases],
    ['region options', regionOptionCases],
    ['focal options', focalCases],
    ['special loss options', specialCases],
  ] as const) {
    describe(group, () => {
      it.each(cases)('%s', (_name, args, kind, message) => {
        const error = thrown(() => runSync(args));
        expect(error.message).toBe(message);
        expect(error.name).toBe(kind);
        expect(error).toBeInstanceOf(kind === 'TypeError' ? TypeError : RangeError);
        expect(error.code).toBe(INVALID_ARGUMENT);
      });
    });
  }

  it('checks in order: loss, option names, input, option values, labels, logits', () => {
    const bad = { logits: Float32Array.from([Number.NaN]), target: Uint8Array.from([9]), shape: [1, 1, 1, 1] };
    expect(thrown(() => runSync(call('dise', bad, { smoth: 1 }))).message).toMatch(/for loss but/);
    expect(thrown(() => runSync(call('dice', bad, { smoth: 1 }))).message).toMatch(/option name of dice/);
    expect(thrown(() => runSync(call('dice', { ...bad, shape: [1] }, { smooth: -1 }))).message).toMatch(/for shape but/);
    expect(thrown(() => runSync(call('dice', bad, { smooth: -1 }))).message).toMatch(/for smooth but/);
    expect(thrown(() => runSync(call('dice', bad, {}))).message).toMatch(/for target but received 9/);
    expect(thrown(() => runSync(call('dice', { ...bad, target: Uint8Array.from([1]) }))).message).toMatch(/for logits but received NaN/);
  });

  it('computeLossAsync rejects with the same errors', async () => {
    // Top-level option-name lists differ (the async call also accepts `signal`): checked below.
    const topLevelNames = /for an option name of (?!loss\[)/;
    const sharedCases = [...lossCases, ...inputCases, ...valueCases, ...optionCases, ...regionOptionCases, ...focalCases, ...specialCases].filter(
      ([, , , message]) => !topLevelNames.test(message),
    );
    expect(sharedCases.length).toBeGreaterThan(70);
    for (const [, args, kind, message] of sharedCases) {
      const error = (await runAsync(args).then(
        () => new Error('expected a rejection'),
        (e: unknown) => e,
      )) as Error & { code?: string };
      expect([error.name, error.message, error.code]).toEqual([kind, message, INVALID_ARGUMENT]);
    }
    await expect(computeLossAsync('dice', input, { signal: 'stop' } as never)).rejects.toThrow("Expected an AbortSignal for signal but received 'stop'");
    await expect(computeLossAsync('dice', input, { smoth: 1 } as never)).rejects.toThrow(
      "Expected one of activation, grad, gradOut, gradScale, ignoreIndex, includeBackground, logLoss, perImage, preset, signal, smooth, squared for an option name of dice but received 'smoth'",
    );
    await expect(computeLossAsync([{ loss: 'dice' }], input, { perImage: true } as never)).rejects.toThrow(
      "Expected one of activation, grad, gradOut, gradScale, ignoreIndex, signal for an option name of a compound loss but received 'perImage'",
    );
  });

  it('lossOptionNames / lossPresetNames reject unknown ids', () => {
    expect(thrown(() => lossOptionNames('top-k' as never)).message).toBe(`Expected one of ${LOSS_IDS} for id but received 'top-k'`);
    expect(thrown(() => lossPresetNames(3 as never)).message).toBe(`Expected a loss id (one of ${LOSS_IDS}) for id but received 3`);
  });
});

// The engine checks the logits inside its tile pass (softmax tiles: from the activation's
// Σ_c (z − max z), confirmed on the logits when that is not finite); these batches span many tiles.
describe('non-finite logits anywhere in a large batch are found by the tile pass', () => {
  const big = [2, 3, 17, 23] as const; // 391 pixels per image: 4 tiles, the last one partial
  const n = 17 * 23;
  const bigTarget = Uint8Array.from({ length: 2 * n }, (_, i) => i % 3);
  const where = (index: number): string => {
    const w = index % 23;
    const h = Math.floor(index / 23) % 17;
    const c = Math.floor(index / n) % 3;
    const b = Math.floor(index / (3 * n));
    return `[b, c, h, w] = [${b}, ${c}, ${h}, ${w}]`;
  };
  for (const float32 of [true, false]) {
    for (const bad of [Number.NaN, Infinity, -Infinity]) {
      for (const index of [0, 3 * n + n + 200, 2 * 3 * n - 1]) {
        for (const activation of ['softmax', 'sigmoid'] as const) {
          it(`${float32 ? 'Float32Array' : 'Float64Array'} ${bad} at ${index} (${activation})`, () => {
            const values = Float64Array.from({ length: 2 * 3 * n }, (_, i) => (i === index ? bad : Math.sin(i)));
            const logits = float32 ? Float32Array.from(values) : values;
            const error = thrown(() => computeLoss('cross-entropy', { logits, target: bigTarget, shape: big }, { activation, grad: true }));
            expect([error.name, error.message]).toEqual([
              'RangeError',
              `Expected finite values for logits but received ${bad} at index ${index} (${where(index)})`,
            ]);
          });
        }
      }
    }
  }
  it('finite logits at the type limit are not mistaken for non-finite ones (z − max z overflows)', () => {
    for (const [float32, limit] of [[true, 3e38], [false, 1.7e308]] as const) {
      // the true class at +limit, the others at −limit: p_t = 1, a loss of 0
      const values = Float64Array.from({ length: 2 * 3 * n }, (_, i) => {
        const c = Math.floor(i / n) % 3;
        const pixel = Math.floor(i / (3 * n)) * n + (i % n);
        return c === bigTarget[pixel] ? limit : -limit;
      });
      const logits = float32 ? Float32Array.from(values) : values;
      const r = computeLoss('cross-entropy', { logits, target: bigTarget, shape: big }, { grad: true });
      expect(r.value).toBe(0);
      expect(r.grad!.every((g) => Math.abs(g) < 1e-30)).toBe(true); // the float32 exp's floor: e^−87 / N
    }
  });
});
