/**
 * segloss — segmentation losses (value and gradient) on raw typed arrays, computed by native
 * C++ engines. See docs/losses.md for what each loss computes.
 *
 * @example
 * ```ts
 * import { computeLoss, lossNames } from 'segloss';
 * const r = computeLoss('dice', { logits, target, shape: [B, C, H, W] }, { perImage: true, grad: true });
 * r.value; // number
 * r.grad;  // same type and length as logits
 * ```
 */
export { computeLoss, computeLossAsync } from './compute';
export { combinableLossNames, lossNames } from './losses/registry';
export { decodeBoundaryAware } from './standalone-losses';
export type { DecodeBoundaryAwareOptions } from './standalone-losses';
export {
  defaultInverseFormNetwork,
  inverseFormParameterCount,
  loadInverseFormMasks,
  loadInverseFormNetwork,
  saveInverseFormNetwork,
  trainInverseForm,
} from './inverseform';
export type { InverseFormMasks, TrainInverseFormOptions, TrainedInverseFormNetwork } from './inverseform';
export { lossOptionNames, lossPresetNames } from './options-info';
export { INVALID_ARGUMENT, NATIVE_ERROR } from './validate';
export { coreAddonLocation, cpuEngineInfo, CORE_ADDON_MISSING } from './native/core';
export type { CoreAddonLocation, CpuEngineInfo } from './native/core';
export type { ArgumentError } from './validate';
export type {
  Activation,
  AsyncLossOptions,
  OutputOptions,
  CommonLossOptions,
  ComboLossOptions,
  CrossEntropyLossOptions,
  DiceLossOptions,
  DicePreset,
  ExpLogLossOptions,
  ExpLogPreset,
  FocalLossOptions,
  FocalPreset,
  FocalTverskyLossOptions,
  FocalTverskyPreset,
  GeneralizedWassersteinDiceLossOptions,
  JaccardLossOptions,
  JaccardPreset,
  LogCoshDiceLossOptions,
  LovaszClasses,
  LovaszSoftmaxLossOptions,
  LogitsArray,
  LossInput,
  LossName,
  LossOptions,
  LossOptionsById,
  LossResult,
  LossResultWithGrad,
  LossShape,
  LossSpec,
  LossTerm,
  RmiLossOptions,
  RmiPoolMode,
  RobustTLossOptions,
  SensitivitySpecificityLossOptions,
  SensitivitySpecificityPreset,
  TargetArray,
  TopKLossOptions,
  TopKPreset,
  TverskyLossOptions,
  UnifiedFocalLossOptions,
  UnifiedFocalPreset,
  WassersteinWeighting,
} from './types';
export {
  computeLossTorch,
  computeLossTorchAsync,
  NO_CUDA,
  NO_LIBTORCH,
  torchAddonPath,
  torchAvailable,
  torchInfo,
} from './torch/index';
export type { TorchDevice, TorchInfo, TorchLossOptions } from './torch/index';
export { binaryMorphology, distanceMap, distanceTransform, distanceTransformAsync } from './geometry';
export type {
  DistanceMapKind,
  DistanceTransformAsyncOptions,
  DistanceTransformOptions,
  MorphologyOp,
  MorphologyOptions,
  SpatialOptions,
} from './geometry';
export { metrics } from './metrics';
export type {
  AsyncSurfaceMetricOptions,
  ConfusionMatrixOptions,
  DiceMetricOptions,
  EmptyMaskPolicy,
  LabelArray,
  MeanIoUResult,
  SurfaceMetricOptions,
  VolumeMetrics,
} from './metrics';
// The training API (Trainer and its option / event types): one list, in src/trainer/index.ts.
export * from './trainer/index';
// The dataset readers behind `segloss train --dataset`: one list, in src/datasets/index.ts.
export * from './datasets/index';
