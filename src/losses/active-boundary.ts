/**
 * `active-boundary` (spec 18, Wang et al. 2022, "Active boundary loss for semantic segmentation"),
 * as wangchi95 `ABL` computes it with its defaults, on softmax logits [B, C, H, W]:
 *
 * 1. the predicted boundary: pixels whose KL divergence to the pixel below plus to the pixel on the
 *    right exceeds ε, dilated 3×3, with ε = 1e-5·1.2^k raised until at most
 *    `maxBoundaryRatio`·H·W pixels of the batch exceed it;
 * 2. the target's distance D to its boundary (labels that differ from the pixel below or to the
 *    right, and ignored pixels): ⌊edt − 1⌋, 0 on the boundary — cached per target;
 * 3. at each predicted boundary pixel the neighbour (of 8) with the smallest D is the class of an
 *    8-way cross-entropy, label-smoothed by `labelSmoothing`, whose logits are KL(q_n ‖ p) towards
 *    the 8 neighbours n (q_n held constant, as ABL detaches them);
 * 4. value = mean over those pixels of CE · min(D, `maxClipDistance`) / `maxClipDistance`.
 *
 * With no predicted boundary pixel (ABL returns None) the value is 0 with a zero gradient.
 * Volumes [B, C, D, H, W] run as B·D slices; activations other than softmax put their class
 * probabilities into the same formulas (C = 1: [1 − σ, σ]).
 */
import { defineLoss } from './definition';
import { checkPositive, checkUnitInterval, type OptionTable, resolveTable } from './options';
import { rangeError } from '../validate';

/** Options of `active-boundary` beyond the common ones. */
export interface ActiveBoundaryLossOptions {
  /** The predicted boundary's budget as a fraction of H·W, in (0, 1]. Default `0.01`. */
  readonly maxBoundaryRatio?: number;
  /** ε ∈ [0, 1] of the direction cross-entropy (targets 1 − ε and ε/8). Default `0.2`. */
  readonly labelSmoothing?: number;
  /** D is clipped at this distance (> 0) for the weight min(D, clip)/clip. Default `20`. */
  readonly maxClipDistance?: number;
}

/** The resolved own fields of active-boundary (native: ActiveBoundaryOptions). */
export interface ActiveBoundaryOwnOptions {
  readonly maxBoundaryRatio: number;
  readonly labelSmoothing: number;
  readonly maxClipDistance: number;
}

function checkRatio(value: unknown, name: string): number {
  const ratio = checkUnitInterval(value, name);
  if (ratio === 0) throw rangeError('a number in (0, 1]', name, value);
  return ratio;
}

/** Options of active-boundary: check, default, documentation. */
export const activeBoundaryOptions: OptionTable<ActiveBoundaryOwnOptions> = {
  maxBoundaryRatio: { default: 0.01, check: checkRatio, doc: 'budget of predicted boundary pixels, a fraction of H·W in (0, 1]; default 0.01' },
  labelSmoothing: { default: 0.2, check: checkUnitInterval, doc: 'ε in [0, 1] of the 8-direction cross-entropy; default 0.2' },
  maxClipDistance: { default: 20, check: checkPositive, doc: 'distance weight min(D, clip)/clip, clip > 0; default 20' },
};

/** `active-boundary` for the registry (no presets). */
export const activeBoundaryDefinition = defineLoss<'active-boundary', ActiveBoundaryLossOptions, ActiveBoundaryOwnOptions>({
  id: 'active-boundary',
  options: activeBoundaryOptions,
  presetNames: [],
  resolve: (user, context, prefix) => resolveTable(activeBoundaryOptions, user, context, prefix),
});
