/**
 * `boundary-aware` (spec 17; Hayder, He & Salzmann 2017, "Boundary-aware Instance Segmentation",
 * CVPR): the model predicts K distance bins per class, so the logits have C·K channels
 * (class-major: channel c·K + n is bin n of class c) and the target holds labels in [0, C).
 * Target transform per class: D(p) = min(⌈d(p)⌉, R) inside the class (d the exact Euclidean
 * distance to the nearest valid pixel of another class), bin n(p) = ⌊(D − 1)·K / R⌋, one-hot
 * over the K maps (all 0 outside the class). Loss: the mean over valid pixels, classes and bins
 * of the binary CE with logits (the activation is always the sigmoid). `decodeBoundaryAware`
 * turns bin predictions back into a label map (union of disks). No public code exists; the loss
 * is tested by its properties (docs/losses.md).
 *
 * It runs on its own native entry point (its input is not the engine's [B, C, N]) and cannot be
 * a term of a compound loss.
 */
import { defineLoss } from './definition';
import { type OptionTable, resolveTable } from './options';
import { is, rangeError, typeError } from '../validate';

/** Options of `boundary-aware` beyond the common ones. */
export interface BoundaryAwareLossOptions {
  /** K ≥ 1, the distance bins (binary maps) per class; the logits have C·K channels. Default `5`. */
  readonly bins?: number;
  /** R ≥ 1, the truncation of the distance to the class boundary, in pixels. Default `5`. */
  readonly radius?: number;
}

/** The resolved own fields of boundary-aware (native: BoundaryAwareOptions). */
export interface BoundaryAwareOwnOptions {
  readonly bins: number;
  readonly radius: number;
}

/** An integer in [1, 127] (bins and radius are stored in 8 bits natively). */
export function checkBinCount(value: unknown, name: string): number {
  if (!is.number(value)) throw typeError('an integer in [1, 127]', name, value);
  if (!is.integer(value) || value < 1 || value > 127) throw rangeError('an integer in [1, 127]', name, value);
  return value;
}

/** Options of boundary-aware: check, default, documentation. */
export const boundaryAwareOptions: OptionTable<BoundaryAwareOwnOptions> = {
  bins: { default: 5, check: checkBinCount, doc: 'K ∈ [1, 127], distance bins per class (logits have C·K channels); default 5' },
  radius: { default: 5, check: checkBinCount, doc: 'R ∈ [1, 127], truncation of the distance to the boundary (pixels); default 5' },
};

/** `boundary-aware` for the registry. */
export const boundaryAwareDefinition = defineLoss<'boundary-aware', BoundaryAwareLossOptions, BoundaryAwareOwnOptions>({
  id: 'boundary-aware',
  options: boundaryAwareOptions,
  presetNames: [],
  ownEntry: true,
  resolve: (user, context, prefix) => resolveTable(boundaryAwareOptions, user, context, prefix),
});
