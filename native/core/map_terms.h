// The third functor shape (LossFamily::Map): losses whose value is a sum over pixels of a term
// that multiplies the prediction with a per-pixel map, the map depending on the target only
// (target_maps.h, cached) or also on the thresholded prediction (Hausdorff-DT, recomputed per
// call and held constant, as the references do):
//
//   Linear        Σ_c w_c Σ_i v_i m_ci p_ci             (boundary, region-wise)
//   SquaredError  Σ_c w_c Σ_i v_i m_ci (p_ci − g_ci)²   (hausdorff-dt)
//   TrueClassLog  w Σ_i v_i m_i (−log p_{t_i})          (distance-map-ce, m = 1 + Φ)
//
// with v the valid mask and w_c = weight / (|classes in the mean| · N_valid) (TrueClassLog:
// weight / N_valid). The CPU kernels run them inside the same tile loop as the other families
// (tile_kernels_cpu.h): the value in the values pass, u_c = p_c ∂term/∂p_c added to the gradient.
// A map functor writes no pixel code: it returns a MapTermPlan.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "geometry/grid.h"
#include "option_fields.h"
#include "target_map_kind.h"
#include "target_map_storage.h"

namespace segloss {

enum class MapTermKind : int { Linear, SquaredError, TrueClassLog };

// What a map functor asks of the driver.
struct MapTermPlan {
  MapTermKind kind = MapTermKind::Linear;
  TargetMapKind targetMap = TargetMapKind::BoundarySigned;  // the cached map of the target
  const DoubleArray* callerMap = nullptr;  // [B, K, N] given by the caller instead of targetMap (region-wise `map`)
  double mapOffset = 0.0;                  // m = mapOffset + map (distance-map-ce: 1 + Φ)
  bool predictionMap = false;              // m = d_g^α + d_p^α, d_p the same map of the prediction (p_c > 0.5)
  double exponent = 1.0;                   // α (predictionMap only)
  std::vector<char> classes;               // [K] 1 for the classes in the mean (Linear, SquaredError)
};

// [K] flags of the classes listed in `ids` (class ids as doubles), or of 1..K−1 when `ids` is
// empty. Throws LossArgumentError (losses.h) naming `option` for an id that is not an integer in
// [0, K) or that repeats.
std::vector<char> selectedClasses(const DoubleArray& ids, int classes, const char* option);

// [K] flags of classes first..K−1 (first = 0 with background, 1 without).
inline std::vector<char> classesFrom(int first, int classes) {
  std::vector<char> flags(static_cast<size_t>(classes), 0);
  for (int c = first; c < classes; ++c) flags[c] = 1;
  return flags;
}

// A map term made ready for the kernels: its per-image maps (cached target maps, or maps made for
// this call) and its factors w_c. Owns or shares everything MapTermRef points to.
struct PreparedMapTerm {
  std::vector<ImageTargetMap> keep;  // the images' maps (or one for the batch), alive for the call
  std::vector<const double*> maps;   // [B] → MapTermRef::maps
  std::vector<double> factors;       // [K] (or [1]) → MapTermRef::factors
  MapTermKind kind = MapTermKind::Linear;
  double offset = 0.0;  // MapTermPlan::mapOffset, added by the kernels as they read the maps (no shifted copy)
};

struct LossTensors;

// The maps and factors of `plan` for `tensors`, for a term of weight `weight` over `validPixels`
// valid pixels (0: every factor is 0). Throws LossArgumentError when the spatial shape is not given
// or a caller map has the wrong length.
PreparedMapTerm prepareMapTerm(const MapTermPlan& plan, const LossTensors& tensors, double weight, double validPixels);

// The grid of the tensors' spatial shape; throws LossArgumentError, naming `what`, when it is not given.
geometry::GridShape spatialGrid(const LossTensors& tensors, const char* what);

// The thresholded prediction of every image and class: out[b, c, i] = (p_c > 0.5) at valid pixels,
// 0 at ignored ones ([B, K, N] uint8), p under the tensors' activation.
void predictionMasks(const LossTensors& tensors, uint8_t* out);

}  // namespace segloss
