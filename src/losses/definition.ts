/**
 * What the API knows about one loss: its id, its option table, its presets and its resolver. Each
 * loss file in src/losses exports one `LossDefinition` (made with {@link defineLoss}); the
 * registry lists them, and every loss-specific type of the API (LossName, LossOptionsById, the
 * resolved native request) is derived from that list.
 */
import type { OptionContext, OptionSpec } from './options';

/**
 * One loss.
 *
 * @typeParam Id - the loss id.
 * @typeParam UserOptions - the options a caller may pass (documented interface).
 * @typeParam Own - the loss's resolved own fields as they cross into native code (one per entry
 *   of the native options' `fields()` list, native/core/losses/*.h).
 */
export interface LossDefinition<Id extends string = string, UserOptions = unknown, Own extends object = object> {
  readonly id: Id;
  /** The loss's own options (the common ones and `preset` are not listed). */
  readonly options: Readonly<Record<string, OptionSpec<unknown>>>;
  /** Its preset names (empty when it has none). */
  readonly presetNames: readonly string[];
  /** The activation when the caller gives none and every term of the call is this loss (default: softmax for C ≥ 2). */
  readonly defaultActivation?: 'softmax' | 'sigmoid' | 'none';
  /** The activations it accepts (default: all); another is a RangeError naming `activation`. */
  readonly activations?: readonly ('softmax' | 'sigmoid' | 'none')[];
  /**
   * The activation a preset needs (focal's smp: sigmoid): the default when the call gives none and
   * is this loss alone with that preset; another is a RangeError naming `activation`.
   */
  readonly presetActivations?: Readonly<Record<string, 'softmax' | 'sigmoid' | 'none' | undefined>>;
  /**
   * True for a loss that runs on its own native entry point (src/standalone-losses.ts) because its
   * input is not the engine's logits [B, C, N] + labels (boundary-aware's C·K channels,
   * inverseform's edge channel and network, conditional-boundary's features): it is computed alone, never as a term of a compound loss.
   */
  readonly ownEntry?: boolean;
  /** Resolves the own options; `preset` is one of presetNames or undefined (already checked). */
  resolve(user: Record<string, unknown>, context: OptionContext, namePrefix: string, preset?: string): Own;
  /** Type-level only (never set): the user options type. */
  readonly userOptions?: UserOptions;
}

/** Builds a loss definition (freezes it; the type parameters carry the option types). */
export function defineLoss<Id extends string, UserOptions, Own extends object>(
  definition: Omit<LossDefinition<Id, UserOptions, Own>, 'userOptions'>,
): LossDefinition<Id, UserOptions, Own> {
  return Object.freeze({ ...definition, presetNames: Object.freeze([...definition.presetNames]) });
}
