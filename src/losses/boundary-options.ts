/**
 * Option checks shared by the boundary-level losses (docs/losses.md "Boundary level"): a list of
 * class ids, and a caller-supplied per-pixel map of the logits' [B, K, ...spatial] size.
 */
import type { OptionContext } from './options';
import { is, rangeError, rangeErrorText, typeError } from '../validate';

/** Distinct integer class ids in [0, K), as a new array (an empty array is a RangeError). */
export function checkClassIds(value: unknown, name: string, context: OptionContext): number[] {
  if (!Array.isArray(value)) throw typeError('an array of class ids (integers in [0, K))', name, value);
  if (value.length === 0) throw rangeErrorText('at least one class id', name, 'an empty array');
  const seen = new Set<number>();
  value.forEach((id: unknown, i) => {
    if (!is.number(id) || !Number.isInteger(id)) throw typeError('an integer class id', `${name}[${i}]`, id);
    if (id < 0 || id >= context.classes) throw rangeError(`a class id in [0, K = ${context.classes})`, `${name}[${i}]`, id);
    if (seen.has(id)) throw rangeError('a class id not listed before', `${name}[${i}]`, id);
    seen.add(id);
  });
  return [...(value as number[])];
}

/**
 * A per-pixel, per-class map: a Float64Array or Float32Array of finite numbers, of length B·K·N when
 * the call knows B and N (computeLoss; the torch API checks the length natively). Returned as a
 * Float64Array (a copy).
 */
export function checkPixelMap(value: unknown, name: string, context: OptionContext): Float64Array {
  if (!(value instanceof Float64Array) && !(value instanceof Float32Array)) {
    throw typeError('a Float64Array or Float32Array [B, K, ...spatial]', name, value);
  }
  if (context.batch !== undefined && context.pixels !== undefined) {
    const expected = context.batch * context.classes * context.pixels;
    if (value.length !== expected) {
      throw rangeErrorText(`an array of length B·K·N = ${expected}`, name, `length ${value.length}`);
    }
  }
  const copy = Float64Array.from(value);
  const bad = copy.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw rangeError('a finite number', `${name}[${bad}]`, copy[bad]);
  return copy;
}
