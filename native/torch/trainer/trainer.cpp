// The training loop, evaluation, prediction and checkpoints (trainer.h).
#include "trainer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <tuple>
#include <utility>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/core/Dict.h>
#include <ATen/core/grad_mode.h>

#include "../../core/vector_kernels.h"
#include "checkpoint.h"
#include "cpu_block_cache.h"

namespace segloss::trainer {

/// The `format` entry of every checkpoint this version writes.
constexpr const char* kCheckpointFormat = "segloss-trainer-checkpoint/1";

namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The model's optimizer options with weight decay 0 (the learned loss state's parameter group).
OptimizerOptions withoutWeightDecay(OptimizerOptions options) {
  std::visit([](auto& o) { o.weightDecay = 0.0; }, options);
  return options;
}

// The model options with `channels` output channels; `classes` receives the options' numClasses.
models::ModelOptions withOutputChannels(models::ModelOptions options, const TrainerObjective& objective, int64_t& classes) {
  std::visit(
      [&](auto& o) {
        classes = o.numClasses();
        o.numClasses(outputChannels(objective, classes));
      },
      options);
  return options;
}

// Rows [first, last) of the epoch order, as an index tensor on `device`.
at::Tensor batchIndices(const std::vector<int64_t>& order, int64_t first, int64_t last, const at::Device& device) {
  return at::tensor(std::vector<int64_t>(order.begin() + first, order.begin() + last), at::kLong).to(device);
}

c10::IValue entry(const c10::impl::GenericDict& dict, const char* key) {
  const auto it = dict.find(std::string(key));
  if (it == dict.end()) throw std::invalid_argument(std::string("the checkpoint lacks '") + key + "'");
  return it->value();
}

c10::impl::GenericDict stringDict() { return c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get()); }

// Whether every element of a float32 CPU tensor is finite: the engine's vectorised check
// (hasNonFiniteCpu, on the instruction set chosen at load) over pieces split across ATen's threads,
// stopping at the first non-finite piece. at::_foreach_norm's ∞-norm did the same check as a
// scalar reduction: 8% of the samples of a TransUNet b16 step.
bool allFiniteCpuFloat(const at::Tensor& tensor) {
  constexpr int64_t kPiece = int64_t(1) << 20;  // elements per call (an int count; early exit)
  const at::Tensor t = tensor.contiguous();
  const float* x = t.data_ptr<float>();
  std::atomic<bool> finite{true};
  at::parallel_for(0, t.numel(), int64_t(1) << 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end && finite.load(std::memory_order_relaxed); i += kPiece) {
      if (hasNonFiniteCpu(x + i, static_cast<int>(std::min(end - i, kPiece)))) finite.store(false, std::memory_order_relaxed);
    }
  });
  return finite.load();
}

}  // namespace

std::vector<int64_t> epochOrder(uint64_t seed, int64_t epoch, int64_t n) {
  uint64_t state = seed ^ (0xd1b54a32d192ed03ULL * static_cast<uint64_t>(epoch + 1));
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  for (int64_t i = n - 1; i > 0; --i) {
    const int64_t j = static_cast<int64_t>(splitmix64(state) % static_cast<uint64_t>(i + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

Trainer::Trainer(TrainerConfig config)
    : config_(std::move(config)),
      device_(config_.device),
      generator_(at::make_generator<at::CPUGeneratorImpl>(config_.seed)) {
  config_.objective.check();
  model_ = models::makeModel(withOutputChannels(config_.model, config_.objective, classes_), generator_);
  if (config_.objective.standalone && std::holds_alternative<ConditionalBoundaryOptions>(config_.objective.standalone->options) &&
      !model_.classifier) {
    throw std::invalid_argument("conditional-boundary needs a model whose head is a 1×1 convolution of its features (unet); " +
                                model_.name + "'s is not");
  }
  model_.module->to(device_);
  if (config_.channelsLast) toChannelsLast(*model_.module);
  if (config_.precision != Precision::Float32 && !autocastSupported()) {
    throw std::invalid_argument("bfloat16 precision needs libtorch ≥ 2.4");
  }
  parameterCount_ = models::parameterCount(*model_.module);
  unitTerms_ = unitObjectives(config_.objective.engine);
  optimizer_ = std::make_unique<Optimizer>(config_.optimizer, model_.module->parameters());
  lastLr_ = optimizer_->baseLr();
  initLossState();
}

void Trainer::initLossState() {
  std::optional<double> theta;
  for (const LossTerm& term : config_.objective.engine.terms) {
    const auto* robust = std::get_if<RobustTOptions>(&term.options);
    if (!robust) continue;
    if (theta && *theta != robust->nuParameter) {
      throw std::invalid_argument("the robust-t terms of an objective share one learned nuParameter (θ); they differ");
    }
    theta = robust->nuParameter;
  }
  if (!theta) return;
  nuParameter_ = at::scalar_tensor(*theta, at::kDouble).requires_grad_(true);
  config_.objective.engine.nuParameter = nuParameter_;
  for (torch_ops::Objective& unit : unitTerms_) {
    if (std::holds_alternative<RobustTOptions>(unit.terms.front().options)) unit.nuParameter = nuParameter_;
  }
  stateOptimizer_ = std::make_unique<Optimizer>(withoutWeightDecay(config_.optimizer), std::vector<at::Tensor>{nuParameter_});
}

std::optional<double> Trainer::nuParameterValue() const {
  if (!nuParameter_.defined()) return std::nullopt;
  return nuParameter_.item<double>();
}

bool Trainer::gradientsFinite() const {
  std::vector<at::Tensor> grads;
  for (const at::Tensor& p : model_.module->parameters()) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  if (nuParameter_.defined() && nuParameter_.grad().defined() && !nuParameter_.grad().isfinite().all().item<bool>()) return false;
  if (grads.empty()) return true;
  const bool cpuFloat = std::all_of(grads.begin(), grads.end(), [](const at::Tensor& g) {
    return g.device().is_cpu() && g.scalar_type() == at::kFloat && g.layout() == at::kStrided;
  });
  if (cpuFloat) return std::all_of(grads.begin(), grads.end(), allFiniteCpuFloat);
  // Elsewhere (CUDA): the largest magnitude of each gradient (NaN propagates; no overflow, unlike a 2-norm).
  return at::stack(at::_foreach_norm(grads, std::numeric_limits<double>::infinity())).isfinite().all().item<bool>();
}

Trainer::StepResult Trainer::trainStep(const at::Tensor& images /* [B, Cin, H, W] */,
                                       const at::Tensor& masks /* [B, H, W] */, double lr) {
  optimizer_->zeroGrad();
  if (stateOptimizer_) stateOptimizer_->zeroGrad();
  const ObjectiveInput input = forward(images);  // [B, outputChannels, H, W] float32
  StepResult result;
  result.loss = std::numeric_limits<double>::quiet_NaN();
  if (!input.output.isfinite().all().item<bool>() || (input.features.defined() && !input.features.isfinite().all().item<bool>())) {
    result.nonFinite = "the logits";
    return result;
  }
  const std::vector<at::Tensor> values = termValues(config_.objective, unitTerms_, input, masks, classes_);
  at::Tensor total;
  for (size_t t = 0; t < values.size(); ++t) {
    result.terms.push_back(values[t].item<double>());
    if (!std::isfinite(result.terms.back()) && result.nonFinite.empty()) {
      result.nonFinite = "term " + std::to_string(t) + " ('" + config_.objective.termId(t) + "')";
    }
    const at::Tensor weighted = values[t] * config_.objective.termWeight(t);
    total = total.defined() ? total + weighted : weighted;
  }
  if (!result.nonFinite.empty()) return result;
  total.backward();
  if (!gradientsFinite()) {
    optimizer_->zeroGrad();
    if (stateOptimizer_) stateOptimizer_->zeroGrad();
    result.nonFinite = "the gradient";
    return result;
  }
  optimizer_->step(lr);
  if (stateOptimizer_) stateOptimizer_->step(lr);
  result.loss = total.item<double>();
  return result;
}

bool isOutOfMemory(const c10::Error& error) {
  if (dynamic_cast<const c10::OutOfMemoryError*>(&error)) return true;
  const std::string message = error.what_without_backtrace();
  return message.find("DefaultCPUAllocator: can't allocate memory") != std::string::npos ||
         message.find("DefaultCPUAllocator: not enough memory") != std::string::npos;
}

namespace {

// Runs f(); libtorch's and the C++ runtime's out-of-memory errors become a TrainingFault that
// says what ran out and suggests a smaller batch.
template <class F>
auto withMemoryAdvice(const char* what, int64_t batch, F&& f) -> decltype(f()) {
  const auto advice = [&](const std::string& detail) {
    return TrainingFault(kOutOfMemoryCode, std::string("segloss: out of memory during ") + what + " with a batch of " +
                                               std::to_string(batch) + " (" + detail +
                                               "); try a smaller batchSize or image size. The trainer is still usable.");
  };
  try {
    return f();
  } catch (const c10::Error& e) {
    if (!isOutOfMemory(e)) throw;
    throw advice(e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    throw advice("an allocation failed");
  }
}

}  // namespace

int64_t Trainer::scheduleHorizon(const FitOptions& options, int64_t stepsPerEpoch) const {
  return config_.schedule.totalSteps > 0 ? config_.schedule.totalSteps : options.epochs * stepsPerEpoch;
}

void Trainer::writeCheckpoint(const std::string& path, const EventSink& sink) const {
  save(path);
  sink(CheckpointEvent{path});
}

FitSummary Trainer::fit(const Dataset& train, const Dataset* validation, const FitOptions& options,
                        const EventSink& sink, const std::atomic<bool>& cancel) {
  const CpuBlockCaching caching;  // the steps' CPU blocks reused, not faulted in again each step
  const int64_t n = train.images.size(0);
  const int64_t batchSize = options.batchSize;
  const int64_t stepsPerEpoch = (n + batchSize - 1) / batchSize;
  const at::Tensor images = train.images.to(device_);
  const at::Tensor masks = train.masks.to(device_);
  lastHorizon_ = scheduleHorizon(options, stepsPerEpoch);
  const CheckpointPolicy& policy = options.checkpoint;
  FitSummary summary;
  summary.loss = std::numeric_limits<double>::quiet_NaN();

  while (epoch_ < options.epochs) {
    const std::vector<int64_t> order = epochOrder(config_.seed, epoch_, n);
    model_.module->train(true);
    for (int64_t s = stepInEpoch_; s < stepsPerEpoch; ++s) {
      if (cancel.load()) {
        if (!policy.path.empty()) writeCheckpoint(policy.path, sink);
        summary.aborted = true;
        summary.epoch = epoch_;
        summary.step = step_;
        return summary;
      }
      const auto started = std::chrono::steady_clock::now();
      const int64_t first = s * batchSize;
      const int64_t last = std::min(n, first + batchSize);
      const at::Tensor rows = batchIndices(order, first, last, device_);
      const double lr = scheduledLr(optimizer_->baseLr(), config_.schedule, step_, lastHorizon_);
      at::Tensor batchImages = images.index_select(0, rows);
      at::Tensor batchMasks = masks.index_select(0, rows);
      augmentBatch(options.augment, batchImages, batchMasks, config_.seed, epoch_, first,
                   config_.objective.ignoreIndex().value_or(0));
      const StepResult result =
          withMemoryAdvice("a training step", last - first, [&] { return trainStep(batchImages, batchMasks, lr); });
      const bool skipped = !result.nonFinite.empty();
      if (skipped && options.nonFinite == NonFinitePolicy::Stop) {
        throw TrainingFault(kNonFiniteCode, "segloss: " + result.nonFinite + " of step " + std::to_string(step_) + " (epoch " +
                                                std::to_string(epoch_) + ") are not finite; the step was not applied, the "
                                                "weights are those before it. Lower the learning rate, or fit with "
                                                "nonFinite: 'skip' to drop such steps.");
      }
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      lastLr_ = lr;
      if (!skipped) {
        epochLossSum_ += result.loss * static_cast<double>(last - first);
        epochImages_ += last - first;
      }
      ++stepInEpoch_;
      ++step_;
      summary.loss = result.loss;
      sink(StepEvent{epoch_, step_ - 1, result.loss, result.terms, lr,
                     seconds > 0 ? static_cast<double>(last - first) / seconds : 0.0, skipped, nuParameterValue()});
      if (policy.everySteps > 0 && step_ % policy.everySteps == 0 && !policy.path.empty()) {
        writeCheckpoint(policy.path, sink);
      }
    }
    EpochEvent done{epoch_, epochImages_ ? epochLossSum_ / static_cast<double>(epochImages_) : 0.0, std::nullopt};
    ++epoch_;
    stepInEpoch_ = 0;
    epochLossSum_ = 0.0;
    epochImages_ = 0;
    if (validation) {
      done.metrics = withMemoryAdvice("validation", options.evalBatchSize,
                                      [&] { return evaluate(*validation, options.evalBatchSize, options.evalHd95); });
    }
    sink(std::move(done));
    if (policy.everyEpochs > 0 && epoch_ % policy.everyEpochs == 0 && !policy.path.empty()) {
      writeCheckpoint(policy.path, sink);
    }
  }
  summary.epoch = epoch_;
  summary.step = step_;
  return summary;
}

ObjectiveInput Trainer::forward(const at::Tensor& images) {
  const at::Tensor input = config_.channelsLast ? images.contiguous(at::MemoryFormat::ChannelsLast) : images;
  models::SegmentationOutput out;
  {
    const AutocastScope autocast(config_.precision, device_.type());
    out = model_.forward(input);
  }
  const auto float32 = [](const at::Tensor& t) { return t.scalar_type() == at::kFloat ? t : t.to(at::kFloat); };
  ObjectiveInput result;
  result.output = float32(out.logits);
  const bool needsFeatures =
      config_.objective.standalone && std::holds_alternative<ConditionalBoundaryOptions>(config_.objective.standalone->options);
  if (needsFeatures) {
    result.features = float32(out.features);
    std::tie(result.classifierWeight, result.classifierBias) = model_.classifier();
  }
  return result;
}

Trainer::Inference Trainer::infer(const at::Tensor& images) {
  const int64_t h = images.size(2), w = images.size(3), size = model_.fixedSize;
  if (size == 0 || (h == size && w == size)) {
    ObjectiveInput input = forward(images);
    const at::Tensor classes = predictedClasses(config_.objective, input.output, classes_);
    return {std::move(input), classes};
  }
  // a fixed-size model: conditional-boundary (which needs the features at the images' size) is
  // refused for it at construction
  const at::Tensor resized = at::upsample_bicubic2d(images, {size, size}, /*align_corners=*/true);
  ObjectiveInput input = forward(resized);  // [B, outputChannels, S, S]
  const at::Tensor atSize = predictedClasses(config_.objective, input.output, classes_).unsqueeze(1).to(at::kFloat);
  const at::Tensor classes = at::upsample_nearest2d(atSize, {h, w}).squeeze(1).to(at::kLong);
  input.output = at::upsample_bilinear2d(input.output, {h, w}, /*align_corners=*/true);
  return {std::move(input), classes};
}

Evaluation Trainer::evaluate(const Dataset& data, int64_t batchSize, bool hd95) {
  const at::NoGradGuard noGrad;
  model_.module->train(false);
  const at::Tensor images = data.images.to(device_);
  const at::Tensor masks = data.masks.to(device_);
  const int64_t n = images.size(0);
  MetricAccumulator metrics(classes_, config_.objective.ignoreIndex(), hd95);
  double lossSum = 0.0;
  for (int64_t first = 0; first < n; first += batchSize) {
    const int64_t count = std::min(batchSize, n - first);
    const at::Tensor batchMasks = masks.narrow(0, first, count);
    const Inference out = infer(images.narrow(0, first, count));
    lossSum += objectiveValue(config_.objective, out.input, batchMasks, classes_).item<double>() * static_cast<double>(count);
    const std::vector<int64_t> cases =
        data.cases.empty() ? std::vector<int64_t>{} : std::vector<int64_t>(data.cases.begin() + first, data.cases.begin() + first + count);
    metrics.add(out.classes, batchMasks, cases);
  }
  return metrics.finish(n ? lossSum / static_cast<double>(n) : 0.0);
}

at::Tensor Trainer::predict(const at::Tensor& imagesIn, int64_t batchSize, bool logits) {
  const at::NoGradGuard noGrad;
  model_.module->train(false);
  const at::Tensor images = imagesIn.to(device_);
  std::vector<at::Tensor> parts;
  for (int64_t first = 0; first < images.size(0); first += batchSize) {
    const int64_t count = std::min(batchSize, images.size(0) - first);
    const Inference out = infer(images.narrow(0, first, count));
    parts.push_back((logits ? out.input.output : out.classes).to(at::kCPU));
  }
  return at::cat(parts, 0);
}

c10::IValue Trainer::checkpointValue() const {
  c10::impl::GenericDict scheduler = stringDict();
  const bool poly = config_.schedule.kind == ScheduleOptions::Kind::Poly;
  scheduler.insert("name", std::string(poly ? "poly" : "constant"));
  scheduler.insert("power", config_.schedule.power);
  scheduler.insert("base_lr", optimizer_->baseLr());
  scheduler.insert("total_steps", lastHorizon_);
  scheduler.insert("last_step", step_);
  scheduler.insert("last_lr", lastLr_);
  c10::impl::GenericDict rng = stringDict();
  rng.insert("seed", static_cast<int64_t>(config_.seed));
  rng.insert("generator", generator_.get_state());
  c10::impl::GenericDict checkpoint = stringDict();
  checkpoint.insert("format", std::string(kCheckpointFormat));
  checkpoint.insert("model", tensorDict(models::stateDict(*model_.module)));
  checkpoint.insert("optimizer", optimizer_->stateDict(lastLr_));
  checkpoint.insert("scheduler", scheduler);
  checkpoint.insert("rng", rng);
  checkpoint.insert("epoch", epoch_);
  checkpoint.insert("step", step_);
  checkpoint.insert("step_in_epoch", stepInEpoch_);
  checkpoint.insert("epoch_loss_sum", epochLossSum_);
  checkpoint.insert("epoch_images", epochImages_);
  checkpoint.insert("config", config_.record.isNone() ? c10::IValue(stringDict()) : config_.record);
  if (nuParameter_.defined()) {
    c10::impl::GenericDict lossState = stringDict();
    lossState.insert("nu_parameter", nuParameter_.detach().clone());
    lossState.insert("optimizer", stateOptimizer_->stateDict(lastLr_));
    checkpoint.insert("loss_state", lossState);
  }
  return checkpoint;
}

void Trainer::save(const std::string& path) const { saveIValue(path, checkpointValue()); }

void Trainer::restore(const c10::IValue& value) {
  if (!value.isGenericDict()) throw std::invalid_argument("the checkpoint is not a dict");
  const c10::impl::GenericDict checkpoint = value.toGenericDict();
  const c10::IValue format = entry(checkpoint, "format");
  if (!format.isString() || format.toStringRef() != kCheckpointFormat) {
    throw std::invalid_argument(std::string("the checkpoint's format is not ") + kCheckpointFormat);
  }
  models::loadStateDict(*model_.module, tensorEntries(entry(checkpoint, "model")));
  optimizer_->loadStateDict(entry(checkpoint, "optimizer"));
  const c10::impl::GenericDict scheduler = entry(checkpoint, "scheduler").toGenericDict();
  lastHorizon_ = entry(scheduler, "total_steps").toInt();
  const c10::impl::GenericDict rng = entry(checkpoint, "rng").toGenericDict();
  generator_.set_state(entry(rng, "generator").toTensor());
  epoch_ = entry(checkpoint, "epoch").toInt();
  step_ = entry(checkpoint, "step").toInt();
  stepInEpoch_ = entry(checkpoint, "step_in_epoch").toInt();
  epochLossSum_ = entry(checkpoint, "epoch_loss_sum").toDouble();
  epochImages_ = entry(checkpoint, "epoch_images").toInt();
  lastLr_ = entry(scheduler, "last_lr").toDouble();
  if (nuParameter_.defined()) {
    const c10::impl::GenericDict lossState = entry(checkpoint, "loss_state").toGenericDict();
    const at::NoGradGuard noGrad;
    nuParameter_.copy_(entry(lossState, "nu_parameter").toTensor().to(at::kDouble).reshape({}));
    stateOptimizer_->loadStateDict(entry(lossState, "optimizer"));
  }
}

void Trainer::loadWeights(const c10::IValue& value) {
  if (value.isGenericDict()) {
    const c10::impl::GenericDict dict = value.toGenericDict();
    const auto it = dict.find(std::string("model"));
    if (it != dict.end() && it->value().isGenericDict()) {
      models::loadStateDict(*model_.module, tensorEntries(it->value()));
      return;
    }
  }
  models::loadStateDict(*model_.module, tensorEntries(value));
}

}  // namespace segloss::trainer

namespace segloss::trainer {

void Trainer::loadViTWeights(const std::string& npzPath) {
  if (!model_.loadViTWeights) throw std::invalid_argument("loadViTWeights needs a TransUNet, this model is " + model_.name);
  model_.loadViTWeights(npzPath);
  model_.module->to(device_);
}

}  // namespace segloss::trainer
