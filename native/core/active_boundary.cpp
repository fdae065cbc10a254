// active-boundary (losses/active_boundary.h): ABL's predicted boundary, direction targets and
// 8-way KL cross-entropy on the CPU, value and gradient. Float math follows ABL's dtypes: the KL
// maps and logits in the logits' type, the cross-entropy and its gradient in float64. Volumes
// [B, C, D, H, W] run as B·D slices of H×W (ABL is 2-D).
#include "losses/active_boundary.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "activation.h"
#include "batch_buffer.h"
#include "dispatch.h"
#include "losses.h"
#include "parallel_cpu.h"
#include "tile_engine_cpu.h"

namespace segloss {
namespace {

// ABL's neighbour order (x = row offset, y = column offset); index 8 is the pixel itself.
constexpr int kDirections = 8;
constexpr int kRowStep[9] = {1, -1, 0, 0, -1, 1, -1, 1, 0};
constexpr int kColStep[9] = {0, 0, -1, 1, 1, 1, -1, -1, 0};
constexpr double kOutsideDistance = 1e5;

// The batch as ABL sees it: B·D slices of H×W (D = 1 for 2-D images), the class probabilities p
// and log p of the request's activation (softmax for ABL) at every pixel.
template <typename T>
struct AblImages {
  int64_t batch, classes, slices, height, width, pixels;  // pixels = D·H·W per image
  BatchArray<T> logProb;  // [B, K, N]
  BatchArray<T> prob;     // [B, K, N]

  T lp(int64_t b, int64_t c, int64_t i) const { return logProb.data[(b * classes + c) * pixels + i]; }
  T p(int64_t b, int64_t c, int64_t i) const { return prob.data[(b * classes + c) * pixels + i]; }

  // KL(p_from ‖ p_to) = Σ_c p_from (log p_from − log p_to), in T (ABL's kl_div(a = to, b = from)).
  T kl(int64_t b, int64_t from, int64_t to) const {
    T sum = T(0);
    for (int64_t c = 0; c < classes; ++c) sum += p(b, c, from) * (lp(b, c, from) - lp(b, c, to));
    return sum;
  }
};

// p and log p of every pixel with the CPU engine's vectorised tile activation (activateImagesCpu),
// images in parallel.
template <typename T>
AblImages<T> activate(const LossTensors& t) {
  const int classes = probabilityClasses(t.channels);
  AblImages<T> im{t.batch, classes, t.spatialDims == 3 ? t.extent[0] : 1, t.extent[1], t.extent[2], t.pixels, {}, {}};
  im.logProb = BatchArray<T>(static_cast<size_t>(t.batch * classes * t.pixels), BufferFill::Overwritten);
  im.prob = BatchArray<T>(static_cast<size_t>(t.batch * classes * t.pixels), BufferFill::Overwritten);
  const TileJob job = tileJobOf(t);
  parallelRanges(t.batch, workersFor(t.batch, classes * t.pixels), [&](int, int64_t b0, int64_t b1) {
    std::vector<unsigned char> workspace(tileWorkspaceBytes(job));
    activateImagesCpu(job, b0, b1, workspace.data(), im.prob.data, im.logProb.data);
  });
  return im;
}

// acc[x] += p[x] · (lp[x] − lpTo[x]) for x < n: one class's term of KL(p_from ‖ p_to) along a row.
template <typename T>
void klRow(const T* __restrict p, const T* lp, const T* lpTo, int64_t n, T* __restrict acc) {
  for (int64_t x = 0; x < n; ++x) acc[x] += p[x] * (lp[x] - lpTo[x]);
}

// kl_ud + kl_lr of every pixel ([B, N]): to the pixel below and to the right in its slice, 0 past
// the edge. Class by class over whole rows (vectorised; per pixel the classes are still summed in
// order, as ABL's .sum(1)), images in parallel.
template <typename T>
BatchArray<T> neighbourKl(const AblImages<T>& im) {
  BatchArray<T> out(static_cast<size_t>(im.batch * im.pixels), BufferFill::Overwritten);  // zeroed per image below
  const int64_t w = im.width;
  const int workers = workersFor(im.batch, im.classes * im.pixels);
  std::vector<std::vector<T>> rights(static_cast<size_t>(workers), std::vector<T>(static_cast<size_t>(im.pixels)));
  parallelRanges(im.batch, workers, [&](int worker, int64_t b0, int64_t b1) {
    std::vector<T>& right = rights[static_cast<size_t>(worker)];
    for (int64_t b = b0; b < b1; ++b) {
      T* down = out.data + b * im.pixels;  // kl_ud, then kl_lr + kl_ud
      std::fill(down, down + im.pixels, T(0));
      std::fill(right.begin(), right.end(), T(0));
      for (int64_t c = 0; c < im.classes; ++c) {
        const T* p = im.prob.data + (b * im.classes + c) * im.pixels;
        const T* lp = im.logProb.data + (b * im.classes + c) * im.pixels;
        for (int64_t row = 0; row < im.slices * im.height; ++row) {
          const int64_t i0 = row * w;
          if ((row % im.height) + 1 < im.height) klRow(p + i0, lp + i0, lp + i0 + w, w, down + i0);
          klRow(p + i0, lp + i0, lp + i0 + 1, w - 1, right.data() + i0);
        }
      }
      for (int64_t i = 0; i < im.pixels; ++i) down[i] = right[i] + down[i];
    }
  });
  return out;
}

// The (allowed + 1)-th largest of kl[0, n) (allowed < n). Each worker keeps the allowed + 1
// largest of its range in a min-heap (most values are below the heap's top: one comparison each),
// then the candidates' selection; a plain selection on a copy when allowed is not small.
template <typename T>
T largestAfter(const T* kl, int64_t n, size_t allowed) {
  const size_t keep = allowed + 1;
  const int workers = workersFor(n, 1);
  if (keep > static_cast<size_t>(n) / 16) {
    std::vector<T> sorted(kl, kl + n);
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(allowed), sorted.end(), std::greater<T>());
    return sorted[allowed];
  }
  std::vector<std::vector<T>> heaps(static_cast<size_t>(workers));
  for (auto& heap : heaps) heap.reserve(keep);
  parallelRanges(n, workers, [&](int worker, int64_t i0, int64_t i1) {
    std::vector<T>& heap = heaps[static_cast<size_t>(worker)];
    const auto smallerOnTop = std::greater<T>();
    for (int64_t i = i0; i < i1; ++i) {
      const T v = kl[i];
      if (heap.size() < keep) {
        heap.push_back(v);
        std::push_heap(heap.begin(), heap.end(), smallerOnTop);
      } else if (v > heap.front()) {
        std::pop_heap(heap.begin(), heap.end(), smallerOnTop);
        heap.back() = v;
        std::push_heap(heap.begin(), heap.end(), smallerOnTop);
      }
    }
  });
  std::vector<T> candidates;
  for (const auto& heap : heaps) candidates.insert(candidates.end(), heap.begin(), heap.end());
  std::nth_element(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(allowed), candidates.end(),
                   std::greater<T>());
  return candidates[allowed];
}

// ABL's threshold: ε = 1e-5·1.2^k for the first k with at most maxN values of kl > ε (compared in
// T, as torch compares a float32 tensor with a Python float), found from the (⌊maxN⌋ + 1)-th largest.
template <typename T>
double boundaryThreshold(const T* kl, int64_t n, double maxN) {
  double eps = 1e-5;
  const size_t allowed = static_cast<size_t>(std::floor(maxN));
  if (static_cast<size_t>(n) <= allowed) return eps;
  const T cut = largestAfter(kl, n, allowed);  // at most `allowed` values exceed ε ⇔ ε ≥ cut
  while (!(static_cast<T>(eps) >= cut)) eps *= 1.2;
  return eps;
}

// The predicted boundary ([B, N]): kl > ε, dilated by a 3×3 square in the slice (zero outside);
// slices in parallel.
template <typename T>
std::vector<char> predictedBoundary(const AblImages<T>& im, const T* kl, double eps) {
  const T threshold = static_cast<T>(eps);
  const int64_t h = im.height, w = im.width, plane = h * w;
  std::vector<char> out(static_cast<size_t>(im.batch * im.pixels), 0);
  const int64_t slices = im.batch * im.slices;
  parallelRanges(slices, workersFor(slices, plane), [&](int, int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) {
      const T* k = kl + s * plane;
      char* o = out.data() + s * plane;
      for (int64_t r = 0; r < h; ++r) {
        for (int64_t c = 0; c < w; ++c) {
          if (!(k[r * w + c] > threshold)) continue;
          for (int64_t rr = std::max<int64_t>(r - 1, 0); rr <= std::min(r + 1, h - 1); ++rr) {
            for (int64_t cc = std::max<int64_t>(c - 1, 0); cc <= std::min(c + 1, w - 1); ++cc) o[rr * w + cc] = 1;
          }
        }
      }
    }
  });
  return out;
}

// One kept boundary pixel: its image, index, direction class, weight and the 8 KL logits.
struct DirectionSample {
  int64_t b, i;
  int direction;
  double weight;        // min(D, clip) / clip
  double logits[kDirections];
  int64_t neighbour[kDirections];
};

// The samples of image b, in ABL's row-major order.
template <typename T>
void imageDirectionSamples(const AblImages<T>& im, int64_t b, const std::vector<char>& boundary, const double* distance,
                           double clip, std::vector<DirectionSample>& out) {
  for (int64_t d = 0; d < im.slices; ++d) {
    for (int64_t r = 0; r < im.height; ++r) {
      for (int64_t c = 0; c < im.width; ++c) {
        const int64_t i = (d * im.height + r) * im.width + c;
        if (!boundary[static_cast<size_t>(b * im.pixels + i)]) continue;
        const double* D = distance + (i - r * im.width - c);  // the slice's map
        int best = 0;
        double bestDistance = 0.0;
        for (int k = 0; k <= kDirections; ++k) {
          const int64_t rr = r + kRowStep[k], cc = c + kColStep[k];
          const bool inside = rr >= 0 && rr < im.height && cc >= 0 && cc < im.width;
          const double dk = inside ? D[rr * im.width + cc] : kOutsideDistance;
          if (k == 0 || dk < bestDistance) {
            best = k;
            bestDistance = dk;
          }
        }
        if (best == kDirections) continue;
        DirectionSample s{b, i, best, std::min(D[r * im.width + c], clip) / clip, {}, {}};
        for (int k = 0; k < kDirections; ++k) {
          const int64_t rr = std::clamp<int64_t>(r + kRowStep[k], 0, im.height - 1);
          const int64_t cc = std::clamp<int64_t>(c + kColStep[k], 0, im.width - 1);
          s.neighbour[k] = i + (rr - r) * im.width + (cc - c);
          s.logits[k] = static_cast<double>(im.kl(b, s.neighbour[k], i));  // KL(q_n ‖ p_centre)
        }
        out.push_back(s);
      }
    }
  }
}

// Every image's samples (images in parallel), concatenated in image order.
template <typename T>
std::vector<DirectionSample> directionSamples(const AblImages<T>& im, const std::vector<char>& boundary,
                                              const double* const* distance, double clip) {
  std::vector<std::vector<DirectionSample>> perImage(static_cast<size_t>(im.batch));
  for (int64_t b = 0; b < im.batch; ++b) {  // room for every boundary pixel, allocated here: workers must not throw
    const auto first = boundary.begin() + b * im.pixels;
    perImage[static_cast<size_t>(b)].reserve(static_cast<size_t>(std::count(first, first + im.pixels, char(1))));
  }
  parallelRanges(im.batch, workersFor(im.batch, im.pixels / 4), [&](int, int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) imageDirectionSamples(im, b, boundary, distance[b], clip, perImage[static_cast<size_t>(b)]);
  });
  std::vector<DirectionSample> out;
  for (const auto& v : perImage) out.insert(out.end(), v.begin(), v.end());
  return out;
}

// Adds scale · d value / d logits at a centre from u_c = p_c ∂value/∂p_c, through the activation.
template <typename T>
void writeCentreGrad(const LossTensors& t, const DirectionSample& s, const double* u, double scale, T* grad) {
  const T* z = static_cast<const T*>(t.logits) + s.b * t.channels * t.pixels + s.i;
  T* out = grad + s.b * t.channels * t.pixels + s.i;
  dispatchActivation(resolveActivation(t.activation, t.channels), [&](auto tag) {
    constexpr PixelActivationKind A = decltype(tag)::value;
    const PixelActivation<T, A> act(z, t.pixels, static_cast<int>(t.channels));
    act.writeFromScaledGrad([&](int c) { return static_cast<T>(u[c]); }, out, static_cast<T>(scale), true);
  });
}

// ABL's cross-entropy of one sample against its smoothed direction target, times its weight and
// 1 / samples; dl gets d value / d logits of its 8 KL logits.
double sampleTerm(const DirectionSample& s, double keep, double spread, double perSample, double* dl) {
  const double targetSum = keep + (kDirections - 1) * spread;
  double max = s.logits[0];
  for (int k = 1; k < kDirections; ++k) max = std::max(max, s.logits[k]);
  double sum = 0.0;
  for (int k = 0; k < kDirections; ++k) sum += std::exp(s.logits[k] - max);
  const double logSum = std::log(sum);
  double ce = 0.0;
  for (int k = 0; k < kDirections; ++k) {
    const double target = k == s.direction ? keep : spread;
    ce -= target * (s.logits[k] - max - logSum);
    dl[k] = perSample * s.weight * (std::exp(s.logits[k] - max - logSum) * targetSum - target);
  }
  return perSample * s.weight * ce;
}

template <typename T>
double activeBoundary(const ActiveBoundaryOptions& o, const LossTensors& t, const double* const* distance, double weight,
                      const LossGradient* grad) {
  const AblImages<T> im = activate<T>(t);
  const BatchArray<T> kl = neighbourKl(im);
  const int64_t all = im.batch * im.pixels;
  const double eps = boundaryThreshold(kl.data, all, static_cast<double>(im.height * im.width) * o.maxBoundaryRatio);
  const std::vector<char> boundary = predictedBoundary(im, kl.data, eps);
  const std::vector<DirectionSample> samples = directionSamples(im, boundary, distance, o.maxClipDistance);
  if (samples.empty()) return 0.0;  // ABL: None (no boundary) or an empty mean
  const double keep = 1.0 - o.labelSmoothing, spread = o.labelSmoothing / kDirections;
  const double perSample = 1.0 / static_cast<double>(samples.size());
  T* g = grad ? static_cast<T*>(grad->data) : nullptr;
  // Samples in parallel: each writes the gradient at its own centre only (one sample per boundary
  // pixel), and the values are summed afterwards in sample order (the same sum on any thread count).
  const int64_t count = static_cast<int64_t>(samples.size());
  std::vector<double> values(samples.size());
  const int workers = workersFor(count, 64 * im.classes);
  std::vector<std::vector<double>> us(static_cast<size_t>(workers), std::vector<double>(static_cast<size_t>(im.classes)));
  parallelRanges(count, workers, [&](int worker, int64_t k0, int64_t k1) {
    double* u = us[static_cast<size_t>(worker)].data();
    for (int64_t j = k0; j < k1; ++j) {
      const DirectionSample& s = samples[static_cast<size_t>(j)];
      double dl[kDirections];
      values[static_cast<size_t>(j)] = sampleTerm(s, keep, spread, perSample, dl);
      if (!g) continue;
      // p_c ∂KL(q_n ‖ p)/∂p_c = −q_n,c at the centre (q_n is a constant).
      for (int64_t c = 0; c < im.classes; ++c) {
        u[c] = 0.0;
        for (int k = 0; k < kDirections; ++k) u[c] -= dl[k] * static_cast<double>(im.p(s.b, c, s.neighbour[k]));
      }
      writeCentreGrad(t, s, u, grad->scale * weight, g);
    }
  });
  double value = 0.0;
  for (const double v : values) value += v;
  return value;
}

}  // namespace

void ActiveBoundaryLoss::checkInput(const LossTensors& t) const {
  if (t.spatialDims != 2 && t.spatialDims != 3) {
    throw LossArgumentError("active-boundary needs the images' spatial shape ([H, W], or [D, H, W] as D slices)");
  }
}

double ActiveBoundaryLoss::run(const LossTensors& t, const double* const* distance, double weight,
                               const LossGradient* grad) const {
  return dispatchScalar(t.dtype, [&](auto scalar) {
    return activeBoundary<decltype(scalar)>(options, t, distance, weight, grad);
  });
}

}  // namespace segloss
