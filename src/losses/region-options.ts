/**
 * The options every region loss built on per-class sums shares (docs/losses.md, "Region sums"):
 * `perImage`, `includeBackground`, `smooth`; and the check of the Tversky weights α, β.
 */
import { checkBoolean, checkNonNegative, type OptionTable } from './options';
import { rangeErrorText } from '../validate';

/** The region options, resolved. */
export interface RegionUserOptions {
  readonly perImage: boolean;
  readonly includeBackground: boolean;
  readonly smooth: number;
}

/** Options of the region losses: check, default, documentation. */
export const regionOptions: OptionTable<RegionUserOptions> = {
  perImage: {
    default: false,
    check: checkBoolean,
    doc: 'sums per image, ratios averaged over images (MONAI); default false (sums pooled over the batch)',
  },
  includeBackground: { default: true, check: checkBoolean, doc: 'keep class 0 in the mean; default true' },
  smooth: { default: 1e-5, check: checkNonNegative, doc: 's ≥ 0 added to numerator and denominator; default 1e-5' },
};

/** Checks α + β > 0 once both are resolved (each is already a finite number ≥ 0). */
export function checkTverskyWeights(alpha: number, beta: number, namePrefix: string): void {
  if (alpha + beta > 0) return;
  throw rangeErrorText('alpha + beta > 0', `${namePrefix}alpha and ${namePrefix}beta`, `alpha = ${alpha}, beta = ${beta}`);
}
