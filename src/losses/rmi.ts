/**
 * `rmi` (spec 13; Zhao et al. 2019, "Region Mutual Information Loss for Semantic Segmentation"),
 * as ZJULearning/RMI `RMILoss.forward_sigmoid` computes it: λ · (sigmoid BCE of each class channel
 * against the one-hot target, summed over valid pixels and classes, divided by valid + 1) +
 * (1 − λ) · Σ_c mean over image planes of ½ log det(Σ_{Y|P} + 5e-4 I) / R², where per plane and
 * class the probabilities (+ 1e-6) and the one-hot target are pooled, stacked into R²-vectors from
 * R×R neighbourhoods and centred, and Σ_{Y|P} = Σ_Y − Σ_YP (Σ_P + 5e-4 I)⁻¹ Σ_YPᵀ.
 *
 * Takes the sigmoid of each channel (the default activation of an rmi call; C ≥ 2, one channel per
 * class). 3-D input [B, C, D, H, W] runs per slice: each of the D slices of an image is a plane.
 */
import { defineLoss } from './definition';
import { checkUnitInterval, type OptionContext, type OptionTable, resolveTable } from './options';
import { is, quoteList, rangeError, rangeErrorText, typeError } from '../validate';

/** How rmi pools before its neighbourhoods. */
export type RmiPoolMode = 'avg' | 'max';

/** Options of `rmi` beyond the common ones. */
export interface RmiLossOptions {
  /** R ∈ [1, 10]: R×R neighbourhoods (R²-dimensional vectors). Default `3`. */
  readonly radius?: number;
  /** `'avg'` (zero padding counted, as avg_pool2d) or `'max'`. Default `'avg'`. */
  readonly poolMode?: RmiPoolMode;
  /** Pooling kernel (an integer ≥ 1; padding poolSize / 2, rounded down). Default `2`. */
  readonly poolSize?: number;
  /** Pooling stride (an integer ≥ 1; 1 = no pooling, as the reference). Default `2`. */
  readonly poolStride?: number;
  /** λ ∈ [0, 1], the weight of the BCE part (1 − λ on the RMI part). Default `0.5`. */
  readonly lambda?: number;
}

/** The resolved own fields (native: RmiOptions). */
export interface RmiOwnOptions {
  readonly radius: number;
  readonly maxPool: boolean;
  readonly poolSize: number;
  readonly poolStride: number;
  readonly lambda: number;
  /** H and W of a plane (0 when the shape is not known yet: the torch op takes them from the tensor). */
  readonly height: number;
  readonly width: number;
}

interface UserFields {
  readonly radius: number;
  readonly poolMode: RmiPoolMode;
  readonly poolSize: number;
  readonly poolStride: number;
  readonly lambda: number;
}

const poolModes: readonly RmiPoolMode[] = Object.freeze(['avg', 'max']);

function integerIn(lo: number, hi: number) {
  return (value: unknown, name: string): number => {
    if (!is.number(value)) throw typeError('an integer', name, value);
    if (!is.integer(value) || value < lo || value > hi) throw rangeError(`an integer in [${lo}, ${hi}]`, name, value);
    return value;
  };
}

function checkPoolMode(value: unknown, name: string): RmiPoolMode {
  if (!is.string(value)) throw typeError(`one of ${quoteList(poolModes)}`, name, value);
  if (!is.oneOf(value, poolModes)) throw rangeError(`one of ${quoteList(poolModes)}`, name, value);
  return value;
}

/** Options of rmi: check, default, documentation. */
export const rmiOptions: OptionTable<UserFields> = {
  radius: { default: 3, check: integerIn(1, 10), doc: 'R ∈ [1, 10], the neighbourhood side (R²-vectors); default 3' },
  poolMode: { default: 'avg', check: checkPoolMode, doc: "'avg' | 'max' pooling before the neighbourhoods; default 'avg'" },
  poolSize: { default: 2, check: integerIn(1, 1024), doc: 'pooling kernel (padding poolSize/2); default 2' },
  poolStride: { default: 2, check: integerIn(1, 1024), doc: 'pooling stride (1: no pooling); default 2' },
  lambda: { default: 0.5, check: checkUnitInterval, doc: 'λ ∈ [0, 1], weight of the BCE part; default 0.5' },
};

/** The pooled size of n pixels (as the reference: padding poolSize / 2, none when the stride is 1). */
function pooled(n: number, size: number, stride: number): number {
  return stride <= 1 ? n : Math.floor((n + 2 * Math.floor(size / 2) - size) / stride) + 1;
}

function resolveRmiOptions(user: Record<string, unknown>, context: OptionContext, prefix: string): RmiOwnOptions {
  const o = resolveTable(rmiOptions, user, context, prefix);
  if (context.channels < 2) {
    throw rangeErrorText('C ≥ 2 channels (rmi: one sigmoid channel per class)', 'shape', `C = ${context.channels}`);
  }
  let height = 0;
  let width = 0;
  if (context.shape) {
    height = context.shape[context.shape.length - 2];
    width = context.shape[context.shape.length - 1];
    const [ph, pw] = [pooled(height, o.poolSize, o.poolStride), pooled(width, o.poolSize, o.poolStride)];
    if (ph < o.radius || pw < o.radius) {
      throw rangeErrorText(
        `a radius ≤ the pooled plane (${ph}×${pw} from ${height}×${width} with poolSize ${o.poolSize}, poolStride ${o.poolStride})`,
        `${prefix}radius`,
        String(o.radius),
      );
    }
  }
  return { radius: o.radius, maxPool: o.poolMode === 'max', poolSize: o.poolSize, poolStride: o.poolStride, lambda: o.lambda, height, width };
}

/** `rmi` for the registry. */
export const rmiDefinition = defineLoss<'rmi', RmiLossOptions, RmiOwnOptions>({
  id: 'rmi',
  options: rmiOptions,
  presetNames: [],
  defaultActivation: 'sigmoid',
  activations: ['sigmoid'],
  resolve: (user, context, prefix) => resolveRmiOptions(user, context, prefix),
});
