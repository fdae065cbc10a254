// rmi (spec 13, Zhao et al. 2019, "Region Mutual Information Loss for Semantic Segmentation"), as
// ZJULearning/RMI RMILoss.forward_sigmoid computes it, per channel c with p = σ(z_c) and the
// one-hot g_c (ignored pixels: g = 0, p = 1e-6):
//   value = λ · Σ_{valid, c} BCE(z_c, g_c) / (valid + 1) + (1 − λ) · Σ_c mean_planes RMI_c / R²
//   RMI_c = ½ log det(Σ_{Y|P} + αI),  Σ_{Y|P} = Σ_Y − Σ_YP (Σ_P + αI)⁻¹ Σ_YPᵀ,  α = 5e-4
// where, per image plane, p + 1e-6 and g are pooled (avg with zero padding counted, or max;
// kernel poolSize, stride poolStride, padding poolSize / 2; none when poolStride = 1), the R×R
// neighbourhoods of the pooled maps are stacked into R²-vectors (R = radius) and centred, and
// Σ_Y = Σ y yᵀ, Σ_P = Σ p pᵀ, Σ_YP = Σ y pᵀ (not divided by the count, as the reference).
// log det = 2 Σ_i log(l_ii + 1e-8) from the Cholesky factor (the reference's log_det_by_cholesky).
// Gradient (derivation in docs/losses.md): with S = ½ L⁻ᵀ diag(l_ii / (l_ii + 1e-8)) L⁻¹
// (d(½ log det) / dΣ) and K = Σ_YP (Σ_P + αI)⁻¹, d RMI / d P = 2 Kᵀ S (K P − Y) on the centred
// vectors; then back through the neighbourhoods, the pooling and σ.
// "Planar" family: runs on whole image planes (rmi_cpu.cpp), not in the tile engine. 3-D input
// runs per slice (each of the D slices of an image is a plane); height / width give the plane.
#pragma once

#include <cstdint>

#include "../loss_family.h"
#include "../option_fields.h"

namespace segloss {

struct LossTensors;   // losses.h
struct LossGradient;  // losses.h

struct RmiOptions {
  int radius = 3;          // R ∈ [1, 10]: R×R neighbourhoods, R²-vectors
  bool maxPool = false;    // max pooling instead of average pooling
  int poolSize = 2;        // pooling kernel ≥ 1 (padding poolSize / 2)
  int poolStride = 2;      // pooling stride ≥ 1; 1 = no pooling (as the reference)
  double lambda = 0.5;     // λ ∈ [0, 1], weight of the BCE part
  int height = 0;          // H of a plane (TypeScript sets it from the shape; the torch op from the tensor when 0)
  int width = 0;           // W of a plane

  static constexpr auto fields() {
    return std::tuple{optionField("radius", &RmiOptions::radius), optionField("maxPool", &RmiOptions::maxPool),
                      optionField("poolSize", &RmiOptions::poolSize), optionField("poolStride", &RmiOptions::poolStride),
                      optionField("lambda", &RmiOptions::lambda), optionField("height", &RmiOptions::height),
                      optionField("width", &RmiOptions::width)};
  }
  // The broken invariant, or nullptr.
  const char* invalid() const {
    if (radius < 1 || radius > 10) return "radius is outside [1, 10]";
    if (poolSize < 1 || poolStride < 1) return "poolSize or poolStride is below 1";
    if (!(lambda >= 0.0 && lambda <= 1.0)) return "lambda is outside [0, 1]";
    if (height < 0 || width < 0) return "height or width is negative";
    return nullptr;
  }
  // The pooled size of n pixels (n itself without pooling).
  int pooledSize(int n) const {
    if (poolStride <= 1) return n;
    return (n + 2 * (poolSize / 2) - poolSize) / poolStride + 1;
  }
};

struct RmiLoss {
  static constexpr LossFamily kFamily = LossFamily::Planar;
  static constexpr const char* kId = "rmi";
  using Options = RmiOptions;
  RmiOptions options;

  RmiLoss() = default;
  RmiLoss(const Options& o, const LossContext&) : options(o) {}

  // The value on the CPU; with grad, writes (or adds, grad->accumulate) grad->scale · d value / d
  // logits. Defined in rmi_cpu.cpp. Throws LossArgumentError for shapes it cannot take.
  double runCpu(const LossTensors& tensors, const LossGradient* grad) const;
};

}  // namespace segloss
