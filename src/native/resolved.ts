/**
 * The resolved, flat loss request that crosses into native code (STYLE habit 2). TypeScript
 * validates the user's options and resolves presets and defaults into this object; native code
 * (native/addon/loss_request.h, `readLossRequest` / `readLossTerms`) reads it field by field and
 * only checks invariants. Every field is always present.
 */
import type { Activation } from '../types';

/** Fields every resolved term has. */
export interface ResolvedTermBase {
  /** Factor of the term in the objective: value = Σ weight · term value. */
  readonly weight: number;
  /** The activation, already resolved against C. */
  readonly activation: Activation;
  /** The ignored label, or null. A safe integer. */
  readonly ignoreIndex: number | null;
}

/** A resolved `cross-entropy` term (core: CrossEntropyOptions). */
export interface ResolvedCrossEntropyTerm extends ResolvedTermBase {
  readonly id: 'cross-entropy';
  /** [K] finite weights ≥ 0, or null for all 1. */
  readonly classWeights: readonly number[] | null;
  /** ε ∈ [0, 1]. */
  readonly labelSmoothing: number;
}

/** A resolved `dice` term (core: DiceOptions); the last three fields come from presets only. */
export interface ResolvedDiceTerm extends ResolvedTermBase {
  readonly id: 'dice';
  readonly perImage: boolean;
  readonly includeBackground: boolean;
  /** ≥ 0. */
  readonly smooth: number;
  readonly squared: boolean;
  readonly logLoss: boolean;
  /** Denominators below it are clamped to it (smp 1e-7, nnU-Net 1e-8, else 0). */
  readonly denominatorClamp: number;
  /** Classes absent from the target contribute 0 to the mean (smp). */
  readonly zeroAbsentClasses: boolean;
  /** value = offset − mean D (1, or 0 for nnU-Net). */
  readonly offset: number;
}

/** Any resolved term. */
export type ResolvedLossTerm = ResolvedCrossEntropyTerm | ResolvedDiceTerm;

/** The whole request: value = Σ_t weight_t · loss_t; gradient scaled by gradScale. */
export interface ResolvedLossRequest {
  /** At least one term. */
  readonly terms: readonly ResolvedLossTerm[];
  /** Upstream gradient multiplying d value / d logits. Finite. */
  readonly gradScale: number;
}
