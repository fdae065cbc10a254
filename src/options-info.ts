/**
 * Introspection of the loss options, for help output and generated documentation.
 */
import { commonOptionNames } from './losses/options';
import { checkLossName, lossDefinition, ownOptionNames } from './losses/registry';
import type { LossName } from './types';

/**
 * The option names `computeLoss(id, …)` accepts: the common ones (`activation`, `ignoreIndex`,
 * `grad`, `gradScale`), then the loss's own, then `preset` when the loss has presets.
 *
 * @param id - a loss id of `lossNames`.
 * @throws TypeError / RangeError (code 'SEGLOSS_INVALID_ARGUMENT') for an unknown id.
 * @example
 * ```ts
 * lossOptionNames('cross-entropy'); // ['activation', 'ignoreIndex', 'grad', 'gradScale', 'classWeights', 'labelSmoothing']
 * ```
 */
export function lossOptionNames(id: LossName): readonly string[] {
  const checked = checkLossName(id, 'id');
  return Object.freeze([...commonOptionNames, ...ownOptionNames(checked)]);
}

/**
 * The presets of a loss (reference conventions its `preset` option selects); empty when none.
 *
 * @param id - a loss id of `lossNames`.
 * @throws TypeError / RangeError (code 'SEGLOSS_INVALID_ARGUMENT') for an unknown id.
 * @example
 * ```ts
 * lossPresetNames('dice'); // ['monai', 'smp', 'nnunet']
 * ```
 */
export function lossPresetNames(id: LossName): readonly string[] {
  return Object.freeze([...lossDefinition(checkLossName(id, 'id')).presetNames]);
}
