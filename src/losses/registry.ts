/**
 * The losses `computeLoss` knows, in the spec's order: THE list on the TypeScript side. Adding a
 * loss = its file in src/losses (user options interface, option table, presets, `defineLoss`)
 * + one entry here; LossName, LossOptionsById and the resolved native request are derived from
 * this list (the native side has its own one list, native/core/loss_list.h).
 */
import type { OptionContext } from './options';
import { activeBoundaryDefinition } from './active-boundary';
import { boundaryDefinition } from './boundary';
import { boundaryAwareDefinition } from './boundary-aware';
import { boundaryDouDefinition } from './boundary-dou';
import { comboDefinition } from './combo';
import { conditionalBoundaryDefinition } from './conditional-boundary';
import { crossEntropyDefinition } from './cross-entropy';
import type { LossDefinition } from './definition';
import { diceDefinition } from './dice';
import { distanceMapCeDefinition } from './distance-map-ce';
import { expLogDefinition } from './exp-log';
import { focalDefinition } from './focal';
import { focalTverskyDefinition } from './focal-tversky';
import { generalizedWassersteinDiceDefinition } from './generalized-wasserstein-dice';
import { hausdorffDtDefinition } from './hausdorff-dt';
import { inverseFormDefinition } from './inverseform';
import { jaccardDefinition } from './jaccard';
import { logCoshDiceDefinition } from './log-cosh-dice';
import { lovaszSoftmaxDefinition } from './lovasz-softmax';
import { regionWiseDefinition } from './region-wise';
import { rmiDefinition } from './rmi';
import { robustTDefinition } from './robust-t';
import { sensitivitySpecificityDefinition } from './sensitivity-specificity';
import { topkDefinition } from './topk';
import { tverskyDefinition } from './tversky';
import { unifiedFocalDefinition } from './unified-focal';
import { is, quoteList, rangeError, typeError } from '../validate';

export const lossDefinitions = [
  crossEntropyDefinition,
  topkDefinition,
  focalDefinition,
  distanceMapCeDefinition,
  diceDefinition,
  logCoshDiceDefinition,
  generalizedWassersteinDiceDefinition,
  jaccardDefinition,
  lovaszSoftmaxDefinition,
  tverskyDefinition,
  focalTverskyDefinition,
  sensitivitySpecificityDefinition,
  rmiDefinition,
  robustTDefinition,
  boundaryDefinition,
  hausdorffDtDefinition,
  boundaryAwareDefinition,
  activeBoundaryDefinition,
  inverseFormDefinition,
  conditionalBoundaryDefinition,
  boundaryDouDefinition,
  regionWiseDefinition,
  comboDefinition,
  expLogDefinition,
  unifiedFocalDefinition,
] as const;

type Definitions = (typeof lossDefinitions)[number];

/** Ids of the losses `computeLoss` accepts (see `lossNames`). */
export type LossName = Definitions['id'];

/** Every loss id and its own options. */
export type LossOptionsById = {
  [D in Definitions as D['id']]: D extends LossDefinition<string, infer O, object> ? O : never;
};

/** The resolved own fields of each loss (what crosses into native code besides the common ones). */
export type ResolvedOwnFields = OwnFieldsOf<Definitions>;
type OwnFieldsOf<D> = D extends LossDefinition<infer Id, unknown, infer Own> ? { readonly id: Id } & Own : never;

/**
 * The ids `computeLoss` accepts, all 25 losses of docs/losses.md in the survey's order; frozen:
 * `['cross-entropy', 'topk', 'focal', 'distance-map-ce', 'dice', 'log-cosh-dice',
 * 'generalized-wasserstein-dice', 'jaccard', 'lovasz-softmax', 'tversky', 'focal-tversky',
 * 'sensitivity-specificity', 'rmi', 'robust-t', 'boundary', 'hausdorff-dt', 'boundary-aware',
 * 'active-boundary', 'inverseform', 'conditional-boundary', 'boundary-dou', 'region-wise', 'combo',
 * 'exp-log', 'unified-focal']`.
 *
 * @example
 * ```ts
 * import { lossNames, computeLoss } from 'segloss';
 * for (const id of lossNames) console.log(id, computeLoss(id, input).value);
 * ```
 */
export const lossNames: readonly LossName[] = Object.freeze(lossDefinitions.map((d) => d.id));

/**
 * The ids that take the common input (logits [B, C, ...] and labels in [0, C)) and can be terms of
 * a compound loss: `lossNames` without the losses that run alone on their own input
 * (`'boundary-aware'`: C·K channels; `'inverseform'`: C + 1 channels and its network;
 * `'conditional-boundary'`: features and classifier); frozen.
 */
export const combinableLossNames: readonly LossName[] = Object.freeze(
  lossDefinitions.filter((d) => !(d as LossDefinition).ownEntry).map((d) => d.id),
);

const definitions = new Map<string, LossDefinition>(lossDefinitions.map((d) => [d.id, d]));

/** Resolves a term's own options into the fields native code reads (with the id). */
export function resolveOwnFields(
  id: LossName,
  user: Record<string, unknown>,
  context: OptionContext,
  namePrefix: string,
  preset?: string,
): ResolvedOwnFields {
  return { id, ...lossDefinition(id).resolve(user, context, namePrefix, preset) } as ResolvedOwnFields;
}

/** The definition of a known loss id. */
export function lossDefinition(id: LossName): LossDefinition {
  const definition = definitions.get(id);
  if (!definition) throw new Error(`segloss internal error: no definition for '${id}'`);
  return definition;
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
  const presets = lossDefinition(id).presetNames;
  if (presets.length === 0) throw rangeError(`no preset (${id} has none)`, name, value);
  if (!is.string(value)) throw typeError(`one of ${quoteList(presets)}`, name, value);
  if (!presets.includes(value)) throw rangeError(`one of ${quoteList(presets)} (presets of ${id})`, name, value);
  return value;
}

/** The own option names of a loss, `preset` included when it has presets. */
export function ownOptionNames(id: LossName): readonly string[] {
  const definition = lossDefinition(id);
  const names = Object.keys(definition.options);
  return definition.presetNames.length > 0 ? [...names, 'preset'] : names;
}
