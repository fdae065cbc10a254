/**
 * The losses `computeLoss` knows, in spec order (../shared/spec/LOSSES.md), each with its option
 * table, presets and resolver. Adding a loss = one file in src/losses + one entry here.
 */
import type { ResolvedLossTerm, ResolvedTermBase } from '../native/resolved';
import type { DicePreset, LossName } from '../types';
import { is, quoteList, rangeError, typeError } from '../validate';
import { crossEntropyOptions, crossEntropyPresets, resolveCrossEntropyOptions } from './cross-entropy';
import { dicePresets, diceOptions, resolveDiceOptions } from './dice';
import type { OptionContext, OptionSpec } from './options';

/**
 * The ids `computeLoss` accepts, in the order of the spec (../shared/spec/LOSSES.md); frozen.
 * Now `['cross-entropy', 'dice']`; it grows to the 25 losses of the spec.
 *
 * @example
 * ```ts
 * import { lossNames, computeLoss } from 'segloss';
 * for (const id of lossNames) console.log(id, computeLoss(id, input).value);
 * ```
 */
export const lossNames: readonly LossName[] = Object.freeze(['cross-entropy', 'dice'] as const);

/** The own fields of a resolved term (everything but weight, activation, ignoreIndex). */
type OwnFields = DistributiveOmit<ResolvedLossTerm, keyof ResolvedTermBase>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What the API needs to know about one loss. */
export interface LossDefinition {
  readonly id: LossName;
  /** The loss's own options (the common ones and `preset` are not listed). */
  readonly options: Readonly<Record<string, OptionSpec<unknown>>>;
  /** Its preset names (empty when it has none). */
  readonly presetNames: readonly string[];
  /** Resolves the own options; `preset` is one of presetNames or undefined. */
  resolve(user: Record<string, unknown>, context: OptionContext, namePrefix: string, preset?: string): OwnFields;
}

const definitions: Readonly<Record<LossName, LossDefinition>> = Object.freeze({
  'cross-entropy': {
    id: 'cross-entropy',
    options: crossEntropyOptions,
    presetNames: Object.keys(crossEntropyPresets),
    resolve: (user, context, prefix) => ({ id: 'cross-entropy', ...resolveCrossEntropyOptions(user, context, prefix) }),
  },
  dice: {
    id: 'dice',
    options: diceOptions,
    presetNames: Object.freeze(Object.keys(dicePresets)),
    resolve: (user, context, prefix, preset) => ({
      id: 'dice',
      ...resolveDiceOptions(user, context, prefix, preset as DicePreset | undefined),
    }),
  },
});

/** The definition of a known loss id. */
export function lossDefinition(id: LossName): LossDefinition {
  return definitions[id];
}

/** Checks a loss id: TypeError unless a string, RangeError unless one of lossNames. */
export function checkLossName(value: unknown, name: string): LossName {
  if (!is.string(value)) throw typeError(`a loss id (one of ${lossNames.join(', ')})`, name, value);
  if (!is.oneOf(value, lossNames)) throw rangeError(`one of ${lossNames.join(', ')}`, name, value);
  return value;
}

/** Checks `preset` for loss `id`: undefined, or one of its preset names. */
export function checkPreset(id: LossName, value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  const presets = definitions[id].presetNames;
  if (presets.length === 0) throw rangeError(`no preset (${id} has none)`, name, value);
  if (!is.string(value)) throw typeError(`one of ${quoteList(presets)}`, name, value);
  if (!presets.includes(value)) throw rangeError(`one of ${quoteList(presets)} (presets of ${id})`, name, value);
  return value;
}

/** The own option names of a loss, `preset` included when it has presets. */
export function ownOptionNames(id: LossName): readonly string[] {
  const names = Object.keys(definitions[id].options);
  return definitions[id].presetNames.length > 0 ? [...names, 'preset'] : names;
}
