// Training the inverse-transformation network of `inverseform` (inverse_form_net.h), natively,
// as `segloss train-inverseform` runs it: boundary maps of real masks, random affine warps of
// 32×32 tiles of them, and regression of the warp parameters.
//
// One sample: a mask m (one of `masks`), a centre c near one of its boundary pixels, a warp
// A = s·R(r), translation t (each part on with probability 0.7, all off with probability 0.15),
// s ∈ [1 − maxScale, 1 + maxScale], r ∈ ±maxRotation, t ∈ ±maxShift per axis; the target tile
// g(u) = E(c + u) and the predicted tile p(u) = gain · E(c + A u + t) + noise (E the mask's 3×3
// edge map, bilinear; gain ∈ [0.6, 1], noise ∈ [0, 0.05], clipped to [0, 1], so that p looks like
// an edge probability); the regression target is θ = (2(a11 − 1), 2 a12, 2 a21, 2(a22 − 1),
// tx / 4, ty / 4). Loss: mean squared error; Adam. Deterministic for a seed.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace segloss {

struct InverseFormTrainingOptions {
  int steps = 6000;             // optimisation steps
  int batch = 32;               // samples per step
  double learningRate = 1e-3;   // Adam's step size (β = 0.9, 0.999)
  uint64_t seed = 1;            // the sample and initialisation stream
  double maxShift = 4.0;        // pixels
  double maxScale = 0.15;       // relative
  double maxRotation = 15.0;    // degrees
};

// Binary masks [count, height, width] (non-zero = inside), each with some boundary.
struct InverseFormMasks {
  const uint8_t* data = nullptr;
  int64_t count = 0, height = 0, width = 0;
};

// Reports (step, mean loss of the last report interval); returns false to stop early.
using InverseFormProgress = std::function<bool(int step, double loss)>;

// The trained parameters [InverseFormNet::kParameterCount]. `progress` is called every
// `reportEvery` steps and at the end. Throws std::invalid_argument for masks without boundaries
// or bad options.
std::vector<float> trainInverseFormNet(const InverseFormMasks& masks, const InverseFormTrainingOptions& options,
                                       const InverseFormProgress& progress, int reportEvery = 100);

// The held-out check written with the weights: mean ‖θ̂ − θ‖ and the mean ‖θ‖ over `samples`
// fresh samples (seed + 1), so that the regression's error can be told from the warps' size.
struct InverseFormEvaluation {
  double meanError = 0.0;
  double meanTarget = 0.0;
};
InverseFormEvaluation evaluateInverseFormNet(const std::vector<float>& params, const InverseFormMasks& masks,
                                             const InverseFormTrainingOptions& options, int samples);

}  // namespace segloss
