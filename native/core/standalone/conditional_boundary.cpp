// conditional-boundary (conditional_boundary.h): the target's band, then two passes over the
// images — counts (the terms' normalisers), then values and gradients — with the features held
// pixel-major ([B, N, D]) so that each anchor's 5×5 neighbourhood reads contiguous vectors.
#include "conditional_boundary.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "../dispatch.h"
#include "../parallel_cpu.h"

namespace segloss {
namespace {

constexpr int kHalfWindow = 2;      // the reference's 5×5 window (kernel_size // 2)
constexpr double kCountEps = 1e-5;  // neighbour means divide by n + 1e-5, as the reference
constexpr double kCosEps = 1e-8;    // F.cosine_similarity's eps: each norm clamped to ≥ eps

int64_t bandWidth(double ratio, int64_t height, int64_t width) {
  // Python's round() (half to even) of ratio · diagonal, at least 1
  const double w = std::nearbyint(ratio * std::sqrt(double(height * height + width * width)));
  return std::max<int64_t>(1, static_cast<int64_t>(w));
}

std::vector<int32_t> labelsOf(const LossTensors& t) {
  std::vector<int32_t> out(static_cast<size_t>(t.batch * t.pixels));
  dispatchLabel(t.labelType, [&](auto label) {
    using L = decltype(label);
    const L* target = static_cast<const L*>(t.target);
    for (size_t j = 0; j < out.size(); ++j) {
      const int64_t v = static_cast<int64_t>(target[j]);
      if (t.hasIgnore && v == t.ignoreIndex) out[j] = -1;
      else if (v < 0 || v >= t.channels) throw LossArgumentError("label outside [0, K) at flat index " + std::to_string(j));
      else out[j] = static_cast<int32_t>(v);
    }
  });
  return out;
}

template <typename T>
void checkFinite(const T* values, int64_t count, const char* what) {
  for (int64_t i = 0; i < count; ++i) {
    if (!std::isfinite(values[i])) throw LossArgumentError(std::string("non-finite ") + what + " at flat index " + std::to_string(i));
  }
}

// What pass 1 finds: the normalisers of the terms.
struct Counts {
  std::vector<int64_t> classified;  // [C] |S_k|
  std::vector<int64_t> centred;     // [C] |M_k|
  std::vector<int64_t> pairs;       // [B] context pairs of image b
  std::vector<char> hasAnchors;     // [B] image b has band anchors of a class > 0
};

template <typename T>
class ConditionalBoundary {
 public:
  ConditionalBoundary(const ConditionalBoundaryInput& in, const ConditionalBoundaryOptions& o)
      : in_(in), o_(o), B_(in.tensors.batch), C_(in.tensors.channels), D_(in.featureChannels), H_(in.height), W_(in.width),
        N_(in.height * in.width) {
    labels_ = labelsOf(in.tensors);
    const T* z = static_cast<const T*>(in.tensors.logits);
    checkFinite(z, B_ * C_ * N_, "logit");
    checkFinite(static_cast<const T*>(in.features), B_ * D_ * N_, "feature");
    checkFinite(static_cast<const T*>(in.classifierWeight), C_ * D_, "classifier weight");
    if (in.classifierBias) checkFinite(static_cast<const T*>(in.classifierBias), C_, "classifier bias");
    predictions(z);
    transposeFeatures(static_cast<const T*>(in.features));
    band_.assign(static_cast<size_t>(B_ * N_), 0);
    const int64_t w = bandWidth(o.boundaryWidthRatio, H_, W_);
    for (int64_t b = 0; b < B_; ++b) conditionalBoundaryBand(labels_.data() + b * N_, H_, W_, w, band_.data() + b * N_);
  }

  double run(const ConditionalBoundaryGrads* grads) {
    const Counts counts = count();
    int classes = 0;
    for (int64_t k = 0; k < C_; ++k) classes += counts.classified[k] > 0 && counts.centred[k] > 0;
    int64_t images = 0;
    for (int64_t b = 0; b < B_; ++b) images += counts.hasAnchors[b] != 0;
    const bool wantGrad = grads != nullptr;
    std::vector<T> gradF(wantGrad ? static_cast<size_t>(B_ * N_ * D_) : 0, T(0));  // [B, N, D]
    const int workers = workersFor(B_, N_ * D_ * 24);
    std::vector<Partial> partial(static_cast<size_t>(workers), Partial(C_, D_, wantGrad));
    const double scale = wantGrad ? grads->scale : 1.0;
    parallelRanges(B_, workers, [&](int worker, int64_t first, int64_t last) {
      for (int64_t b = first; b < last; ++b) image(b, counts, classes, images, scale, wantGrad ? gradF.data() : nullptr, partial[static_cast<size_t>(worker)]);
    });
    Partial total(C_, D_, wantGrad);
    for (const Partial& p : partial) total.add(p);
    double value = 0.0;
    for (int64_t k = 0; k < C_; ++k) {
      if (!(counts.classified[k] > 0 && counts.centred[k] > 0)) continue;
      value += o_.neighbourClassWeight * total.nce[k] / double(counts.classified[k]) / classes;
      value += o_.centreWeight * total.cn[k] / (double(counts.centred[k]) * double(D_)) / classes;
    }
    if (images > 0) value += o_.contextWeight * total.context / double(images);
    if (wantGrad) writeGrads(*grads, gradF, total);
    return value;
  }

 private:
  // One worker's sums: the terms' values and the classifier's gradient.
  struct Partial {
    Partial(int64_t classes, int64_t channels, bool grad)
        : nce(static_cast<size_t>(classes), 0.0), cn(static_cast<size_t>(classes), 0.0), dW(grad ? static_cast<size_t>(classes * channels) : 0, 0.0),
          db(grad ? static_cast<size_t>(classes) : 0, 0.0) {}
    void add(const Partial& o) {
      for (size_t k = 0; k < nce.size(); ++k) nce[k] += o.nce[k], cn[k] += o.cn[k];
      for (size_t i = 0; i < dW.size(); ++i) dW[i] += o.dW[i];
      for (size_t k = 0; k < db.size(); ++k) db[k] += o.db[k];
      context += o.context;
    }
    std::vector<double> nce, cn, dW, db;
    double context = 0.0;  // Σ over images of the image's mean over its pairs
  };

  void predictions(const T* z) {
    pred_.assign(static_cast<size_t>(B_ * N_), 0);
    for (int64_t b = 0; b < B_; ++b) {
      for (int64_t i = 0; i < N_; ++i) {
        int32_t arg = 0;
        T top = z[b * C_ * N_ + i];
        for (int64_t c = 1; c < C_; ++c) {
          const T v = z[(b * C_ + c) * N_ + i];
          if (v > top) top = v, arg = static_cast<int32_t>(c);
        }
        pred_[static_cast<size_t>(b * N_ + i)] = arg;
      }
    }
  }

  void transposeFeatures(const T* f) {
    feats_.resize(static_cast<size_t>(B_ * N_ * D_));
    norms_.resize(static_cast<size_t>(B_ * N_));
    for (int64_t b = 0; b < B_; ++b) {
      for (int64_t d = 0; d < D_; ++d) {
        const T* row = f + (b * D_ + d) * N_;
        T* out = feats_.data() + b * N_ * D_ + d;
        for (int64_t i = 0; i < N_; ++i) out[i * D_] = row[i];
      }
    }
    for (int64_t j = 0; j < B_ * N_; ++j) {
      double s = 0.0;
      const T* x = feats_.data() + j * D_;
      for (int64_t d = 0; d < D_; ++d) s += double(x[d]) * double(x[d]);
      norms_[static_cast<size_t>(j)] = std::sqrt(s);
    }
  }

  // Calls visit(q, dy, dx) for the in-image pixels of p's 5×5 window, p excluded.
  template <class F>
  void forWindow(int64_t y, int64_t x, F&& visit) const {
    for (int dy = -kHalfWindow; dy <= kHalfWindow; ++dy) {
      const int64_t yy = y + dy;
      if (yy < 0 || yy >= H_) continue;
      for (int dx = -kHalfWindow; dx <= kHalfWindow; ++dx) {
        const int64_t xx = x + dx;
        if ((dy == 0 && dx == 0) || xx < 0 || xx >= W_) continue;
        visit(yy * W_ + xx);
      }
    }
  }

  bool interior(int64_t y, int64_t x) const {
    return y >= kHalfWindow && y < H_ - kHalfWindow && x >= kHalfWindow && x < W_ - kHalfWindow;
  }

  Counts count() const {
    Counts counts;
    counts.classified.assign(static_cast<size_t>(C_), 0);
    counts.centred.assign(static_cast<size_t>(C_), 0);
    counts.pairs.assign(static_cast<size_t>(B_), 0);
    counts.hasAnchors.assign(static_cast<size_t>(B_), 0);
    for (int64_t b = 0; b < B_; ++b) {
      const int32_t* label = labels_.data() + b * N_;
      const int32_t* pred = pred_.data() + b * N_;
      const uint8_t* band = band_.data() + b * N_;
      for (int64_t i = 0; i < N_; ++i) {
        if (!band[i]) continue;
        const int32_t k = label[i];
        int64_t same = 0, correct = 0, pairs = 0;
        forWindow(i / W_, i % W_, [&](int64_t q) {
          same += label[q] == k;
          correct += label[q] == k && pred[q] == k;
          pairs += label[q] >= 0;
        });
        counts.classified[static_cast<size_t>(k)] += same >= 1;
        counts.centred[static_cast<size_t>(k)] += pred[i] == k && correct >= 1;
        if (k > 0) {
          counts.hasAnchors[static_cast<size_t>(b)] = 1;
          if (interior(i / W_, i % W_)) counts.pairs[static_cast<size_t>(b)] += pairs;
        }
      }
    }
    return counts;
  }

  // Image b's contribution to the values and (gradF: [B, N, D] or null) the gradients.
  void image(int64_t b, const Counts& counts, int classes, int64_t images, double scale, T* gradF, Partial& out) const {
    const int32_t* label = labels_.data() + b * N_;
    const int32_t* pred = pred_.data() + b * N_;
    const uint8_t* band = band_.data() + b * N_;
    const T* f = feats_.data() + b * N_ * D_;
    const double* norm = norms_.data() + b * N_;
    T* g = gradF ? gradF + b * N_ * D_ : nullptr;
    const T* weight = static_cast<const T*>(in_.classifierWeight);
    const T* bias = static_cast<const T*>(in_.classifierBias);
    std::vector<double> mean(static_cast<size_t>(D_)), logits(static_cast<size_t>(C_)), gradMean(static_cast<size_t>(D_));
    const int64_t pairs = counts.pairs[static_cast<size_t>(b)];
    const double contextFactor = pairs > 0 && images > 0 ? o_.contextWeight / (double(images) * double(pairs)) : 0.0;
    double context = 0.0;
    for (int64_t i = 0; i < N_; ++i) {
      if (!band[i]) continue;
      const int32_t k = label[i];
      const int64_t y = i / W_, x = i % W_;
      const bool counted = counts.classified[static_cast<size_t>(k)] > 0 && counts.centred[static_cast<size_t>(k)] > 0;
      if (counted) {
        neighbourClassification(i, k, y, x, label, f, weight, bias, counts.classified[static_cast<size_t>(k)], classes, scale, g, mean, logits, gradMean, out);
        if (pred[i] == k) correctCentre(i, k, y, x, label, pred, f, counts.centred[static_cast<size_t>(k)], classes, scale, g, mean, out);
      }
      if (k > 0 && pairs > 0 && interior(y, x)) context += contextPairs(i, k, y, x, label, f, norm, contextFactor * scale, g);
    }
    if (pairs > 0) out.context += context / double(pairs);
  }

  // L_nce of anchor i: CE(W a + b, k), a the mean of its class-k neighbours' features.
  void neighbourClassification(int64_t i, int32_t k, int64_t y, int64_t x, const int32_t* label, const T* f, const T* weight,
                               const T* bias, int64_t anchors, int classes, double scale, T* g, std::vector<double>& mean,
                               std::vector<double>& logits, std::vector<double>& gradMean, Partial& out) const {
    (void)i;
    int64_t n = 0;
    std::fill(mean.begin(), mean.end(), 0.0);
    forWindow(y, x, [&](int64_t q) {
      if (label[q] != k) return;
      ++n;
      const T* fq = f + q * D_;
      for (int64_t d = 0; d < D_; ++d) mean[static_cast<size_t>(d)] += double(fq[d]);
    });
    if (n < 1) return;
    const double divisor = double(n) + kCountEps;
    for (double& m : mean) m /= divisor;
    double top = -INFINITY;
    for (int64_t c = 0; c < C_; ++c) {
      double s = bias ? double(bias[c]) : 0.0;
      const T* wc = weight + c * D_;
      for (int64_t d = 0; d < D_; ++d) s += double(wc[d]) * mean[static_cast<size_t>(d)];
      logits[static_cast<size_t>(c)] = s;
      top = std::max(top, s);
    }
    double sum = 0.0;
    for (int64_t c = 0; c < C_; ++c) sum += std::exp(logits[static_cast<size_t>(c)] - top);
    const double lse = top + std::log(sum);
    out.nce[static_cast<size_t>(k)] += lse - logits[static_cast<size_t>(k)];
    if (!g) return;
    const double factor = scale * o_.neighbourClassWeight / (double(anchors) * classes);
    std::fill(gradMean.begin(), gradMean.end(), 0.0);
    for (int64_t c = 0; c < C_; ++c) {
      const double go = factor * (std::exp(logits[static_cast<size_t>(c)] - lse) - (c == k ? 1.0 : 0.0));  // ∂ / ∂ logit c
      const T* wc = weight + c * D_;
      double* dWc = out.dW.data() + c * D_;
      for (int64_t d = 0; d < D_; ++d) {
        gradMean[static_cast<size_t>(d)] += go * double(wc[d]);
        dWc[d] += go * mean[static_cast<size_t>(d)];
      }
      out.db[static_cast<size_t>(c)] += go;
    }
    forWindow(y, x, [&](int64_t q) {
      if (label[q] != k) return;
      T* gq = g + q * D_;
      for (int64_t d = 0; d < D_; ++d) gq[d] += static_cast<T>(gradMean[static_cast<size_t>(d)] / divisor);
    });
  }

  // L_cn of anchor i (predicted k): mean over d of (f_i − ā)², ā its correct neighbours' mean, constant.
  void correctCentre(int64_t i, int32_t k, int64_t y, int64_t x, const int32_t* label, const int32_t* pred, const T* f,
                     int64_t anchors, int classes, double scale, T* g, std::vector<double>& mean, Partial& out) const {
    int64_t n = 0;
    std::fill(mean.begin(), mean.end(), 0.0);
    forWindow(y, x, [&](int64_t q) {
      if (label[q] != k || pred[q] != k) return;
      ++n;
      const T* fq = f + q * D_;
      for (int64_t d = 0; d < D_; ++d) mean[static_cast<size_t>(d)] += double(fq[d]);
    });
    if (n < 1) return;
    const double divisor = double(n) + kCountEps;
    const T* fi = f + i * D_;
    const double factor = scale * o_.centreWeight * 2.0 / (double(anchors) * double(D_) * classes);
    double sum = 0.0;
    for (int64_t d = 0; d < D_; ++d) {
      const double diff = double(fi[d]) - mean[static_cast<size_t>(d)] / divisor;
      sum += diff * diff;
      if (g) g[i * D_ + d] += static_cast<T>(factor * diff);
    }
    out.cn[static_cast<size_t>(k)] += sum;
  }

  // Σ over anchor i's valid neighbours q of (cos(f_i, f_q) − [y_q = k])²; the gradient of
  // factor · that sum goes to f_i and f_q.
  double contextPairs(int64_t i, int32_t k, int64_t y, int64_t x, const int32_t* label, const T* f, const double* norm,
                      double factor, T* g) const {
    const T* fi = f + i * D_;
    const double ni = std::max(norm[i], kCosEps);
    const bool iClamped = norm[i] < kCosEps;
    double sum = 0.0;
    forWindow(y, x, [&](int64_t q) {
      if (label[q] < 0) return;  // ignored neighbours take no part
      const T* fq = f + q * D_;
      const double nq = std::max(norm[q], kCosEps);
      double dot = 0.0;
      for (int64_t d = 0; d < D_; ++d) dot += double(fi[d]) * double(fq[d]);
      const double cos = dot / (ni * nq);
      const double r = cos - (label[q] == k ? 1.0 : 0.0);
      sum += r * r;
      if (!g) return;
      const double c = 2.0 * r * factor;
      const double ai = iClamped ? 0.0 : cos / (ni * ni), aq = norm[q] < kCosEps ? 0.0 : cos / (nq * nq);
      T* gi = g + i * D_;
      T* gq = g + q * D_;
      for (int64_t d = 0; d < D_; ++d) {
        gi[d] += static_cast<T>(c * (double(fq[d]) / (ni * nq) - ai * double(fi[d])));
        gq[d] += static_cast<T>(c * (double(fi[d]) / (ni * nq) - aq * double(fq[d])));
      }
    });
    return sum;
  }

  void writeGrads(const ConditionalBoundaryGrads& grads, const std::vector<T>& gradF, const Partial& total) const {
    if (grads.logits) std::fill_n(static_cast<T*>(grads.logits), B_ * C_ * N_, T(0));
    if (grads.features) {
      T* out = static_cast<T*>(grads.features);
      for (int64_t b = 0; b < B_; ++b)
        for (int64_t d = 0; d < D_; ++d)
          for (int64_t i = 0; i < N_; ++i) out[(b * D_ + d) * N_ + i] = gradF[static_cast<size_t>((b * N_ + i) * D_ + d)];
    }
    if (grads.classifierWeight) {
      T* out = static_cast<T*>(grads.classifierWeight);
      for (int64_t j = 0; j < C_ * D_; ++j) out[j] = static_cast<T>(total.dW[static_cast<size_t>(j)]);
    }
    if (grads.classifierBias) {
      T* out = static_cast<T*>(grads.classifierBias);
      for (int64_t c = 0; c < C_; ++c) out[c] = static_cast<T>(total.db[static_cast<size_t>(c)]);
    }
  }

  const ConditionalBoundaryInput& in_;
  const ConditionalBoundaryOptions& o_;
  int64_t B_, C_, D_, H_, W_, N_;
  std::vector<int32_t> labels_;  // [B, N], −1 = ignored
  std::vector<int32_t> pred_;    // [B, N] argmax of the logits
  std::vector<uint8_t> band_;    // [B, N]
  std::vector<T> feats_;         // [B, N, D]
  std::vector<double> norms_;    // [B, N] ‖f‖
};

void checkInput(const ConditionalBoundaryInput& in, const ConditionalBoundaryOptions& o) {
  if (const char* problem = o.invalid()) throw LossArgumentError(std::string("conditional-boundary: ") + problem);
  const LossTensors& t = in.tensors;
  if (t.batch <= 0 || t.channels < 1 || in.height <= 0 || in.width <= 0 || in.featureChannels < 1) {
    throw LossArgumentError("conditional-boundary: batch, classes, height, width and feature channels must be positive");
  }
  if (t.pixels != in.height * in.width) throw LossArgumentError("conditional-boundary: pixels is not height · width");
  if (!t.logits || !t.target || !in.features || !in.classifierWeight) {
    throw LossArgumentError("conditional-boundary: logits, target, features and classifier weight must not be null");
  }
}

}  // namespace

void conditionalBoundaryBand(const int32_t* labels, int64_t height, int64_t imageWidth, int64_t width, uint8_t* out) {
  const int64_t n = height * imageWidth;
  std::vector<uint8_t> rowUniform(static_cast<size_t>(n));  // the row window [x − w, x + w] inside and of one label
  std::vector<int64_t> run(static_cast<size_t>(imageWidth));
  for (int64_t y = 0; y < height; ++y) {
    const int32_t* row = labels + y * imageWidth;
    for (int64_t x = 0; x < imageWidth; ++x) run[static_cast<size_t>(x)] = x > 0 && row[x - 1] == row[x] ? run[static_cast<size_t>(x - 1)] + 1 : 0;
    int64_t right = 0;
    for (int64_t x = imageWidth - 1; x >= 0; --x) {
      right = x + 1 < imageWidth && row[x + 1] == row[x] ? right + 1 : 0;
      rowUniform[static_cast<size_t>(y * imageWidth + x)] = x >= width && x + width < imageWidth && run[static_cast<size_t>(x)] >= width && right >= width;
    }
  }
  std::vector<int64_t> up(static_cast<size_t>(n), 0), down(static_cast<size_t>(n), 0);  // rows above / below that are row-uniform of the same label
  for (int64_t y = 1; y < height; ++y)
    for (int64_t x = 0; x < imageWidth; ++x) {
      const int64_t i = y * imageWidth + x, j = i - imageWidth;
      up[static_cast<size_t>(i)] = rowUniform[static_cast<size_t>(j)] && labels[j] == labels[i] ? up[static_cast<size_t>(j)] + 1 : 0;
    }
  for (int64_t y = height - 2; y >= 0; --y)
    for (int64_t x = 0; x < imageWidth; ++x) {
      const int64_t i = y * imageWidth + x, j = i + imageWidth;
      down[static_cast<size_t>(i)] = rowUniform[static_cast<size_t>(j)] && labels[j] == labels[i] ? down[static_cast<size_t>(j)] + 1 : 0;
    }
  for (int64_t i = 0; i < n; ++i) {
    const int64_t y = i / imageWidth;
    const bool inside = rowUniform[static_cast<size_t>(i)] && y >= width && y + width < height && up[static_cast<size_t>(i)] >= width && down[static_cast<size_t>(i)] >= width;
    out[i] = labels[i] >= 0 && !inside;
  }
}

double conditionalBoundaryLossCpu(const ConditionalBoundaryInput& in, const ConditionalBoundaryOptions& o,
                                  const ConditionalBoundaryGrads* grads) {
  checkInput(in, o);
  return dispatchScalar(in.tensors.dtype, [&](auto scalar) {
    using T = decltype(scalar);
    ConditionalBoundary<T> loss(in, o);
    return loss.run(grads);
  });
}

}  // namespace segloss
