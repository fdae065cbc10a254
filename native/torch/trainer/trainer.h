// The native training loop: a model, an objective (any compound of the library's losses through
// the fused autograd op, torch_ops::loss), an optimizer with its schedule, and the state that a
// checkpoint captures. Everything here runs on the trainer's own thread (native/addon/
// trainer_addon.cpp); nothing touches Node-API. One step = forward, objective, backward, update.
//
// Determinism: the weights are initialised from a generator seeded with `seed`, the epoch order is
// a Fisher–Yates shuffle driven by splitmix64(seed, epoch), so on the CPU the same seed gives
// bit-identical weights, and a run resumed from a checkpoint continues bit-identically.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/core/ivalue.h>

#include "../fused_loss.h"
#include "../models/model.h"
#include "augment.h"
#include "metrics.h"
#include "optimizer.h"
#include "precision.h"

namespace segloss::trainer {

/// Everything a trainer is built from.
struct TrainerConfig {
  models::ModelOptions model;
  torch_ops::Objective objective;  // value = Σ weight · loss
  OptimizerOptions optimizer = SgdOptions{};
  ScheduleOptions schedule;
  std::string device = "cpu";  // 'cpu', 'cuda', 'cuda:<i>'
  uint64_t seed = 0;
  Precision precision = Precision::Float32;  // BFloat16: autocast of the forward pass; losses in float32
  bool channelsLast = false;                 // NHWC parameters and inputs
  c10::IValue record;          // stored verbatim as the checkpoint's 'config' (the resolved TS config)
};

/// A data set held natively (CPU tensors; moved to the device when a job starts).
struct Dataset {
  at::Tensor images;           // [N, Cin, H, W] float32
  at::Tensor masks;            // [N, H, W] int32 labels (undefined for predict)
  std::vector<int64_t> cases;  // [N] case (volume) id of each image, or empty: each image a case
};

/// When a fit writes checkpoints (none when path is empty); also on abort, when path is set.
struct CheckpointPolicy {
  std::string path;
  int64_t everySteps = 0;   // 0: never by steps
  int64_t everyEpochs = 0;  // 0: never by epochs
};

struct FitOptions {
  int64_t epochs = 1;         // train until this many epochs are complete
  int64_t batchSize = 8;      // the last batch of an epoch may be smaller
  int64_t evalBatchSize = 8;  // for the validation set
  bool evalHd95 = false;      // validation metrics include HD95
  Augmentation augment = Augmentation::None;
  CheckpointPolicy checkpoint;
};

/// After each step. epoch: index of the epoch (0-based); step: global index of the step (0-based).
struct StepEvent {
  int64_t epoch = 0;
  int64_t step = 0;
  double loss = 0.0;          // the objective Σ weight · term
  std::vector<double> terms;  // each term's own (unweighted) value, in objective order
  double lr = 0.0;            // the learning rate of this step
  double imagesPerSecond = 0.0;
};

/// After each epoch: the mean step loss over its images, and the validation metrics if any.
struct EpochEvent {
  int64_t epoch = 0;  // index of the finished epoch (0-based)
  double loss = 0.0;
  std::optional<Evaluation> metrics;
};

/// After a checkpoint file is written (renamed into place).
struct CheckpointEvent {
  std::string path;
};

using TrainerEvent = std::variant<StepEvent, EpochEvent, CheckpointEvent>;
using EventSink = std::function<void(TrainerEvent)>;

struct FitSummary {
  int64_t epoch = 0;     // epochs completed
  int64_t step = 0;      // steps completed
  double loss = 0.0;     // the last step's loss (NaN when no step ran)
  bool aborted = false;  // stopped by the cancel flag
};

class Trainer {
 public:
  explicit Trainer(TrainerConfig config);

  int64_t parameterCount() const { return parameterCount_; }
  int64_t epoch() const { return epoch_; }
  int64_t step() const { return step_; }
  const TrainerConfig& config() const { return config_; }

  /// Trains on `train` until `options.epochs` epochs are complete (continuing a resumed epoch
  /// where it stopped), reporting through `sink`; checks `cancel` before each step.
  FitSummary fit(const Dataset& train, const Dataset* validation, const FitOptions& options, const EventSink& sink,
                 const std::atomic<bool>& cancel);
  /// The metrics (per case: data.cases) and the objective's value on `data` (eval mode, no grad).
  /// A model with a fixed input size S (TransUNet) sees each slice resized to S × S (bicubic,
  /// corners aligned), as TransUNet's test: its classes come back with nearest-neighbour resizing,
  /// its logits (for the objective) bilinearly.
  /// With `hd95`, also HD95 per case and class (metrics.h).
  Evaluation evaluate(const Dataset& data, int64_t batchSize, bool hd95 = false);
  /// For images [N, Cin, H, W]: the argmax classes [N, H, W] (int64, CPU), or with `logits` the
  /// logits [N, K, H, W] (float32, CPU); resized as in evaluate.
  at::Tensor predict(const at::Tensor& images, int64_t batchSize, bool logits = false);
  /// Writes a checkpoint (checkpoint.h): model, optimizer, scheduler, RNG, epoch/step, config.
  void save(const std::string& path) const;
  /// Restores the state of a checkpoint written by save().
  void restore(const c10::IValue& checkpoint);
  /// Loads model weights: a dict {name: tensor} (Python's `dict(model.state_dict())`), or a dict
  /// with a 'model' entry (a checkpoint). Throws std::invalid_argument on missing / extra / mis-shaped keys.
  void loadWeights(const c10::IValue& value);
  /// Loads the published R50+ViT-B_16.npz layout into a TransUNet's encoder (models::loadViTWeights).
  /// Throws std::invalid_argument for another model.
  void loadViTWeights(const std::string& npzPath);

 private:
  struct StepResult {
    double loss = 0.0;
    std::vector<double> terms;
  };
  StepResult trainStep(const at::Tensor& images, const at::Tensor& masks, double lr);
  struct Inference {
    at::Tensor logits;   // [B, K, H, W] float
    at::Tensor classes;  // [B, H, W] int64
  };
  // Eval-mode forward at the model's size, logits and classes back at the images' size.
  Inference infer(const at::Tensor& images /* [B, Cin, H, W] */);
  // The model's logits [B, K, H, W] in float32: channels-last input and autocast as configured.
  at::Tensor forwardLogits(const at::Tensor& images /* [B, Cin, H, W] */);
  int64_t scheduleHorizon(const FitOptions& options, int64_t stepsPerEpoch) const;
  void writeCheckpoint(const std::string& path, const EventSink& sink) const;
  c10::IValue checkpointValue() const;

  TrainerConfig config_;
  at::Device device_;
  at::Generator generator_;  // CPU generator: initialisation and any later randomness
  models::SegmentationModel model_;
  std::vector<torch_ops::Objective> unitTerms_;  // each term alone with weight 1
  std::unique_ptr<Optimizer> optimizer_;
  int64_t parameterCount_ = 0;
  int64_t epoch_ = 0;        // epochs completed
  int64_t step_ = 0;         // steps completed
  int64_t stepInEpoch_ = 0;  // steps completed in the current epoch
  double epochLossSum_ = 0.0;  // Σ loss · batch over the current epoch
  int64_t epochImages_ = 0;
  int64_t lastHorizon_ = 0;    // the schedule's T of the last fit
  double lastLr_ = 0.0;
};

/// The order of the N items in `epoch`: a Fisher–Yates shuffle driven by splitmix64(seed, epoch).
std::vector<int64_t> epochOrder(uint64_t seed, int64_t epoch, int64_t n);

}  // namespace segloss::trainer
