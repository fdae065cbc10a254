/**
 * `inverseform` (spec 19; Borse et al. 2021, "InverseForm: A Loss Function for Structured
 * Boundary-Aware Segmentation", CVPR), combined as the paper trains with it:
 * segmentationWeight · CE + edgeWeight · BCE_bal(edge) + inverseFormWeight · IF, on logits
 * [B, C + 1, H, W] (C segmentation channels, then one boundary logit channel). IF compares the
 * sigmoid edge probability with the target's boundaries tile by tile through segloss's own
 * inverse-transformation network (native/weights/inverseform-net.bin, trained by
 * `segloss train-inverseform`), as ‖N(p, g) − N(g, g)‖, so it is 0 at identity.
 * Runs on its own native entry point and cannot be a term of a compound loss.
 */
import { defineLoss } from './definition';
import { checkNonNegative, type OptionTable, resolveTable } from './options';
import { typeError, rangeErrorText } from '../validate';

/** Options of `inverseform` beyond the common ones. */
export interface InverseFormLossOptions {
  /** ≥ 0, the weight of the segmentation cross-entropy (channels 0 … C − 1). Default `1`. */
  readonly segmentationWeight?: number;
  /** β ≥ 0, the weight of the class-balanced BCE of the edge channel. Default `0.3`. */
  readonly edgeWeight?: number;
  /** γ ≥ 0, the weight of the InverseForm distance. Default `0.3`. */
  readonly inverseFormWeight?: number;
  /**
   * The inverse-transformation network's parameters (a Float32Array of
   * `inverseFormParameterCount` numbers, e.g. from `trainInverseForm` or
   * `loadInverseFormNetwork(file)`). Default: the network shipped with segloss.
   */
  readonly network?: Float32Array;
}

/** The resolved own fields of inverseform (native: InverseFormOptions, plus the network). */
export interface InverseFormOwnOptions {
  readonly segmentationWeight: number;
  readonly edgeWeight: number;
  readonly inverseFormWeight: number;
  /** null: the shipped network. */
  readonly network: Float32Array | null;
}

/** The network's parameter count (native/core/standalone/inverse_form_net.h). */
export const INVERSEFORM_PARAMETER_COUNT = 36622;

function checkNetwork(value: unknown, name: string): Float32Array {
  if (!(value instanceof Float32Array)) throw typeError(`a Float32Array of ${INVERSEFORM_PARAMETER_COUNT} network parameters`, name, value);
  if (value.length !== INVERSEFORM_PARAMETER_COUNT) {
    throw rangeErrorText(`a Float32Array of ${INVERSEFORM_PARAMETER_COUNT} network parameters`, name, `length ${value.length}`);
  }
  if (!value.every(Number.isFinite)) throw rangeErrorText('finite network parameters', name, 'a non-finite value');
  return value;
}

/** Options of inverseform: check, default, documentation. */
export const inverseFormOptions: OptionTable<InverseFormOwnOptions> = {
  segmentationWeight: { default: 1, check: checkNonNegative, doc: 'weight of the segmentation cross-entropy; default 1' },
  edgeWeight: { default: 0.3, check: checkNonNegative, doc: 'β, weight of the balanced edge BCE; default 0.3' },
  inverseFormWeight: { default: 0.3, check: checkNonNegative, doc: 'γ, weight of the InverseForm distance; default 0.3' },
  network: { default: null, check: checkNetwork, doc: 'Float32Array of the network parameters; default the shipped network' },
};

/** `inverseform` for the registry. */
export const inverseFormDefinition = defineLoss<'inverseform', InverseFormLossOptions, InverseFormOwnOptions>({
  id: 'inverseform',
  options: inverseFormOptions,
  presetNames: [],
  ownEntry: true,
  resolve: (user, context, prefix) => resolveTable(inverseFormOptions, user, context, prefix),
});
