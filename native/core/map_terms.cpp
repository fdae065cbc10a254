// Preparing the map terms of an objective (map_terms.h): class selection, the thresholded
// prediction, and the per-image maps the kernels read.
#include "map_terms.h"

#include <cmath>
#include <string>

#include "dispatch.h"
#include "geometry/distance_maps.h"
#include "losses.h"
#include "parallel_cpu.h"
#include "target_maps.h"

namespace segloss {
namespace {

std::string numberText(double x) {
  std::string text = std::to_string(x);
  while (text.size() > 1 && text.back() == '0') text.pop_back();
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text;
}

// The masks of one pixel's thresholded prediction, for every activation: p_c > 0.5.
template <typename T, typename L>
void predictionMasksOf(const LossTensors& t, uint8_t* out) {
  const int classes = probabilityClasses(t.channels);
  const T* logits = static_cast<const T*>(t.logits);
  const L* target = static_cast<const L*>(t.target);
  const int64_t n = t.pixels;
  const PixelActivationKind kind = resolveActivation(t.activation, t.channels);
  parallelRanges(t.batch, workersFor(t.batch, n * classes), [&](int, int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const T* z = logits + b * t.channels * n;
      uint8_t* o = out + b * classes * n;
      for (int64_t i = 0; i < n; ++i) {
        const bool ignored = t.hasIgnore && static_cast<int64_t>(target[b * n + i]) == t.ignoreIndex;
        for (int c = 0; c < classes; ++c) o[c * n + i] = 0;
        if (ignored) continue;
        switch (kind) {
          case PixelActivationKind::Softmax: {
            // Only the largest logit can have p > 0.5: p_c > 0.5 ⇔ z_c − lse > log ½.
            int best = 0;
            for (int c = 1; c < classes; ++c) best = z[c * n + i] > z[best * n + i] ? c : best;
            T sum = T(0);  // in the logits' type, as the references threshold their softmax
            for (int c = 0; c < classes; ++c) sum += std::exp(z[c * n + i] - z[best * n + i]);
            o[best * n + i] = T(1) / sum > T(0.5);
            break;
          }
          case PixelActivationKind::Sigmoid:
            for (int c = 0; c < classes; ++c) o[c * n + i] = z[c * n + i] > T(0);
            break;
          case PixelActivationKind::None:
            for (int c = 0; c < classes; ++c) o[c * n + i] = z[c * n + i] > T(0.5);
            break;
          case PixelActivationKind::BinarySigmoid:
            o[i] = z[i] < T(0);
            o[n + i] = z[i] > T(0);
            break;
          case PixelActivationKind::BinaryNone:
            o[i] = T(1) - z[i] > T(0.5);
            o[n + i] = z[i] > T(0.5);
            break;
        }
      }
    }
  });
}

// m = d_g^α + d_p^α per image, d_g the target's cached Hausdorff map, d_p the prediction's.
void combineWithPrediction(const LossTensors& t, const geometry::GridShape& grid, double alpha, PreparedMapTerm& out) {
  const int classes = probabilityClasses(t.channels);
  const int64_t perImage = int64_t(classes) * t.pixels;
  const int64_t length = t.batch * perImage;
  BatchArray<uint8_t> masks(static_cast<size_t>(length), BufferFill::Overwritten);
  predictionMasks(t, masks.data);
  // The prediction's maps, then (in place) the combined ones: pooled storage for the whole batch.
  auto combined = std::make_shared<TargetMapStorage>();
  combined->values = BatchArray<double>(static_cast<size_t>(length), BufferFill::Overwritten);
  combined->length = length;
  double* m = combined->values.data;
  // Each image's thresholded class masks rarely overlap (p > 0.5 holds for one class at most when
  // the probabilities sum to 1): groups of `classes`, checked, and computed mask by mask if they do.
  geometry::hausdorffDistanceMap(masks.data, t.batch * classes, grid, m, classes);
  const bool square = alpha == 2.0;
  std::vector<const double*> target = out.maps;
  parallelRanges(t.batch, workersFor(t.batch, perImage), [&](int, int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const double* __restrict dg = target[b];
      double* __restrict mb = m + b * perImage;
      if (square) {
        for (int64_t i = 0; i < perImage; ++i) mb[i] = dg[i] * dg[i] + mb[i] * mb[i];
      } else {
        for (int64_t i = 0; i < perImage; ++i) mb[i] = std::pow(dg[i], alpha) + std::pow(mb[i], alpha);
      }
    }
  });
  for (int64_t b = 0; b < t.batch; ++b) out.maps[b] = m + b * perImage;
  out.keep.push_back(std::move(combined));  // the target's maps stay in keep too: harmless
}

}  // namespace

geometry::GridShape spatialGrid(const LossTensors& t, const char* what) {
  if (t.spatialDims != 2 && t.spatialDims != 3) {
    throw LossArgumentError(std::string(what) + " needs the images' spatial shape ([H, W] or [D, H, W])");
  }
  geometry::GridShape grid;
  grid.spatialDims = t.spatialDims;
  grid.depth = t.extent[0];
  grid.height = t.extent[1];
  grid.width = t.extent[2];
  if (grid.voxels() != t.pixels) throw LossArgumentError("the spatial shape does not hold N pixels");
  return grid;
}

std::vector<char> selectedClasses(const DoubleArray& ids, int classes, const char* option) {
  if (ids.empty()) return classesFrom(1, classes);
  std::vector<char> flags(static_cast<size_t>(classes), 0);
  for (const double id : ids.values) {
    if (!(id >= 0.0 && id < classes && std::trunc(id) == id)) {
      throw LossArgumentError(std::string(option) + " holds " + numberText(id) + ", expected a class id in [0, K = " +
                              std::to_string(classes) + ")");
    }
    if (flags[static_cast<size_t>(id)]) throw LossArgumentError(std::string(option) + " holds " + numberText(id) + " twice");
    flags[static_cast<size_t>(id)] = 1;
  }
  return flags;
}

void predictionMasks(const LossTensors& tensors, uint8_t* out) {
  dispatchScalar(tensors.dtype, [&](auto scalar) {
    dispatchLabel(tensors.labelType, [&](auto label) { predictionMasksOf<decltype(scalar), decltype(label)>(tensors, out); });
  });
}

PreparedMapTerm prepareMapTerm(const MapTermPlan& plan, const LossTensors& t, double weight, double validPixels) {
  const int classes = probabilityClasses(t.channels);
  const int64_t n = t.pixels;
  PreparedMapTerm out;
  out.kind = plan.kind;
  out.keep.resize(static_cast<size_t>(t.batch));
  out.maps.resize(static_cast<size_t>(t.batch));
  if (plan.callerMap) {
    const int64_t expected = t.batch * classes * n;
    if (static_cast<int64_t>(plan.callerMap->values.size()) != expected) {
      throw LossArgumentError("map has " + std::to_string(plan.callerMap->values.size()) +
                              " entries, expected B·K·N = " + std::to_string(expected));
    }
    for (int64_t b = 0; b < t.batch; ++b) out.maps[b] = plan.callerMap->values.data() + b * classes * n;
  } else {
    const geometry::GridShape grid = spatialGrid(t, "this loss");
    TargetMapRequest request{plan.targetMap, classes, grid, t.hasIgnore, t.ignoreIndex};
    BatchTargetMaps target = targetMaps(t.target, t.labelType, t.batch, request);
    for (int64_t b = 0; b < t.batch; ++b) {
      out.keep[b] = target.images[b];
      out.maps[b] = target.data[b];
    }
    if (plan.predictionMap) combineWithPrediction(t, grid, plan.exponent, out);
  }
  out.offset = plan.mapOffset;
  const bool any = validPixels > 0.0;
  if (plan.kind == MapTermKind::TrueClassLog) {
    out.factors = {any ? weight / validPixels : 0.0};
    return out;
  }
  int selected = 0;
  for (const char flag : plan.classes) selected += flag != 0;
  out.factors.assign(static_cast<size_t>(classes), 0.0);
  for (int c = 0; c < classes; ++c) {
    if (plan.classes[c] && any) out.factors[c] = weight / (static_cast<double>(selected) * validPixels);
  }
  return out;
}

}  // namespace segloss
