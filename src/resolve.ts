/**
 * From what the user wrote (a loss id or an array of terms, and an options object) to the resolved
 * request of src/native/resolved.ts. Split in two so errors come in a useful order: the loss spec
 * is checked before the input, the options after it (some checks need C).
 */
import { commonOptionNames, type OptionContext, type ResolvedCommonOptions, checkFinite, resolveCommonOptions } from './losses/options';
import { checkLossName, checkPreset, lossDefinition, lossNames, ownOptionNames, resolveOwnFields } from './losses/registry';
import type { ResolvedLossRequest, ResolvedLossTerm } from './native/resolved';
import type { Activation, LossName } from './types';
import { checkKnownKeys, is, quoteList, rangeError, typeError } from './validate';

/** One checked term of the loss spec, its options not yet resolved. */
export interface LossTermSpec {
  readonly id: LossName;
  readonly weight: number;
  /** The term's own options, as the user wrote them. */
  readonly options: Record<string, unknown>;
  /** Prefix of option names in messages: '' for a single loss, 'loss[i].options.' for a term. */
  readonly namePrefix: string;
}

/** A checked loss spec: a single loss (whose options sit at the top level) or compound terms. */
export interface CheckedLossSpec {
  readonly compound: boolean;
  readonly terms: readonly LossTermSpec[];
}

const termKeys = ['loss', 'weight', 'options'] as const;

/** What a loss spec may hold beyond the loss API's rules. */
export interface LossSpecRules {
  /**
   * A term of a compound spec may be a loss with its own entry point (`ownEntry`): the trainer's
   * objective, which feeds such a loss from the model and checks the combination itself
   * (src/trainer/config.ts). Default false: such a loss runs alone.
   */
  readonly standaloneTerms?: boolean;
}

/** Checks `loss` (an id or an array of terms) and each term's structure. */
export function checkLossSpec(loss: unknown, rules: LossSpecRules = {}): CheckedLossSpec {
  if (Array.isArray(loss)) return { compound: true, terms: checkTerms(loss, rules) };
  if (!is.string(loss)) {
    throw typeError(`a loss id (one of ${lossNames.join(', ')}) or an array of terms`, 'loss', loss);
  }
  const id = checkLossName(loss, 'loss');
  return { compound: false, terms: [{ id, weight: 1, options: {}, namePrefix: '' }] };
}

function checkTerms(terms: readonly unknown[], rules: LossSpecRules): LossTermSpec[] {
  if (terms.length === 0) throw rangeError('at least one term { loss, weight?, options? }', 'loss', terms);
  return terms.map((term, i) => checkTerm(term, `loss[${i}]`, rules));
}

function checkTerm(term: unknown, name: string, rules: LossSpecRules): LossTermSpec {
  if (!is.object(term)) throw typeError('an object { loss, weight?, options? }', name, term);
  checkKnownKeys(term, termKeys, `a key of ${name}`);
  const id = checkLossName(term.loss, `${name}.loss`);
  if (lossDefinition(id).ownEntry && !rules.standaloneTerms) {
    throw rangeError('a loss that can be a term of a compound loss (this one runs alone, on its own input)', `${name}.loss`, id);
  }
  const weight = term.weight === undefined ? 1 : checkFinite(term.weight, `${name}.weight`);
  const options = term.options ?? {};
  if (!is.object(options)) throw typeError('an object', `${name}.options`, term.options);
  checkKnownKeys(options, ownOptionNames(id), `an option name of ${name}.options (${id})`, ['preset']);
  return { id, weight, options, namePrefix: `${name}.options.` };
}

/** Checks the options argument's type and its keys against the loss spec. */
export function checkOptionKeys(spec: CheckedLossSpec, options: unknown, extraNames: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (!is.object(options)) throw typeError('an object', 'options', options);
  if (spec.compound) {
    checkKnownKeys(options, [...commonOptionNames, ...extraNames], 'an option name of a compound loss');
  } else {
    const id = spec.terms[0].id;
    // `preset` is always accepted here: on a loss without presets, checkPreset says so.
    checkKnownKeys(options, [...commonOptionNames, ...ownOptionNames(id), ...extraNames], `an option name of ${id}`, ['preset']);
  }
  return options;
}

/**
 * The loss's own default activation when every term of the call is that one loss (rmi: sigmoid),
 * or a single loss's preset's (focal smp: sigmoid).
 */
function callDefaultActivation(spec: CheckedLossSpec, options: Record<string, unknown>): Activation | undefined {
  const ids = new Set(spec.terms.map((t) => t.id));
  if (ids.size !== 1) return undefined;
  const definition = lossDefinition(spec.terms[0].id);
  const preset = spec.compound ? undefined : options.preset;
  return (is.string(preset) ? definition.presetActivations?.[preset] : undefined) ?? definition.defaultActivation;
}

/** The resolved request and the resolved common options of a call. */
export interface ResolvedCall {
  readonly request: ResolvedLossRequest;
  readonly common: ResolvedCommonOptions;
}

/**
 * Resolves a checked spec and its (key-checked) options against the logits' channels.
 * Throws TypeError / RangeError for bad option values.
 */
export function resolveLossCall(spec: CheckedLossSpec, options: Record<string, unknown>, context: OptionContext): ResolvedCall {
  const common = resolveCommonOptions(options, context, '', callDefaultActivation(spec, options));
  const terms = spec.terms.map((term): ResolvedLossTerm => {
    const own = spec.compound ? term.options : options;
    const preset = checkPreset(term.id, own.preset, `${term.namePrefix}preset`);
    const fields = resolveOwnFields(term.id, own, context, term.namePrefix, preset);
    const accepted = lossDefinition(term.id).activations;
    if (accepted && !accepted.includes(common.activation)) {
      throw rangeError(`${quoteList(accepted)} (the activation ${term.id} takes)`, 'activation', common.activation);
    }
    const needed = preset === undefined ? undefined : lossDefinition(term.id).presetActivations?.[preset];
    if (needed !== undefined && needed !== common.activation) {
      throw rangeError(`'${needed}' (the activation ${term.id}'s preset '${preset}' takes)`, 'activation', common.activation);
    }
    return { ...fields, weight: term.weight, activation: common.activation, ignoreIndex: common.ignoreIndex };
  });
  return { request: { terms, gradScale: common.gradScale }, common };
}

/**
 * The whole resolution for callers that hold a loss spec, options and C (e.g. the torch API):
 * checks the spec (with `rules`), the option keys (plus `extraNames`, accepted and ignored) and values.
 */
export function resolveLossRequest(
  loss: unknown,
  options: unknown,
  channels: number,
  extraNames: readonly string[] = [],
  rules: LossSpecRules = {},
): ResolvedCall {
  const spec = checkLossSpec(loss, rules);
  const checked = checkOptionKeys(spec, options, extraNames);
  return resolveLossCall(spec, checked, { channels, classes: channels === 1 ? 2 : channels });
}
