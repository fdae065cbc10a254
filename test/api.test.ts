// The public surface: lossNames, option introspection, result shapes, preset resolution and the
// resolved request that crosses into native code (src/native/resolved.ts).
import { describe, expect, it } from 'vitest';

import { combinableLossNames, computeLoss, lossNames, lossOptionNames, lossPresetNames } from '../src/index';
import { resolveLossRequest } from '../src/resolve';
import { expectClose, labels, rng, uniform } from './helpers/numeric';

const shape = [2, 3, 4, 5] as const;
const random = rng(21);
const logits32 = Float32Array.from(uniform(random, 120, -2, 2));
const logits64 = Float64Array.from(logits32);
const target = Uint8Array.from(labels(random, 40, 3));

describe('lossNames', () => {
  it('lists the losses in spec order, frozen', () => {
    expect(lossNames).toEqual([
      'cross-entropy', 'topk', 'focal', 'distance-map-ce', 'dice', 'log-cosh-dice', 'generalized-wasserstein-dice', 'jaccard', 'lovasz-softmax', 'tversky', 'focal-tversky', 'sensitivity-specificity',
      'rmi', 'robust-t', 'boundary', 'hausdorff-dt', 'boundary-aware', 'active-boundary', 'inverseform', 'conditional-boundary', 'boundary-dou',
      'region-wise', 'combo', 'exp-log', 'unified-focal',
    ]);
    expect(Object.isFrozen(lossNames)).toBe(true);
    expect(combinableLossNames).toEqual(lossNames.filter((id) => !['boundary-aware', 'inverseform', 'conditional-boundary'].includes(id)));
    expect(Object.isFrozen(combinableLossNames)).toBe(true);
  });
  it('every listed id computes', () => {
    for (const id of combinableLossNames) expect(Number.isFinite(computeLoss(id, { logits: logits32, target, shape }).value)).toBe(true);
    // boundary-aware: C·K channels (here C = 1 class, K = 3 bins)
    expect(Number.isFinite(computeLoss('boundary-aware', { logits: logits32, target: new Uint8Array(40), shape }, { bins: 3 }).value)).toBe(true);
  });
});

describe('option introspection', () => {
  it('lossOptionNames: common, then own, then preset', () => {
    expect(lossOptionNames('cross-entropy')).toEqual(['activation', 'ignoreIndex', 'grad', 'gradScale', 'classWeights', 'labelSmoothing']);
    expect(lossOptionNames('topk')).toEqual(['activation', 'ignoreIndex', 'grad', 'gradScale', 'k', 'preset']);
    expect(lossOptionNames('lovasz-softmax')).toEqual(['activation', 'ignoreIndex', 'grad', 'gradScale', 'classes', 'perImage']);
    expect(lossOptionNames('dice')).toEqual([
      'activation', 'ignoreIndex', 'grad', 'gradScale', 'perImage', 'includeBackground', 'smooth', 'squared', 'logLoss', 'preset',
    ]);
  });
  it('lossPresetNames', () => {
    expect(lossPresetNames('dice')).toEqual(['monai', 'smp', 'nnunet']);
    expect(lossPresetNames('cross-entropy')).toEqual([]);
    expect(lossPresetNames('focal')).toEqual(['monai', 'smp']);
    expect(lossPresetNames('topk')).toEqual(['nnunet']);
    expect(lossPresetNames('lovasz-softmax')).toEqual([]);
    expect(lossPresetNames('combo')).toEqual([]);
    expect(lossPresetNames('exp-log')).toEqual(['odyssey']);
    expect(lossPresetNames('unified-focal')).toEqual(['monai']);
    expect(lossPresetNames('log-cosh-dice')).toEqual(['monai', 'smp', 'nnunet']);
    expect(lossPresetNames('jaccard')).toEqual(['monai']);
    expect(lossPresetNames('tversky')).toEqual([]);
    expect(lossPresetNames('focal-tversky')).toEqual(['odyssey']);
    expect(lossPresetNames('sensitivity-specificity')).toEqual(['odyssey']);
  });
  it('lossOptionNames of the region losses', () => {
    const common = ['activation', 'ignoreIndex', 'grad', 'gradScale'];
    const region = ['perImage', 'includeBackground', 'smooth'];
    expect(lossOptionNames('log-cosh-dice')).toEqual(lossOptionNames('dice'));
    expect(lossOptionNames('jaccard')).toEqual([...common, ...region, 'squared', 'preset']);
    expect(lossOptionNames('tversky')).toEqual([...common, ...region, 'alpha', 'beta']);
    expect(lossOptionNames('focal-tversky')).toEqual([...common, ...region, 'alpha', 'beta', 'gamma', 'preset']);
    expect(lossOptionNames('sensitivity-specificity')).toEqual([...common, ...region, 'r', 'preset']);
    expect(lossOptionNames('combo')).toEqual([...common, 'alpha', 'beta', ...region]);
    expect(lossOptionNames('exp-log')).toEqual([...common, 'wDice', 'wCe', 'gamma', ...region, 'preset']);
    expect(lossOptionNames('unified-focal')).toEqual([...common, 'lambda', 'delta', 'gamma', 'preset']);
  });
  it('region presets set defaults that explicit options override', () => {
    const input = { logits: logits64, target, shape };
    const jm = computeLoss('jaccard', input, { preset: 'monai' }).value;
    expect(jm).toBe(computeLoss('jaccard', input, { perImage: true, smooth: 0.5e-5 }).value);
    expect(computeLoss('jaccard', input, { preset: 'monai', smooth: 1 }).value).toBe(computeLoss('jaccard', input, { perImage: true, smooth: 0.5 }).value);
    const ss = computeLoss('sensitivity-specificity', input, { preset: 'odyssey' }).value;
    expect(ss).toBe(computeLoss('sensitivity-specificity', input, { r: 0.1, smooth: 1, perImage: true }).value);
    expect(computeLoss('sensitivity-specificity', input, { preset: 'odyssey', r: 0.05 }).value).toBe(
      computeLoss('sensitivity-specificity', input, { r: 0.05, smooth: 1, perImage: true }).value,
    );
    const ft = computeLoss('focal-tversky', input, { preset: 'odyssey' }).value;
    expect(ft).toBeCloseTo(computeLoss('tversky', input, { perImage: true, smooth: 1 }).value ** 0.75, 14);
    expect(ft).not.toBe(computeLoss('focal-tversky', input, { perImage: true, smooth: 1 }).value);
  });
});

describe('results', () => {
  it('value only unless grad: true', () => {
    const r = computeLoss('dice', { logits: logits32, target, shape });
    expect(Object.keys(r)).toEqual(['value']);
  });
  it('grad has the logits type and length', () => {
    const r32 = computeLoss('dice', { logits: logits32, target, shape }, { grad: true });
    const r64 = computeLoss('cross-entropy', { logits: logits64, target, shape }, { grad: true });
    expect(r32.grad).toBeInstanceOf(Float32Array);
    expect(r32.grad.length).toBe(120);
    expect(r64.grad).toBeInstanceOf(Float64Array);
    expect(r64.grad.length).toBe(120);
  });
  it('does not modify its inputs', () => {
    const logits = Float32Array.from(logits32);
    const labelsCopy = Uint8Array.from(target);
    computeLoss([{ loss: 'dice' }, { loss: 'cross-entropy' }], { logits, target: labelsCopy, shape }, { grad: true });
    expect(logits).toEqual(logits32);
    expect(labelsCopy).toEqual(target);
  });
  it('accepts typed arrays that are views at an offset', () => {
    const backing = new Float32Array(130);
    backing.set(logits32, 7);
    const view = new Float32Array(backing.buffer, 7 * 4, 120);
    const a = computeLoss('dice', { logits: view, target, shape }, { grad: true });
    const b = computeLoss('dice', { logits: logits32, target, shape }, { grad: true });
    expect(a).toEqual(b);
  });
});

describe('presets', () => {
  const input = { logits: logits64, target, shape };
  it('monai = perImage true, smooth 1e-5', () => {
    expect(computeLoss('dice', input, { preset: 'monai' }).value).toBe(computeLoss('dice', input, { perImage: true, smooth: 1e-5 }).value);
  });
  it('explicit options override the preset', () => {
    expect(computeLoss('dice', input, { preset: 'monai', perImage: false }).value).toBe(computeLoss('dice', input).value);
  });
  it('nnunet = −mean dice without background (offset 0)', () => {
    const plain = computeLoss('dice', input, { includeBackground: false }).value;
    expectClose(computeLoss('dice', input, { preset: 'nnunet' }).value, plain - 1, 1e-14, 1e-15);
    const perImage = computeLoss('dice', input, { includeBackground: false, perImage: true }).value;
    expectClose(computeLoss('dice', input, { preset: 'nnunet', perImage: true }).value, perImage - 1, 1e-14, 1e-15);
  });
  it('smp = batch sums, smooth 0, absent classes skipped', () => {
    const allPresent = computeLoss('dice', input, { smooth: 0 }).value;
    expect(new Set(target).size).toBe(3);
    expectClose(computeLoss('dice', input, { preset: 'smp' }).value, allPresent, 1e-14, 0);
  });
});

describe('class weights', () => {
  const input = { logits: logits64, target, shape };
  it('only their ratios matter, even near the largest double', () => {
    const base = computeLoss('cross-entropy', input, { classWeights: [1, 2, 3], labelSmoothing: 0.1 }).value;
    for (const scale of [1e-300, 1e-5, 7, 1e300]) {
      const scaled = computeLoss('cross-entropy', input, { classWeights: [scale, 2 * scale, 3 * scale], labelSmoothing: 0.1 }).value;
      expectClose(scaled, base, 1e-14, 0);
    }
    expect(Number.isFinite(computeLoss('cross-entropy', input, { classWeights: [1e308, 1e308, 1e308] }).value)).toBe(true);
  });
  it('all-zero weights give 0', () => {
    expect(computeLoss('cross-entropy', input, { classWeights: [0, 0, 0], grad: true }).value).toBe(0);
  });
  it('accept Float32Array and Float64Array', () => {
    const a = computeLoss('cross-entropy', input, { classWeights: [0.5, 1, 2] }).value;
    expect(computeLoss('cross-entropy', input, { classWeights: new Float64Array([0.5, 1, 2]) }).value).toBe(a);
    expect(computeLoss('cross-entropy', input, { classWeights: new Float32Array([0.5, 1, 2]) }).value).toBe(a);
  });
});

describe('resolved request (what crosses into native code)', () => {
  it("a single dice with a preset and an override (smp's smooth s is the core's 2s)", () => {
    expect(resolveLossRequest('dice', { preset: 'smp', smooth: 1, ignoreIndex: 255, gradScale: 2 }, 3).request).toEqual({
      gradScale: 2,
      terms: [
        {
          id: 'dice',
          weight: 1,
          activation: 'softmax',
          ignoreIndex: 255,
          perImage: false,
          includeBackground: true,
          smooth: 2,
          squared: false,
          logLoss: false,
          denominatorClamp: 2e-7,
          zeroAbsentClasses: true,
          offset: 1,
        },
      ],
    });
  });
  it('a compound loss shares activation and ignoreIndex; C = 1 defaults to sigmoid', () => {
    const { request, common } = resolveLossRequest(
      [{ loss: 'cross-entropy', weight: 0.25, options: { classWeights: [1, 4] } }, { loss: 'dice', options: { preset: 'nnunet' } }],
      { ignoreIndex: -1, grad: true },
      1,
    );
    expect(common).toEqual({ activation: 'sigmoid', ignoreIndex: -1, grad: true, gradScale: 1 });
    expect(request).toEqual({
      gradScale: 1,
      terms: [
        { id: 'cross-entropy', weight: 0.25, activation: 'sigmoid', ignoreIndex: -1, classWeights: [0.25, 1], labelSmoothing: 0 },
        {
          id: 'dice',
          weight: 1,
          activation: 'sigmoid',
          ignoreIndex: -1,
          perImage: false,
          includeBackground: false,
          smooth: 1e-5,
          squared: false,
          logLoss: false,
          denominatorClamp: 1e-8,
          zeroAbsentClasses: false,
          offset: 0,
        },
      ],
    });
  });
  it('extra option names (e.g. signal) are accepted and left out', () => {
    const { request } = resolveLossRequest('cross-entropy', { signal: 1 }, 4, ['signal']);
    expect(request.terms[0]).toEqual({ id: 'cross-entropy', weight: 1, activation: 'softmax', ignoreIndex: null, classWeights: null, labelSmoothing: 0 });
  });
});
