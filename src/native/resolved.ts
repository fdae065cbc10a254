/**
 * The resolved, flat loss request that crosses into native code (STYLE habit 2). TypeScript
 * validates the user's options and resolves presets and defaults into this object; native code
 * (native/addon/loss_request.h) reads it with one generic reader driven by each loss's field list
 * and only checks invariants. Every field is always present.
 */
import type { ResolvedOwnFields } from '../losses/registry';
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

/**
 * Any resolved term: the common fields plus one loss's own fields (derived from the registry's
 * definitions; each loss file documents its fields, which match its native options' fields()).
 */
export type ResolvedLossTerm = ResolvedTermBase & ResolvedOwnFields;

/** The whole request: value = Σ_t weight_t · loss_t; gradient scaled by gradScale. */
export interface ResolvedLossRequest {
  /** At least one term. */
  readonly terms: readonly ResolvedLossTerm[];
  /** Upstream gradient multiplying d value / d logits. Finite. */
  readonly gradScale: number;
}
