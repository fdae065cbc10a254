// The core addon's own checks (invariants, not user wording): whatever reaches it, it answers
// with a JS error of code 'SEGLOSS_NATIVE', never a crash. Also where the addon was loaded from.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { computeLoss, computeLossAsync, NATIVE_ERROR } from '../src/index';
import { coreAddon, coreAddonLocation, coreAddonPath, packageRoot } from '../src/native/core';
import type { ResolvedLossRequest } from '../src/native/resolved';

const dice: ResolvedLossRequest = {
  gradScale: 1,
  terms: [
    {
      id: 'dice',
      weight: 1,
      activation: 'softmax',
      ignoreIndex: null,
      perImage: false,
      includeBackground: true,
      smooth: 1e-5,
      squared: false,
      logLoss: false,
      denominatorClamp: 0,
      zeroAbsentClasses: false,
      offset: 1,
    },
  ],
};
const logits = new Float32Array(12); // [1, 3, 4]
const target = new Uint8Array(4); // [1, 4]
const dims = [1, 3, 4] as const;

function nativeError(thunk: () => unknown): { name: string; message: string; code?: string } {
  try {
    thunk();
  } catch (error) {
    const e = error as Error & { code?: string };
    return { name: e.name, message: e.message, code: e.code };
  }
  throw new Error('expected an error');
}

const raw = (...args: unknown[]) => () => (coreAddon().computeLoss as (...a: unknown[]) => number)(...args);

describe('core addon invariants', () => {
  it('computes with a well-formed request', () => {
    const grad = new Float32Array(12);
    const value = coreAddon().computeLoss(logits, target, dims, dice, grad);
    expect(value).toBeCloseTo(computeLoss('dice', { logits, target, shape: [1, 3, 2, 2] }).value, 12);
    expect(grad.some((g) => g !== 0)).toBe(true);
  });

  it.each([
    ['no arguments', raw(), 'TypeError', 'expected (logits, target, dims, request, grad)'],
    ['logits a number', raw(1, target, dims, dice, null), 'TypeError', 'logits is not a TypedArray'],
    ['logits Int16Array', raw(new Int16Array(12), target, dims, dice, null), 'TypeError', 'logits is not a Float32Array or Float64Array'],
    ['target Float64Array', raw(logits, new Float64Array(4), dims, dice, null), 'TypeError', 'target is not a Uint8Array, Uint16Array or Int32Array'],
    ['dims of rank 2', raw(logits, target, [1, 12], dice, null), 'TypeError', 'dims is not [B, C, N], [B, C, H, W] or [B, C, D, H, W]'],
    ['dims with a string', raw(logits, target, [1, '3', 4], dice, null), 'TypeError', 'dims holds a non-number'],
    ['zero dims', raw(logits, target, [0, 3, 4], dice, null), 'RangeError', 'dimensions must be positive'],
    ['huge dims', raw(logits, target, [2 ** 40, 2 ** 40, 2 ** 40], dice, null), 'RangeError', 'dimensions overflow int64'],
    ['wrong logits length', raw(logits, target, [1, 2, 4], dice, null), 'RangeError', 'logits length is not B·C·N'],
    ['wrong target length', raw(logits, new Uint8Array(3), [1, 3, 4], dice, null), 'RangeError', 'target length is not B·N'],
    ['request not an object', raw(logits, target, dims, 'dice', null), 'TypeError', 'request is not an object'],
    ['request without terms', raw(logits, target, dims, {}, null), 'TypeError', "resolved loss term lacks 'terms'"],
    ['empty terms', raw(logits, target, dims, { terms: [], gradScale: 1 }, null), 'RangeError', "resolved 'terms' is empty"],
    ['unknown id', raw(logits, target, dims, { ...dice, terms: [{ ...dice.terms[0], id: 'no-such-loss' }] }, null), 'RangeError', "resolved loss id 'no-such-loss' is unknown to the native core"],
    ['missing field', raw(logits, target, dims, { ...dice, terms: [{ ...dice.terms[0], smooth: undefined }] }, null), 'TypeError', "resolved field 'smooth' is not a number"],
    ['NaN weight', raw(logits, target, dims, { ...dice, terms: [{ ...dice.terms[0], weight: Number.NaN }] }, null), 'RangeError', "resolved field 'weight' is not finite"],
    ['bad activation', raw(logits, target, dims, { ...dice, terms: [{ ...dice.terms[0], activation: 'relu' }] }, null), 'RangeError', "resolved activation 'relu' is unknown"],
    [
      'softmax with C = 1',
      raw(new Float32Array(4), target, [1, 1, 4], dice, null),
      'RangeError',
      'softmax over a single channel is constant; use sigmoid or none for C = 1',
    ],
    [
      'classWeights of the wrong length',
      raw(logits, target, dims, { gradScale: 1, terms: [{ id: 'cross-entropy', weight: 1, activation: 'softmax', ignoreIndex: null, classWeights: [1, 2], labelSmoothing: 0 }] }, null),
      'RangeError',
      'classWeights has 2 entries, expected K = 3',
    ],
    [
      'negative class weight',
      raw(logits, target, dims, { gradScale: 1, terms: [{ id: 'cross-entropy', weight: 1, activation: 'softmax', ignoreIndex: null, classWeights: [1, -2, 1], labelSmoothing: 0 }] }, null),
      'RangeError',
      'resolved classWeights holds a negative or non-finite weight',
    ],
    ['label out of range', raw(logits, Uint8Array.from([0, 1, 2, 3]), dims, dice, null), 'RangeError', 'label outside [0, K) at flat index 3'],
    ['grad of another type', raw(logits, target, dims, dice, new Float64Array(12)), 'RangeError', "grad does not have the logits' type and length"],
    ['grad too short', raw(logits, target, dims, dice, new Float32Array(11)), 'RangeError', "grad does not have the logits' type and length"],
    ['request getter throws', raw(logits, target, dims, { get terms() { throw new Error('boom'); } }, null), 'Error', 'boom'],
  ])('%s', (_name, thunk, name, message) => {
    const error = nativeError(thunk);
    expect(error.name).toBe(name);
    expect(error.message).toBe(message);
    if (message !== 'boom') expect(error.code).toBe(NATIVE_ERROR);
  });

  it('a TypedArray whose length lies is caught natively, sync and async', async () => {
    class LyingTarget extends Uint8Array {
      override get length(): number {
        return 4;
      }
    }
    const input = { logits: new Float32Array(12), target: new LyingTarget(2), shape: [1, 3, 2, 2] as const };
    const error = nativeError(() => computeLoss('dice', input));
    expect(error).toEqual({ name: 'RangeError', message: 'target length is not B·N', code: NATIVE_ERROR });
    await expect(computeLossAsync('dice', input)).rejects.toThrow('target length is not B·N');
  });

  it('async workers reject with classified native errors', async () => {
    const promise = (coreAddon().computeLossAsync as (...a: unknown[]) => Promise<number>)(logits, target, dims, dice, null);
    await expect(promise).resolves.toBeCloseTo(coreAddon().computeLoss(logits, target, dims, dice, null), 14);
    expect(() => (coreAddon().computeLossAsync as (...a: unknown[]) => unknown)(logits, target, [1, 2, 4], dice, null)).toThrow(
      'logits length is not B·C·N',
    );
  });

  it('reports how it was built', () => {
    const info = coreAddon().buildInfo();
    expect(info.napiVersion).toBe(8);
    expect(info.cxxStandard).toBeGreaterThanOrEqual(202002);
    expect(typeof info.compiler).toBe('string');
  });
});

describe('core addon location', () => {
  it('is the local build when there is one, else the prebuild (node-gyp-build order)', () => {
    const location = coreAddonLocation();
    const local = path.join(packageRoot, 'build', 'Release', 'segloss_core.node');
    if (fs.existsSync(local)) {
      expect(location).toEqual({ path: local, origin: 'local-build' });
    } else {
      expect(location.origin).toBe('prebuild');
      expect(path.relative(packageRoot, location.path).startsWith('prebuilds')).toBe(true);
    }
    expect(coreAddonPath()).toBe(location.path);
  });
});
