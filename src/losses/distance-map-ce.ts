/**
 * `distance-map-ce` (spec 4, Calivá et al. 2019, "Distance map loss penalty term for semantic
 * segmentation"): cross-entropy weighted per pixel by 1 + Φ, averaged over valid pixels:
 *
 *   value = Σ_{valid i} (1 + Φ_i)·(−log p_{t_i}) / N_valid
 *
 * Φ ∈ [0, 1] is large next to the boundary of the target's foreground (labels 1..K−1): per image
 * and side of the boundary, Φ = (max d − d) / max d with d the exact distance to the other side and
 * the max over that side; 0 for an image with no foreground or no background. Cached per target.
 *
 * Preset (explicit options override it):
 * - `odyssey`: SegLossOdyssey `DisPenalizedCE`'s weight map, Φ = (max d − d) / (max d − min d) per
 *   side (what its compute_edts_forPenalizedLoss computes), returning the weighted mean (the released
 *   code returns the unweighted CE).
 */
import { defineLoss } from './definition';
import { type OptionContext, type OptionTable, resolveTable } from './options';

/** Named reference conventions of `distance-map-ce`. */
export type DistanceMapCePreset = 'odyssey';

/** Options of `distance-map-ce` beyond the common ones. */
export interface DistanceMapCeLossOptions {
  /**
   * A reference convention.
   * - `'odyssey'`: SegLossOdyssey DisPenalizedCE's Φ = (max d − d) / (max d − min d) per side.
   */
  readonly preset?: DistanceMapCePreset;
}

/** The resolved own fields of distance-map-ce (native: DistanceMapCeOptions). */
export interface DistanceMapCeOwnOptions {
  /** Φ normalised by (max d − min d) per side (preset odyssey). */
  readonly odysseyPenalty: boolean;
}

/** distance-map-ce has no user option of its own; its preset sets the resolved field. */
const distanceMapCeOptions: OptionTable<Record<string, never>> = {};

function resolveDistanceMapCe(
  user: Record<string, unknown>,
  context: OptionContext,
  prefix: string,
  preset: string | undefined,
): DistanceMapCeOwnOptions {
  resolveTable(distanceMapCeOptions, user, context, prefix);
  return { odysseyPenalty: preset === 'odyssey' };
}

/** `distance-map-ce` for the registry. */
export const distanceMapCeDefinition = defineLoss<'distance-map-ce', DistanceMapCeLossOptions, DistanceMapCeOwnOptions>({
  id: 'distance-map-ce',
  options: distanceMapCeOptions,
  presetNames: ['odyssey'],
  resolve: resolveDistanceMapCe,
});
