/**
 * The training API: `Trainer` (UNet on libtorch, scripted from TypeScript). Needs the torch addon;
 * without it `Trainer.create` / `Trainer.load` reject with code `SEGLOSS_NO_LIBTORCH`.
 */
export { Trainer, TRAINER_BUSY, TRAINER_DISPOSED, TRAINER_NON_FINITE, TRAINER_OUT_OF_MEMORY } from './trainer';
export { CONFIG_FORMAT } from './config';
export type { ResolvedTrainerOptions } from './config';
export type {
  AdamWOptions,
  Augmentation,
  CheckpointEvent,
  CheckpointOptions,
  EpochEvent,
  EvaluateOptions,
  Evaluation,
  FitOptions,
  FitResult,
  LrSchedule,
  ModelOptions,
  NonFinitePolicy,
  OptimizerOptions,
  Precision,
  ProgressEvent,
  ScheduleOptions,
  SgdOptions,
  StepEvent,
  TrainerOptions,
  TrainingData,
  TransUNetModelOptions,
  UNetModelOptions,
  VitPreset,
} from './types';
