// `boundary-aware` (spec 17; Hayder, He & Salzmann 2017, "Boundary-aware Instance Segmentation"):
// the model predicts, per class c and pixel, K binary "distance bin" maps; logits are
// [B, C·K, ...spatial] (class-major: channel c·K + n is bin n of class c). The target transform,
// per class: D(p) = min(⌈d(p)⌉, R) inside the class (d the exact Euclidean distance to the nearest
// pixel outside it), bin n(p) = ⌊(D − 1)·K / R⌋; the K binary maps are the one-hot code of n(p)
// (all 0 outside the class). Loss: the mean over valid pixels, classes and bins of the binary CE
// with logits. The decoder turns bin predictions back into a label map (union of disks).
//
// It cannot be an engine functor (its logits have C·K channels and a label means C classes), so
// it has its own entry points here; the addons route `'boundary-aware'` to them (docs/engine.md).
#pragma once

#include <cstdint>
#include <tuple>
#include <vector>

#include "../geometry/grid.h"
#include "../losses.h"
#include "../option_fields.h"

namespace segloss {

struct BoundaryAwareOptions {
  int bins = 5;    // K ≥ 1: binary maps per class
  int radius = 5;  // R ≥ 1: the truncation of the distance, in pixels

  static constexpr auto fields() {
    return std::make_tuple(optionField("bins", &BoundaryAwareOptions::bins),
                           optionField("radius", &BoundaryAwareOptions::radius));
  }
  const char* invalid() const {
    if (bins < 1) return "bins must be ≥ 1";
    if (radius < 1) return "radius must be ≥ 1";
    return nullptr;
  }
};

// A boundary-aware call: tensors.channels = C·K, tensors.pixels = the grid's voxels; the target
// holds labels in [0, C) or the ignore index. tensors.activation is not read (always sigmoid).
struct BinnedLossInput {
  LossTensors tensors;      // logits [B, C·K, N], target [B, N]
  geometry::GridShape grid;  // the spatial extents (unit spacing)
};

// The bin of a distance ceiling D ∈ [1, R] (n ∈ [0, K)), and the decoder's radius of bin n: the
// largest ρ such that every pixel of bin n has d > ρ (so a closed disk of radius ρ stays inside).
inline int distanceBin(int ceilDistance, const BoundaryAwareOptions& o) {
  return static_cast<int>((static_cast<int64_t>(ceilDistance) - 1) * o.bins / o.radius);
}
inline double binRadius(int bin, const BoundaryAwareOptions& o) {
  // the smallest D of bin n is ⌈n·R/K⌉ + 1, and d > D − 1
  return static_cast<double>((static_cast<int64_t>(bin) * o.radius + o.bins - 1) / o.bins);
}

// The target's bins: out[b, c, i] = n(p) ∈ [0, K) inside class c, −1 outside it (ignored pixels
// are in no class, and no source of any distance: d is measured to the nearest valid pixel of
// another class). Labels must be valid (checked by the caller). Cached: a call with the
// same target bytes, shape, ignore index and options returns the previous result (compared byte
// for byte, never stale).
std::vector<int8_t> boundaryAwareTargetBins(const BinnedLossInput& input, const BoundaryAwareOptions& options);

// The loss; with grad, d value / d logits (scale · …) written into grad->data [B, C·K, N].
// Throws LossArgumentError for a shape that is not C·K channels, a bad label or a non-finite logit.
double boundaryAwareLossCpu(const BinnedLossInput& input, const BoundaryAwareOptions& options,
                            const LossGradient* grad);

// The label map [B, N] (int32) of bin predictions: for class c, a pixel is "on" when its largest
// bin logit is > 0 (σ > 1/2); the class's decoded mask is the union of the closed disks of radius
// binRadius(bin) around its on pixels. A pixel takes the covering class with the largest bin
// logit at that pixel; a pixel no class covers takes the class with the largest bin logit.
// A perfect bin prediction (the logits' signs equal the target's binary maps) decodes to the
// target exactly (ignored pixels decode to some class).
void decodeBoundaryAwareCpu(const LossTensors& logits /* target unused */, const geometry::GridShape& grid,
                            const BoundaryAwareOptions& options, int32_t* labels /* [B, N] */);

}  // namespace segloss
