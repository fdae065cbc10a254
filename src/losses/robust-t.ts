/**
 * `robust-t` (spec 14; Gonzalez-Jimenez et al. 2023, "Robust T-Loss for Medical Image
 * Segmentation"): per image and foreground class c ≥ 1, the negative log-likelihood of the
 * residuals δ_i = p_ic − g_ic of the image's D valid pixels under a Student-t with ν = e^θ + ε
 * degrees of freedom (ε = 1e-8) and the reference's fixed scale λ = 1:
 *   L = −lnΓ((ν+D)/2) + lnΓ(ν/2) − ½D(λ+ε) + (D/2) ln π + (D/2)(θ+ε) + ((ν+D)/2) ln(1 + e^(λ+ε) Σ_i δ_i² / ν),
 * mean over images and foreground classes. θ (`nuParameter`) is meant to be learned: with
 * `grad: true` the result carries `gradNuParameter` = d value / d θ. Values are O(D) and can be
 * negative.
 */
import { defineLoss } from './definition';
import { type OptionTable, resolveTable } from './options';
import { is, rangeError, typeError } from '../validate';

/** Options of `robust-t` beyond the common ones. */
export interface RobustTLossOptions {
  /** θ, the learned log degrees of freedom: ν = e^θ + 1e-8. A finite number ≤ 700. Default `1`. */
  readonly nuParameter?: number;
}

/** The resolved own fields (native: RobustTOptions). */
export interface RobustTOwnOptions {
  readonly nuParameter: number;
}

function checkNuParameter(value: unknown, name: string): number {
  if (!is.number(value)) throw typeError('a number', name, value);
  if (!Number.isFinite(value) || value > 700) throw rangeError('a finite number ≤ 700 (ν = e^θ stays finite)', name, value);
  return value;
}

/** Options of robust-t: check, default, documentation. */
export const robustTOptions: OptionTable<RobustTOwnOptions> = {
  nuParameter: { default: 1, check: checkNuParameter, doc: 'θ, the learned log degrees of freedom (ν = e^θ + 1e-8), ≤ 700; default 1' },
};

/** `robust-t` for the registry. */
export const robustTDefinition = defineLoss<'robust-t', RobustTLossOptions, RobustTOwnOptions>({
  id: 'robust-t',
  options: robustTOptions,
  presetNames: [],
  resolve: (user, context, prefix) => resolveTable(robustTOptions, user, context, prefix),
});
