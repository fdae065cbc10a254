// inverseform (inverse_form.h): cross-entropy, balanced edge BCE and the InverseForm distance
// with one fused gradient.
#include "inverse_form.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "../dispatch.h"
#include "inverse_form_net.h"

namespace segloss {
namespace {

constexpr double kNormEps = 1e-6;
using Net = InverseFormNet;
constexpr int kT = Net::kTile;

std::vector<int32_t> labelsOf(const LossTensors& t, int64_t classes) {
  std::vector<int32_t> out(static_cast<size_t>(t.batch * t.pixels));
  dispatchLabel(t.labelType, [&](auto label) {
    using L = decltype(label);
    const L* target = static_cast<const L*>(t.target);
    for (size_t j = 0; j < out.size(); ++j) {
      const int64_t v = static_cast<int64_t>(target[j]);
      if (t.hasIgnore && v == t.ignoreIndex) out[j] = -1;
      else if (v < 0 || v >= classes) throw LossArgumentError("label outside [0, K) at flat index " + std::to_string(j));
      else out[j] = static_cast<int32_t>(v);
    }
  });
  return out;
}

template <typename T>
class InverseForm {
 public:
  InverseForm(const InverseFormInput& in, const InverseFormOptions& o)
      : in_(in), o_(o), B_(in.tensors.batch), K_(in.tensors.channels - 1), H_(in.height), W_(in.width), N_(in.height * in.width) {
    labels_ = labelsOf(in.tensors, K_);
    const T* z = static_cast<const T*>(in.tensors.logits);
    for (int64_t i = 0; i < B_ * (K_ + 1) * N_; ++i) {
      if (!std::isfinite(z[i])) throw LossArgumentError("non-finite logit at flat index " + std::to_string(i));
    }
    edges_.assign(static_cast<size_t>(B_ * N_), 0);
    for (int64_t b = 0; b < B_; ++b) inverseFormEdgeMap(labels_.data() + b * N_, H_, W_, edges_.data() + b * N_);
    for (const int32_t v : labels_) valid_ += v >= 0;
    params_.assign(in.network, in.network + Net::kParameterCount);
    tilesY_ = (H_ + kT - 1) / kT;
    tilesX_ = (W_ + kT - 1) / kT;
  }

  double run(const LossGradient* grad) {
    T* g = grad ? static_cast<T*>(grad->data) : nullptr;
    if (g) std::fill(g, g + B_ * (K_ + 1) * N_, T(0));
    if (valid_ == 0) return 0.0;
    const double scale = grad ? grad->scale : 1.0;
    double value = 0.0;
    if (o_.segmentationWeight > 0) value += o_.segmentationWeight * crossEntropy(g, scale * o_.segmentationWeight);
    if (o_.edgeWeight > 0) value += o_.edgeWeight * balancedEdgeBce(g, scale * o_.edgeWeight);
    if (o_.inverseFormWeight > 0) value += o_.inverseFormWeight * inverseFormDistance(g, scale * o_.inverseFormWeight);
    return value;
  }

 private:
  const T* logit(int64_t b, int64_t c) const { return static_cast<const T*>(in_.tensors.logits) + (b * (K_ + 1) + c) * N_; }

  // Mean over valid pixels of −log softmax(z_0..K−1)_y; adds factor · ∂ into g.
  double crossEntropy(T* g, double factor) const {
    double sum = 0.0;
    const double inv = 1.0 / double(valid_);
    std::vector<double> p(static_cast<size_t>(K_));
    for (int64_t b = 0; b < B_; ++b) {
      for (int64_t i = 0; i < N_; ++i) {
        const int32_t y = labels_[static_cast<size_t>(b * N_ + i)];
        if (y < 0) continue;
        double top = -INFINITY;
        for (int64_t c = 0; c < K_; ++c) top = std::max(top, double(logit(b, c)[i]));
        double s = 0.0;
        for (int64_t c = 0; c < K_; ++c) s += (p[static_cast<size_t>(c)] = std::exp(double(logit(b, c)[i]) - top));
        sum += std::log(s) + top - double(logit(b, y)[i]);
        if (!g) continue;
        for (int64_t c = 0; c < K_; ++c) {
          g[(b * (K_ + 1) + c) * N_ + i] += static_cast<T>(factor * inv * (p[static_cast<size_t>(c)] / s - (c == y ? 1.0 : 0.0)));
        }
      }
    }
    return sum * inv;
  }

  // Class-balanced BCE with logits of the edge channel against the target's edges (valid pixels).
  double balancedEdgeBce(T* g, double factor) const {
    int64_t positive = 0;
    for (size_t j = 0; j < edges_.size(); ++j) positive += labels_[j] >= 0 && edges_[j];
    const double wPos = double(valid_ - positive) / double(valid_), wNeg = double(positive) / double(valid_);
    const double inv = 1.0 / double(valid_);
    double sum = 0.0;
    for (int64_t b = 0; b < B_; ++b) {
      const T* e = logit(b, K_);
      for (int64_t i = 0; i < N_; ++i) {
        if (labels_[static_cast<size_t>(b * N_ + i)] < 0) continue;
        const double z = double(e[i]), y = edges_[static_cast<size_t>(b * N_ + i)] ? 1.0 : 0.0, w = y > 0 ? wPos : wNeg;
        const double a = std::exp(-std::fabs(z));
        sum += w * (std::max(z, 0.0) - z * y + std::log1p(a));
        const double sigma = z >= 0 ? 1.0 / (1.0 + a) : a / (1.0 + a);
        if (g) g[(b * (K_ + 1) + K_) * N_ + i] += static_cast<T>(factor * inv * w * (sigma - y));
      }
    }
    return sum * inv;
  }

  // Tile t of image b into x[2, 32, 32]: channel 0 from `first` (σ(e), or the target's edges),
  // channel 1 the target's edges; 0 at ignored and padded pixels.
  void tile(int64_t b, int64_t ty, int64_t tx, bool predicted, T* x) const {
    std::fill(x, x + 2 * kT * kT, T(0));
    const T* e = logit(b, K_);
    for (int y = 0; y < kT; ++y) {
      const int64_t yy = ty * kT + y;
      if (yy >= H_) break;
      for (int xq = 0; xq < kT; ++xq) {
        const int64_t xx = tx * kT + xq;
        if (xx >= W_) break;
        const int64_t i = yy * W_ + xx;
        if (labels_[static_cast<size_t>(b * N_ + i)] < 0) continue;
        const T edge = edges_[static_cast<size_t>(b * N_ + i)] ? T(1) : T(0);
        x[y * kT + xq] = predicted ? T(1) / (T(1) + std::exp(-e[i])) : edge;
        x[kT * kT + y * kT + xq] = edge;
      }
    }
  }

  // Mean over tiles of ‖N(p, g) − N(g, g)‖_ε; adds factor · ∂ / ∂e into g.
  double inverseFormDistance(T* g, double factor) const {
    const int64_t perImage = tilesY_ * tilesX_, tiles = B_ * perImage;
    const size_t tileSize = static_cast<size_t>(2) * kT * kT;
    std::vector<T> xp(static_cast<size_t>(tiles) * tileSize), xg(static_cast<size_t>(tiles) * tileSize);
    for (int64_t b = 0; b < B_; ++b)
      for (int64_t t = 0; t < perImage; ++t) {
        tile(b, t / tilesX_, t % tilesX_, true, xp.data() + static_cast<size_t>(b * perImage + t) * tileSize);
        tile(b, t / tilesX_, t % tilesX_, false, xg.data() + static_cast<size_t>(b * perImage + t) * tileSize);
      }
    std::vector<T> yp(static_cast<size_t>(tiles) * Net::kOutputs), yg(static_cast<size_t>(tiles) * Net::kOutputs);
    Net::Activations<T> act;
    Net::forward(params_.data(), xp.data(), tiles, yp.data(), g ? &act : static_cast<Net::Activations<T>*>(nullptr));
    Net::forward(params_.data(), xg.data(), tiles, yg.data(), static_cast<Net::Activations<T>*>(nullptr));
    std::vector<T> dy(static_cast<size_t>(tiles) * Net::kOutputs);
    double sum = 0.0;
    for (int64_t t = 0; t < tiles; ++t) {
      double squares = 0.0;
      for (int k = 0; k < Net::kOutputs; ++k) {
        const double d = double(yp[static_cast<size_t>(t * Net::kOutputs + k)]) - double(yg[static_cast<size_t>(t * Net::kOutputs + k)]);
        squares += d * d;
      }
      const double norm = std::sqrt(squares + kNormEps * kNormEps);
      sum += norm - kNormEps;
      for (int k = 0; k < Net::kOutputs; ++k) {
        const double d = double(yp[static_cast<size_t>(t * Net::kOutputs + k)]) - double(yg[static_cast<size_t>(t * Net::kOutputs + k)]);
        dy[static_cast<size_t>(t * Net::kOutputs + k)] = static_cast<T>(factor * d / (norm * double(tiles)));
      }
    }
    if (g) {
      std::vector<T> dx(static_cast<size_t>(tiles) * tileSize);
      Net::backward(params_.data(), xp.data(), tiles, act, dy.data(), dx.data(), static_cast<T*>(nullptr));
      for (int64_t b = 0; b < B_; ++b)
        for (int64_t t = 0; t < perImage; ++t) {
          const T* d = dx.data() + static_cast<size_t>(b * perImage + t) * tileSize;  // channel 0: ∂ / ∂p
          const T* x = xp.data() + static_cast<size_t>(b * perImage + t) * tileSize;
          for (int y = 0; y < kT; ++y) {
            const int64_t yy = (t / tilesX_) * kT + y;
            if (yy >= H_) break;
            for (int xq = 0; xq < kT; ++xq) {
              const int64_t xx = (t % tilesX_) * kT + xq;
              if (xx >= W_) break;
              const int64_t i = yy * W_ + xx;
              if (labels_[static_cast<size_t>(b * N_ + i)] < 0) continue;
              const T p = x[y * kT + xq];
              g[(b * (K_ + 1) + K_) * N_ + i] += d[y * kT + xq] * p * (T(1) - p);
            }
          }
        }
    }
    return sum / double(tiles);
  }

  const InverseFormInput& in_;
  const InverseFormOptions& o_;
  int64_t B_, K_, H_, W_, N_;
  int64_t valid_ = 0, tilesY_ = 0, tilesX_ = 0;
  std::vector<int32_t> labels_;  // [B, N], −1 = ignored
  std::vector<uint8_t> edges_;   // [B, N]
  std::vector<T> params_;        // the network's parameters in T
};

}  // namespace

void inverseFormEdgeMap(const int32_t* labels, int64_t height, int64_t width, uint8_t* edges) {
  for (int64_t y = 0; y < height; ++y) {
    for (int64_t x = 0; x < width; ++x) {
      const int32_t v = labels[y * width + x];
      bool edge = false;
      for (int64_t dy = -1; dy <= 1 && v >= 0; ++dy) {
        for (int64_t dx = -1; dx <= 1; ++dx) {
          const int64_t yy = y + dy, xx = x + dx;
          if (yy < 0 || xx < 0 || yy >= height || xx >= width) continue;
          const int32_t u = labels[yy * width + xx];
          edge |= u >= 0 && u != v;
        }
      }
      edges[y * width + x] = edge;
    }
  }
}

double inverseFormLossCpu(const InverseFormInput& in, const InverseFormOptions& o, const LossGradient* grad) {
  if (const char* problem = o.invalid()) throw LossArgumentError(std::string("inverseform: ") + problem);
  const LossTensors& t = in.tensors;
  if (t.batch <= 0 || t.channels < 3 || in.height <= 0 || in.width <= 0 || t.pixels != in.height * in.width) {
    throw LossArgumentError("inverseform: logits must be [B, C + 1, H, W] with C ≥ 2");
  }
  if (!t.logits || !t.target || !in.network) throw LossArgumentError("inverseform: logits, target and network must not be null");
  return dispatchScalar(t.dtype, [&](auto scalar) {
    using T = decltype(scalar);
    InverseForm<T> loss(in, o);
    return loss.run(grad);
  });
}

}  // namespace segloss
