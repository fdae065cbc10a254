/**
 * Option tables: for every option of a loss, its check, its default (written once, here and in the
 * per-loss files) and one line of documentation. Resolution walks a table: a user value is
 * checked, a missing one takes the preset's value or the default.
 */
import type { Activation } from '../types';
import { is, quoteList, rangeError, rangeErrorText, typeError } from '../validate';

/** What a check may depend on besides the value: the logits' channels C and classes K. */
export interface OptionContext {
  /** C, the logit channels. */
  readonly channels: number;
  /** K, the probability classes (C, or 2 when C = 1). */
  readonly classes: number;
  /** [B, C, ...spatial] when the input is known (computeLoss), absent otherwise (trainer objectives). */
  readonly shape?: readonly number[];
  /** B, when the call knows its input (computeLoss; not the torch API, which checks natively). */
  readonly batch?: number;
  /** N, the pixels of one image, when the call knows its input. */
  readonly pixels?: number;
}

/** One option: its check, its default and its documentation. */
export interface OptionSpec<T> {
  /** The value used when the option is absent (and no preset sets it). */
  readonly default: T;
  /** Returns the checked value or throws a TypeError / RangeError naming `name`. */
  readonly check: (value: unknown, name: string, context: OptionContext) => T;
  /** One line for documentation and help output. */
  readonly doc: string;
}

/** A table of option specs whose resolved values form `O`. */
export type OptionTable<O> = { readonly [K in keyof O]: OptionSpec<O[K]> };

/** Resolves `user` against `table`: checked user values, else `presetValues`, else defaults. */
export function resolveTable<O extends object>(
  table: OptionTable<O>,
  user: Record<string, unknown>,
  context: OptionContext,
  namePrefix: string,
  presetValues: Partial<O> = {},
): O {
  const result: Partial<O> = {};
  for (const key of Object.keys(table) as (keyof O & string)[]) {
    const spec = table[key];
    const value = user[key];
    if (value !== undefined) result[key] = spec.check(value, `${namePrefix}${key}`, context);
    else result[key] = key in presetValues ? presetValues[key] : spec.default;
  }
  return result as O;
}

/** Checks for boolean options. */
export function checkBoolean(value: unknown, name: string): boolean {
  if (!is.bool(value)) throw typeError('a boolean', name, value);
  return value;
}

/** A finite number ≥ 0. */
export function checkNonNegative(value: unknown, name: string): number {
  if (!is.number(value)) throw typeError('a number', name, value);
  if (!Number.isFinite(value) || value < 0) throw rangeError('a finite number ≥ 0', name, value);
  return value;
}

/** K finite numbers ≥ 0, one per class (an array, Float64Array or Float32Array), as a new array. */
export function checkPerClassWeights(value: unknown, name: string, context: OptionContext): number[] {
  const isFloatArray = value instanceof Float64Array || value instanceof Float32Array;
  if (!Array.isArray(value) && !isFloatArray) {
    throw typeError('an array of class weights (numbers)', name, value);
  }
  // A detached Float32Array / Float64Array has length 0 and cannot be iterated.
  const weights = (value as ArrayLike<unknown>).length === 0 ? [] : Array.from(value as ArrayLike<unknown>);
  if (weights.length !== context.classes) {
    throw rangeErrorText(`an array of K = ${context.classes} class weights (one per class)`, name, `${weights.length} weights`);
  }
  weights.forEach((w, c) => {
    if (!is.number(w)) throw typeError('a number', `${name}[${c}]`, w);
    if (!Number.isFinite(w) || w < 0) throw rangeError('a finite number ≥ 0', `${name}[${c}]`, w);
  });
  return weights as number[];
}

/** A finite number. */
export function checkFinite(value: unknown, name: string): number {
  if (!is.number(value)) throw typeError('a number', name, value);
  if (!Number.isFinite(value)) throw rangeError('a finite number', name, value);
  return value;
}

/** A number in [0, 1]. */
export function checkUnitInterval(value: unknown, name: string): number {
  if (!is.number(value)) throw typeError('a number', name, value);
  if (!(value >= 0 && value <= 1)) throw rangeError('a number in [0, 1]', name, value);
  return value;
}

/** The activations, in documentation order. */
export const activations: readonly Activation[] = Object.freeze(['softmax', 'sigmoid', 'none']);

/** The resolved common options (activation resolved against C). */
export interface ResolvedCommonOptions {
  readonly activation: Activation;
  readonly ignoreIndex: number | null;
  readonly grad: boolean;
  readonly gradScale: number;
}

function checkActivation(value: unknown, name: string, context: OptionContext): Activation {
  if (!is.string(value)) throw typeError(`one of ${quoteList(activations)}`, name, value);
  if (!is.oneOf(value, activations)) throw rangeError(`one of ${quoteList(activations)}`, name, value);
  if (value === 'softmax' && context.channels === 1) {
    throw rangeError("'sigmoid' or 'none' (softmax over one channel, C = 1, is constant)", name, value);
  }
  return value;
}

function checkIgnoreIndex(value: unknown, name: string): number {
  if (!is.number(value)) throw typeError('an integer', name, value);
  if (!is.integer(value)) throw rangeError('an integer', name, value);
  return value;
}

/** The options every loss accepts (a compound loss accepts them at its top level only). */
export const commonOptions: OptionTable<{
  activation: Activation | null;
  ignoreIndex: number | null;
  grad: boolean;
  gradScale: number;
}> = {
  activation: {
    default: null,
    check: checkActivation,
    doc: "'softmax' | 'sigmoid' | 'none'; default 'softmax' for C ≥ 2, 'sigmoid' for C = 1",
  },
  ignoreIndex: { default: null, check: checkIgnoreIndex, doc: 'label whose pixels are ignored; default none' },
  grad: { default: false, check: checkBoolean, doc: 'return d value / d logits; default false' },
  gradScale: { default: 1, check: checkFinite, doc: 'upstream gradient multiplying the returned gradient; default 1' },
};

/** Names of the common options. */
export const commonOptionNames: readonly string[] = Object.freeze(Object.keys(commonOptions));

/** Resolves the common options; a null activation becomes softmax (C ≥ 2) or sigmoid (C = 1). */
export function resolveCommonOptions(
  user: Record<string, unknown>,
  context: OptionContext,
  namePrefix = '',
  defaultActivation?: Activation,
): ResolvedCommonOptions {
  const resolved = resolveTable(commonOptions, user, context, namePrefix);
  const activation = resolved.activation ?? defaultActivation ?? (context.channels === 1 ? 'sigmoid' : 'softmax');
  return { ...resolved, activation };
}

/** A finite number > 0. */
export function checkPositive(value: unknown, name: string): number {
  if (!is.number(value)) throw typeError('a number', name, value);
  if (!Number.isFinite(value) || value <= 0) throw rangeError('a finite number > 0', name, value);
  return value;
}
