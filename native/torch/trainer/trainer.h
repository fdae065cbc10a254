// The native training loop: a model, an objective (objective.h: any compound of the engine's
// losses through the fused autograd op, torch_ops::loss, and at most one standalone loss on the
// model's features, head or extra output channels), an optimizer with its schedule, and the
// state that a checkpoint captures. Everything here runs on the trainer's own thread (native/addon/
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
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/core/ivalue.h>

#include "../fused_loss.h"
#include "../models/model.h"
#include "augment.h"
#include "metrics.h"
#include "objective.h"
#include "optimizer.h"
#include "precision.h"

namespace segloss::trainer {

/// Everything a trainer is built from.
struct TrainerConfig {
  models::ModelOptions model;
  TrainerObjective objective;  // value = Σ weight · loss; it sets the model's output channels
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

/// What fit does when a step's logits, loss or gradient are not finite: `Stop` throws a
/// TrainingFault (code SEGLOSS_NON_FINITE) before the update, `Skip` drops the update and goes on.
/// The weights never take a non-finite update.
enum class NonFinitePolicy { Stop, Skip };

/// A training failure the caller can act on; `code` becomes the JavaScript error's code.
class TrainingFault : public std::runtime_error {
 public:
  TrainingFault(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

inline constexpr const char* kNonFiniteCode = "SEGLOSS_NON_FINITE";
inline constexpr const char* kOutOfMemoryCode = "SEGLOSS_OUT_OF_MEMORY";

/// Whether a libtorch error is an allocation failure: c10::OutOfMemoryError (CUDA), or the CPU
/// allocator's enforce failure ("DefaultCPUAllocator: can't allocate memory" / "not enough memory").
bool isOutOfMemory(const c10::Error& error);

struct FitOptions {
  int64_t epochs = 1;         // train until this many epochs are complete
  int64_t batchSize = 8;      // the last batch of an epoch may be smaller
  int64_t evalBatchSize = 8;  // for the validation set
  bool evalHd95 = false;      // validation metrics include HD95
  Augmentation augment = Augmentation::None;
  CheckpointPolicy checkpoint;
  NonFinitePolicy nonFinite = NonFinitePolicy::Stop;
};

/// After each step. epoch: index of the epoch (0-based); step: global index of the step (0-based).
struct StepEvent {
  int64_t epoch = 0;
  int64_t step = 0;
  double loss = 0.0;          // the objective Σ weight · term
  std::vector<double> terms;  // each term's own (unweighted) value, in objective order
  double lr = 0.0;            // the learning rate of this step
  double imagesPerSecond = 0.0;
  bool skipped = false;       // NonFinitePolicy::Skip dropped this step's update
  std::optional<double> nuParameter;  // robust-t's learned θ after this step (objectives with robust-t)
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
  /// For images [N, Cin, H, W]: the predicted classes [N, H, W] (int64, CPU; objective.h
  /// predictedClasses), or with `logits` the model's output [N, outputChannels, H, W] (float32,
  /// CPU); resized as in evaluate.
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
    std::string nonFinite;  // what was not finite ("the logits", a term, "the gradient"); empty: the update ran
  };
  bool gradientsFinite() const;
  StepResult trainStep(const at::Tensor& images, const at::Tensor& masks, double lr);
  struct Inference {
    ObjectiveInput input;  // the output [B, outputChannels, H, W] (and features, head) at the images' size
    at::Tensor classes;    // [B, H, W] int64
  };
  // Eval-mode forward at the model's size, output and classes back at the images' size.
  Inference infer(const at::Tensor& images /* [B, Cin, H, W] */);
  // The model's output [B, outputChannels, H, W] and features in float32, with its head (for
  // the objective): channels-last input and autocast as configured.
  ObjectiveInput forward(const at::Tensor& images /* [B, Cin, H, W] */);
  int64_t scheduleHorizon(const FitOptions& options, int64_t stepsPerEpoch) const;
  void writeCheckpoint(const std::string& path, const EventSink& sink) const;
  void initLossState();
  std::optional<double> nuParameterValue() const;
  c10::IValue checkpointValue() const;

  TrainerConfig config_;
  at::Device device_;
  at::Generator generator_;  // CPU generator: initialisation and any later randomness
  models::SegmentationModel model_;  // outputs outputChannels(objective, classes_) channels
  int64_t classes_ = 0;              // C, the label classes (the model options' numClasses)
  std::vector<torch_ops::Objective> unitTerms_;  // each engine term alone with weight 1
  std::unique_ptr<Optimizer> optimizer_;
  // Learned loss state: robust-t's θ ([] float64, CPU, requires grad; undefined without a robust-t
  // term), shared by the objective's robust-t terms and optimised in its own parameter group: the
  // model's optimizer and schedule, weight decay 0. Checkpointed as 'loss_state'.
  at::Tensor nuParameter_;
  std::unique_ptr<Optimizer> stateOptimizer_;
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
