// The Dice + CE benchmark (loss_bench.h).
#include "loss_bench.h"

#include <algorithm>
#include <chrono>
#include <functional>

#include <ATen/Parallel.h>
#include <ATen/core/Reduction.h>

#include "fused_loss.h"

#ifdef SEGLOSS_WITH_CUDA
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace segloss::torch_ops {
namespace {

constexpr double kSmooth = 1e-5;

// The baseline: 0.5·(1 − mean_c (2 I_c + s)/(P_c + G_c + s)) + 0.5·CE, sums over batch and pixels.
at::Tensor atenDiceCe(const at::Tensor& logits /* [B, C, ...] */, const at::Tensor& target /* [B, ...] int64 */) {
  const at::Tensor probs = at::softmax(logits, 1);
  const at::Tensor onehot = at::one_hot(target, logits.size(1)).movedim(-1, 1).to(logits.scalar_type());
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < logits.dim(); ++d) dims.push_back(d);
  const at::Tensor intersection = (probs * onehot).sum(dims);
  const at::Tensor predicted = probs.sum(dims);
  const at::Tensor truth = onehot.sum(dims);
  const at::Tensor dice = 1.0 - ((2.0 * intersection + kSmooth) / (predicted + truth + kSmooth)).mean();
  const at::Tensor ce = at::cross_entropy_loss(logits, target);
  return 0.5 * dice + 0.5 * ce;
}

Objective fusedDiceCe() {
  Objective objective;
  objective.terms.push_back(weightedTerm(DiceOptions{}, 0.5));
  objective.terms.push_back(weightedTerm(CrossEntropyOptions{}, 0.5));
  return objective;
}

void synchronize(const at::Device& device) {
#ifdef SEGLOSS_WITH_CUDA
  if (device.is_cuda()) c10::cuda::device_synchronize();
#else
  (void)device;
#endif
}

// One forward + backward from a fresh leaf; returns {value, grad}.
std::pair<at::Tensor, at::Tensor> runOnce(const std::function<at::Tensor(const at::Tensor&)>& objective,
                                          const at::Tensor& logits) {
  at::Tensor leaf = logits.detach().requires_grad_(true);
  at::Tensor value = objective(leaf);
  value.backward();
  return {value.detach(), leaf.grad()};
}

double timeOnceMs(const std::function<at::Tensor(const at::Tensor&)>& objective, const at::Tensor& logits) {
  synchronize(logits.device());
  const auto start = std::chrono::steady_clock::now();
  runOnce(objective, logits);
  synchronize(logits.device());
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// Restores the ATen thread count on scope exit.
class ThreadScope {
 public:
  explicit ThreadScope(int threads) : previous_(at::get_num_threads()) {
    if (threads > 0) at::set_num_threads(threads);
  }
  ~ThreadScope() { at::set_num_threads(previous_); }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int previous_;
};

// Random logits (normal) and uniform labels (int64, [0, C)) of the bench shape.
std::pair<at::Tensor, at::Tensor> benchInputs(const DiceCeBenchOptions& options) {
  if (options.shape.size() < 3) throw LossArgumentError("bench shape must be [B, C, H, W]");
  if (options.iterations < 1 || options.warmup < 0) throw LossArgumentError("bench iterations must be positive");
  const at::Device device(options.device);
  at::manual_seed(options.seed);
  const auto floatOptions = at::TensorOptions().dtype(options.dtype).device(device);
  at::Tensor logits = at::randn(options.shape, floatOptions);
  std::vector<int64_t> labelShape{options.shape[0]};
  labelShape.insert(labelShape.end(), options.shape.begin() + 2, options.shape.end());
  at::Tensor target = at::randint(options.shape[1], labelShape, at::TensorOptions().dtype(at::kLong).device(device));
  return {logits, target};
}

}  // namespace

std::vector<double> benchObjective(const DiceCeBenchOptions& options, const Objective& objective) {
  const ThreadScope threads(options.threads);
  const auto [logits, target] = benchInputs(options);
  const auto fused = [&](const at::Tensor& z) { return loss(z, target, objective); };
  for (int i = 0; i < options.warmup; ++i) runOnce(fused, logits);
  std::vector<double> times;
  for (int i = 0; i < options.iterations; ++i) times.push_back(timeOnceMs(fused, logits));
  return times;
}

DiceCeBenchResult benchDiceCe(const DiceCeBenchOptions& options) {
  const ThreadScope threads(options.threads);
  const auto [logits, target] = benchInputs(options);

  const Objective objective = fusedDiceCe();
  const auto fused = [&](const at::Tensor& z) { return loss(z, target, objective); };
  const auto aten = [&](const at::Tensor& z) { return atenDiceCe(z, target); };

  for (int i = 0; i < options.warmup; ++i) {
    runOnce(fused, logits);
    runOnce(aten, logits);
  }
  DiceCeBenchResult result;
  for (int i = 0; i < options.iterations; ++i) {
    result.fusedMs.push_back(timeOnceMs(fused, logits));
    result.atenMs.push_back(timeOnceMs(aten, logits));
  }
  const auto [fusedValue, fusedGrad] = runOnce(fused, logits);
  const auto [atenValue, atenGrad] = runOnce(aten, logits);
  result.fusedValue = fusedValue.item<double>();
  result.atenValue = atenValue.item<double>();
  result.maxGradDiff = (fusedGrad - atenGrad).abs().max().item<double>();
  result.threads = at::get_num_threads();
  return result;
}

}  // namespace segloss::torch_ops
