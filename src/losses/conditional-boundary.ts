/**
 * `conditional-boundary` (spec 20; Wu et al. 2023, "Conditional Boundary Loss for Semantic
 * Segmentation", IEEE TIP): on the decoder's features f [B, D, H, W] and the classifier
 * (weight [C, D], bias [C]) around the target's class boundaries — an A2P&N term (each band
 * anchor's cosine similarity to its 24 neighbours in a 5×5 window, pulled to 1 for the same class
 * and to 0 for another) and an A2C term (the mean of its same-class neighbours must be classified
 * as its class; the anchor is pulled to the mean of its correctly classified same-class
 * neighbours). The band comes from the target by erosion, of width
 * max(1, round(boundaryWidthRatio · image diagonal)). Reference: dywu98/CBL-Conditional-Boundary-Loss
 * `context_loss` + `er_loss` (which ignore their dilation ratio; segloss honours it).
 *
 * Extra inputs (in the input object): `features`, `featureShape` [B, D, H, W] (B, H, W those of
 * the logits), `classifierWeight` [C, D], `classifierBias` [C] (optional), all of the logits'
 * array type. With `grad: true` the result also holds `featuresGrad`, `classifierWeightGrad`
 * and `classifierBiasGrad`; the logits' gradient is 0 (they enter only through the argmax).
 * Runs on its own native entry point and cannot be a term of a compound loss.
 */
import { defineLoss } from './definition';
import { checkNonNegative, checkUnitInterval, type OptionTable, resolveTable } from './options';

/** Options of `conditional-boundary` beyond the common ones. */
export interface ConditionalBoundaryLossOptions {
  /** ∈ [0, 1]: the band width is max(1, round(ratio · √(H² + W²))) pixels. Default `0.02`. */
  readonly boundaryWidthRatio?: number;
  /** ≥ 0, the weight of the A2P&N (context similarity) term (the reference's loss_context). Default `1`. */
  readonly contextWeight?: number;
  /** ≥ 0, the weight of the neighbour-mean classification term (loss_NCE). Default `0.2`. */
  readonly neighbourClassWeight?: number;
  /** ≥ 0, the weight of the anchor-to-correct-centre term (loss_CN). Default `2`. */
  readonly centreWeight?: number;
}

/** The resolved own fields of conditional-boundary (native: ConditionalBoundaryOptions). */
export interface ConditionalBoundaryOwnOptions {
  readonly boundaryWidthRatio: number;
  readonly contextWeight: number;
  readonly neighbourClassWeight: number;
  readonly centreWeight: number;
}

/** Options of conditional-boundary: check, default, documentation. */
export const conditionalBoundaryOptions: OptionTable<ConditionalBoundaryOwnOptions> = {
  boundaryWidthRatio: {
    default: 0.02,
    check: checkUnitInterval,
    doc: 'ratio ∈ [0, 1]: band width max(1, round(ratio · image diagonal)); default 0.02',
  },
  contextWeight: { default: 1, check: checkNonNegative, doc: 'weight of the A2P&N context-similarity term; default 1' },
  neighbourClassWeight: { default: 0.2, check: checkNonNegative, doc: 'weight of the neighbour-mean classification term; default 0.2' },
  centreWeight: { default: 2, check: checkNonNegative, doc: 'weight of the anchor-to-correct-centre term; default 2' },
};

/** `conditional-boundary` for the registry. */
export const conditionalBoundaryDefinition = defineLoss<'conditional-boundary', ConditionalBoundaryLossOptions, ConditionalBoundaryOwnOptions>({
  id: 'conditional-boundary',
  options: conditionalBoundaryOptions,
  presetNames: [],
  ownEntry: true,
  resolve: (user, context, prefix) => resolveTable(conditionalBoundaryOptions, user, context, prefix),
});
