/**
 * `log-cosh-dice` (spec 6, Jadon 2020): log(cosh(L_dice)), L_dice the value of `dice` with the
 * same options and presets (`perImage`, `includeBackground`, `smooth`, `squared`, `logLoss`,
 * `preset` `'monai'` | `'smp'` | `'nnunet'`; see {@link DiceLossOptions}). Its gradient is
 * tanh(L_dice) times Dice's.
 */
import { defineLoss } from './definition';
import { type DiceLossOptions, type DiceOwnOptions, type DicePreset, diceOptions, dicePresets, resolveDiceOptions } from './dice';

/** Options of `log-cosh-dice`: those of `dice`. */
export type LogCoshDiceLossOptions = DiceLossOptions;

/** `log-cosh-dice` for the registry (native: LogCoshDiceOptions, the fields of DiceOptions). */
export const logCoshDiceDefinition = defineLoss<'log-cosh-dice', LogCoshDiceLossOptions, DiceOwnOptions>({
  id: 'log-cosh-dice',
  options: diceOptions,
  presetNames: Object.keys(dicePresets),
  resolve: (user, context, prefix, preset) => resolveDiceOptions(user, context, prefix, preset as DicePreset | undefined),
});
