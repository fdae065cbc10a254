// Runs the CUDA engines (native/cuda/losses_cuda.cu, compiled as host C++ over the emulated
// runtime) against the CPU engines (native/core/losses.cpp) on a table of cases, and checks the
// value and every gradient element: float64 within 1e-10, float32 within 1e-5 (relative, with an
// absolute floor of the tolerance times the largest gradient magnitude).
// Built and run by scripts/compile-cuda.sh; prints one line per case and exits 1 on any mismatch.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "../../core/losses.h"
#include "../losses_cuda.h"
#include "emulated_runtime.h"

// The case table names only the fields that differ from Case's defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace {

using segloss::Activation;
using segloss::CrossEntropyOptions;
using segloss::DiceOptions;
using segloss::LabelType;
using segloss::LossOptions;
using segloss::ScalarType;

struct Case {
  std::string name;
  LossOptions options;
  int64_t batch = 2, channels = 4, pixels = 37;
  Activation activation = Activation::Softmax;
  ScalarType dtype = ScalarType::Float64;
  LabelType labelType = LabelType::Int32;
  bool ignore = false;        // ignore index set; about one pixel in five carries it
  bool allIgnored = false;    // every pixel carries it
  int labelClasses = 0;       // labels drawn from [0, labelClasses) (0: all K classes)
  bool withGrad = true;
  double scale = 1.0;
  bool accumulate = false;
  std::vector<double> classWeights;  // CE weights (K), empty for none
  int multiprocessors = 1;           // emulated SMs: sizes the grids
  size_t sharedBytes = 48 * 1024;    // emulated shared memory per block
};

DiceOptions monai() { DiceOptions o; o.perImage = true; o.smooth = 1e-5; return o; }
DiceOptions smp() {
  DiceOptions o;
  o.smooth = 0.0;
  o.denominatorClamp = 1e-7;
  o.zeroAbsentClasses = true;
  return o;
}
DiceOptions nnunet() {
  DiceOptions o;
  o.includeBackground = false;
  o.smooth = 1e-5;
  o.denominatorClamp = 1e-8;
  o.offset = 0.0;
  return o;
}
template <class F>
DiceOptions dice(F&& edit) { DiceOptions o; edit(o); return o; }

int64_t ignoreValue(LabelType type) { return type == LabelType::Int32 ? -100 : 255; }

template <typename L>
std::vector<L> makeLabels(const Case& c, std::mt19937& rng) {
  const int k = segloss::probabilityClasses(c.channels);
  const int drawn = c.labelClasses > 0 ? c.labelClasses : k;
  std::uniform_int_distribution<int> cls(0, drawn - 1), fifth(0, 4);
  std::vector<L> labels(static_cast<size_t>(c.batch * c.pixels));
  for (auto& l : labels) {
    const bool ignored = c.allIgnored || (c.ignore && fifth(rng) == 0);
    l = static_cast<L>(ignored ? ignoreValue(c.labelType) : cls(rng));
  }
  return labels;
}

template <typename T>
std::vector<T> makeInputs(const Case& c, std::mt19937& rng) {
  const size_t size = static_cast<size_t>(c.batch * c.channels * c.pixels);
  std::vector<T> z(size);
  if (c.activation != Activation::None) {
    std::normal_distribution<double> normal(0.0, 2.0);
    for (auto& v : z) v = static_cast<T>(normal(rng));
    return z;
  }
  // 'none': probabilities (a distribution over C channels; for C = 1 the foreground probability).
  std::uniform_real_distribution<double> uniform(0.02, 1.0);
  for (int64_t b = 0; b < c.batch; ++b) {
    for (int64_t i = 0; i < c.pixels; ++i) {
      std::vector<double> p(static_cast<size_t>(c.channels));
      double total = 0.0;
      for (auto& v : p) total += (v = uniform(rng));
      for (int64_t ch = 0; ch < c.channels; ++ch) {
        const double v = c.channels == 1 ? p[0] * 0.96 : p[ch] / total;
        z[static_cast<size_t>((b * c.channels + ch) * c.pixels + i)] = static_cast<T>(v);
      }
    }
  }
  return z;
}

bool close(double a, double b, double rtol, double floor) {
  if (!std::isfinite(a) || !std::isfinite(b)) return false;
  return std::fabs(a - b) <= rtol * std::max(std::fabs(b), floor);
}

template <typename T, typename L>
bool runCase(const Case& c) {
  std::mt19937 rng(1234);
  const std::vector<T> logits = makeInputs<T>(c, rng);
  const std::vector<L> labels = makeLabels<L>(c, rng);
  LossOptions options = c.options;
  if (auto* ce = std::get_if<CrossEntropyOptions>(&options)) ce->classWeights.values = c.classWeights;
  const segloss::LossFunctor functor =
      segloss::makeLossFunctor(options, segloss::hostContext(segloss::probabilityClasses(c.channels)));

  segloss::LossTensors t;
  t.logits = logits.data();
  t.dtype = c.dtype;
  t.target = labels.data();
  t.labelType = c.labelType;
  t.batch = c.batch;
  t.channels = c.channels;
  t.pixels = c.pixels;
  t.activation = c.activation;
  t.hasIgnore = c.ignore || c.allIgnored;
  t.ignoreIndex = ignoreValue(c.labelType);

  std::vector<T> start(logits.size());
  std::normal_distribution<double> normal(0.0, 1.0);
  for (auto& v : start) v = c.accumulate ? static_cast<T>(normal(rng)) : T(7);  // 7: must be overwritten
  std::vector<T> gradCpu = start, gradCuda = start;
  segloss::LossGradient gc{gradCpu.data(), c.scale, c.accumulate}, gg{gradCuda.data(), c.scale, c.accumulate};

  const double valueCpu = segloss::computeLossCpu(t, options, c.withGrad ? &gc : nullptr);
  std::vector<double> workspace(segloss::lossWorkspaceBytesCuda(t, functor) / sizeof(double) + 1, -1.0);
  double valueCuda = std::nan("");
  segloss::cuda::emulation::emulatedMultiprocessors = c.multiprocessors;
  segloss::cuda::emulation::emulatedSharedBytesPerBlock = c.sharedBytes;
  segloss::computeLossCuda(t, functor, c.withGrad ? &gg : nullptr, &valueCuda, workspace.data(), nullptr);

  const double rtol = std::is_same_v<T, double> ? 1e-10 : 1e-5;
  bool ok = close(valueCuda, valueCpu, rtol, 1e-3);
  if (c.allIgnored) ok = ok && valueCuda == 0.0;
  double maxGrad = 0.0;
  for (T v : gradCpu) maxGrad = std::max(maxGrad, std::fabs(static_cast<double>(v)));
  size_t bad = 0;
  double worst = 0.0;
  for (size_t j = 0; j < gradCpu.size(); ++j) {
    const double a = gradCuda[j], b = gradCpu[j];
    if (!close(a, b, rtol, std::max(maxGrad, 1e-30))) ++bad;
    worst = std::max(worst, std::fabs(a - b) / std::max({std::fabs(b), maxGrad, 1e-30}));
  }
  if (!c.withGrad) bad += gradCuda != start;  // value only: the buffer is untouched
  if (c.allIgnored && c.withGrad && !c.accumulate) bad += std::any_of(gradCuda.begin(), gradCuda.end(), [](T v) { return v != T(0); });
  ok = ok && bad == 0;
  std::printf("%s %-44s value cpu %.12g cuda %.12g  grad worst rel %.2e  bad %zu\n", ok ? "ok  " : "FAIL", c.name.c_str(),
              valueCpu, valueCuda, worst, bad);
  return ok;
}

bool runCaseTyped(const Case& c) {
  const auto byLabel = [&](auto scalar) {
    using T = decltype(scalar);
    switch (c.labelType) {
      case LabelType::UInt8: return runCase<T, uint8_t>(c);
      case LabelType::UInt16: return runCase<T, uint16_t>(c);
      default: return runCase<T, int32_t>(c);
    }
  };
  return c.dtype == ScalarType::Float64 ? byLabel(double{}) : byLabel(float{});
}

std::vector<Case> cases() {
  std::vector<Case> all;
  const auto add = [&](Case c) { all.push_back(std::move(c)); };
  const CrossEntropyOptions ce{};
  const CrossEntropyOptions smoothed{{}, 0.1};
  const std::vector<double> w4{0.5, 2.0, 1.0, 0.25};

  // Cross-entropy: every activation, weights, smoothing, ignore, dtypes, label types, modes.
  add({.name = "ce softmax f64", .options = ce});
  add({.name = "ce softmax f32 uint8 ignore", .options = ce, .dtype = ScalarType::Float32, .labelType = LabelType::UInt8, .ignore = true});
  add({.name = "ce weights+smoothing+ignore f64", .options = smoothed, .ignore = true, .classWeights = w4});
  add({.name = "ce weights+smoothing f32 uint16", .options = smoothed, .dtype = ScalarType::Float32, .labelType = LabelType::UInt16, .classWeights = w4});
  add({.name = "ce sigmoid f64", .options = smoothed, .activation = Activation::Sigmoid, .ignore = true});
  add({.name = "ce none f64", .options = ce, .activation = Activation::None, .ignore = true, .classWeights = w4});
  add({.name = "ce binary sigmoid C=1 f64", .options = smoothed, .channels = 1, .activation = Activation::Sigmoid, .ignore = true});
  add({.name = "ce binary none C=1 f32", .options = ce, .channels = 1, .activation = Activation::None, .dtype = ScalarType::Float32});
  add({.name = "ce accumulate scale 0.7", .options = smoothed, .ignore = true, .scale = 0.7, .accumulate = true, .classWeights = w4});
  add({.name = "ce value only", .options = smoothed, .ignore = true, .withGrad = false});
  add({.name = "ce all ignored", .options = ce, .allIgnored = true});
  add({.name = "ce all ignored accumulate", .options = ce, .allIgnored = true, .accumulate = true});
  add({.name = "ce occurring weights all zero (W = 0)", .options = ce, .labelClasses = 2, .classWeights = {0.0, 0.0, 1.0, 1.0}});
  add({.name = "ce 1x1 images", .options = smoothed, .batch = 3, .pixels = 1});
  add({.name = "ce multi-turn grid (3 SMs)", .options = smoothed, .batch = 3, .channels = 5, .pixels = 2900, .ignore = true, .multiprocessors = 3});

  // Dice: presets, each option, each activation, C = 1, sizes that take several grid turns.
  add({.name = "dice default f64", .options = DiceOptions{}});
  add({.name = "dice default f32 ignore", .options = DiceOptions{}, .dtype = ScalarType::Float32, .ignore = true});
  add({.name = "dice monai", .options = monai(), .ignore = true});
  add({.name = "dice smp absent class", .options = smp(), .labelClasses = 3});
  add({.name = "dice nnunet", .options = nnunet(), .ignore = true});
  add({.name = "dice nnunet perImage f32", .options = dice([](DiceOptions& o) { o = nnunet(); o.perImage = true; }), .dtype = ScalarType::Float32});
  add({.name = "dice squared", .options = dice([](DiceOptions& o) { o.squared = true; }), .ignore = true});
  add({.name = "dice logLoss perImage", .options = dice([](DiceOptions& o) { o.logLoss = true; o.perImage = true; })});
  add({.name = "dice no background smooth 1", .options = dice([](DiceOptions& o) { o.includeBackground = false; o.smooth = 1.0; })});
  add({.name = "dice sigmoid", .options = monai(), .activation = Activation::Sigmoid, .ignore = true});
  add({.name = "dice none", .options = DiceOptions{}, .activation = Activation::None, .ignore = true});
  add({.name = "dice binary sigmoid C=1", .options = DiceOptions{}, .channels = 1, .activation = Activation::Sigmoid, .ignore = true});
  add({.name = "dice binary none C=1 squared f32", .options = dice([](DiceOptions& o) { o.squared = true; }), .channels = 1, .activation = Activation::None, .dtype = ScalarType::Float32});
  add({.name = "dice accumulate scale -1.5 uint8", .options = monai(), .labelType = LabelType::UInt8, .ignore = true, .scale = -1.5, .accumulate = true});
  add({.name = "dice value only", .options = DiceOptions{}, .withGrad = false});
  add({.name = "dice all ignored", .options = DiceOptions{}, .allIgnored = true});
  add({.name = "dice nnunet all ignored", .options = nnunet(), .allIgnored = true});
  add({.name = "dice 1x1 images perImage", .options = monai(), .batch = 3, .pixels = 1});
  add({.name = "dice multi-turn grid (1 SM)", .options = monai(), .batch = 2, .channels = 3, .pixels = 2900, .ignore = true});
  add({.name = "dice K=100 (shared sums > block)", .options = DiceOptions{}, .batch = 2, .channels = 100, .pixels = 45, .ignore = true});
  add({.name = "dice sums beyond shared memory f32", .options = monai(), .batch = 3, .channels = 6, .pixels = 300, .dtype = ScalarType::Float32, .ignore = true, .sharedBytes = 6 * 3 * 8 - 8});

  // focal (pixel-wise, through the math policy and the true-class adapter).
  segloss::FocalOptions focal;
  segloss::FocalOptions focalAlpha;
  focalAlpha.gamma = 0.5;
  focalAlpha.alpha.values = {0.25, 1.0, 2.0, 0.5};
  focalAlpha.meanOverClasses = true;
  add({.name = "focal default f64 ignore", .options = focal, .ignore = true});
  add({.name = "focal gamma 0.5 alpha monai f32 uint8", .options = focalAlpha, .dtype = ScalarType::Float32, .labelType = LabelType::UInt8});
  add({.name = "focal binary sigmoid C=1", .options = focal, .channels = 1, .activation = Activation::Sigmoid, .ignore = true});
  add({.name = "focal all ignored", .options = focal, .allIgnored = true});
  // preset smp: per-channel sigmoid with the channel complements (written straight to dz).
  segloss::FocalOptions focalSmp;
  focalSmp.alpha.values = {0.25, 0.25, 0.25, 0.25};
  focalSmp.meanOverClasses = true;
  focalSmp.complementFactor = 0.75;
  segloss::FocalOptions focalSmpNoAlpha;
  focalSmpNoAlpha.gamma = 0.5;
  focalSmpNoAlpha.meanOverClasses = true;
  focalSmpNoAlpha.complementFactor = 1.0;
  add({.name = "focal smp sigmoid f64 ignore", .options = focalSmp, .activation = Activation::Sigmoid, .ignore = true});
  add({.name = "focal smp gamma 0.5 no alpha f32 uint8", .options = focalSmpNoAlpha, .activation = Activation::Sigmoid, .dtype = ScalarType::Float32, .labelType = LabelType::UInt8, .ignore = true});
  add({.name = "focal smp accumulate scale -1.5", .options = focalSmp, .activation = Activation::Sigmoid, .ignore = true, .scale = -1.5, .accumulate = true});
  add({.name = "focal smp value only", .options = focalSmp, .activation = Activation::Sigmoid, .withGrad = false});
  add({.name = "focal smp all ignored", .options = focalSmp, .activation = Activation::Sigmoid, .allIgnored = true});

  // The other region heads (jaccard, tversky, focal-tversky, sensitivity-specificity, log-cosh-dice).
  segloss::JaccardOptions jaccardSquared;
  jaccardSquared.squared = true;
  jaccardSquared.perImage = true;
  segloss::TverskyOptions tverskyPerImage;
  tverskyPerImage.perImage = true;
  tverskyPerImage.alpha = 0.8;
  tverskyPerImage.beta = 0.2;
  segloss::FocalTverskyOptions odyssey;
  odyssey.exponentAfterMean = true;
  odyssey.perImage = true;
  odyssey.smooth = 1.0;
  segloss::SensitivitySpecificityOptions ssOdyssey;
  ssOdyssey.r = 0.1;
  ssOdyssey.smooth = 1.0;
  ssOdyssey.perImage = true;
  segloss::LogCoshDiceOptions logCoshMonai;
  logCoshMonai.perImage = true;
  add({.name = "jaccard default f64 ignore", .options = segloss::JaccardOptions{}, .ignore = true});
  add({.name = "jaccard squared perImage f32", .options = jaccardSquared, .dtype = ScalarType::Float32, .ignore = true});
  add({.name = "tversky default sigmoid", .options = segloss::TverskyOptions{}, .activation = Activation::Sigmoid, .ignore = true});
  add({.name = "tversky perImage a0.8 b0.2 f32 uint8", .options = tverskyPerImage, .dtype = ScalarType::Float32, .labelType = LabelType::UInt8, .ignore = true});
  add({.name = "focal-tversky default absent class", .options = segloss::FocalTverskyOptions{}, .ignore = true, .labelClasses = 3});
  add({.name = "focal-tversky odyssey f32", .options = odyssey, .dtype = ScalarType::Float32});
  add({.name = "focal-tversky binary sigmoid C=1", .options = segloss::FocalTverskyOptions{}, .channels = 1, .activation = Activation::Sigmoid, .ignore = true});
  segloss::RobustTOptions robustT;
  robustT.nuParameter = 0.3;
  add({.name = "robust-t θ 0.3 ignore (region head with lnΓ, ψ on the device)", .options = robustT, .ignore = true});
  add({.name = "robust-t binary sigmoid C=1 f32", .options = segloss::RobustTOptions{}, .channels = 1, .activation = Activation::Sigmoid, .dtype = ScalarType::Float32});
  add({.name = "sensitivity-specificity default ignore", .options = segloss::SensitivitySpecificityOptions{}, .ignore = true});
  add({.name = "sensitivity-specificity odyssey f32 none", .options = ssOdyssey, .activation = Activation::None, .dtype = ScalarType::Float32, .ignore = true});
  add({.name = "sensitivity-specificity all ignored", .options = segloss::SensitivitySpecificityOptions{}, .allIgnored = true});
  add({.name = "log-cosh-dice perImage accumulate scale 0.6", .options = logCoshMonai, .ignore = true, .scale = 0.6, .accumulate = true});
  add({.name = "log-cosh-dice multi-turn grid (1 SM)", .options = segloss::LogCoshDiceOptions{}, .batch = 2, .channels = 3, .pixels = 2900, .ignore = true});
  return all;
}

}  // namespace

int main() {
  int failures = 0, count = 0;
  for (const Case& c : cases()) {
    ++count;
    const auto start = std::chrono::steady_clock::now();
    if (!runCaseTyped(c)) ++failures;
    std::printf("     %.2f s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::printf("%d of %d cases match the CPU engines\n", count - failures, count);
  return failures == 0 ? 0 : 1;
}
