// The rmi loss on the CPU (losses/rmi.h): one task per (image plane, class), in parallel on the
// persistent pool; each task pools its plane, accumulates the R²×R² covariances in float64, factors
// them (9×9 Cholesky for R = 3), and writes the plane's gradient. Per-worker scratch: four maps of
// the plane and a few pooled ones (≈ (4 + 4 / stride²) · H·W doubles), nothing of the size of the
// batch.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "dispatch.h"
#include "losses.h"
#include "math.h"
#include "parallel_cpu.h"
#include "vector_kernels.h"

namespace segloss {
namespace {

constexpr double kAlpha = 5e-4;    // _POS_ALPHA: added to the diagonals
constexpr double kClipMin = 1e-6;  // _CLIP_MIN: added to the probabilities
constexpr double kLogEps = 1e-8;   // inside log(diag(chol) + 1e-8)
constexpr int kMaxDim = 100;       // R² for R ≤ 10

// A plane's geometry after pooling and the neighbourhoods.
struct PlaneShape {
  int height = 0, width = 0;    // H, W of the input plane
  int ph = 0, pw = 0;           // pooled plane
  int mh = 0, mw = 0;           // neighbourhood origins: (ph − R + 1) × (pw − R + 1)
  int radius = 3, dim = 9;      // R, R²
  int64_t count() const { return int64_t(mh) * mw; }
};

// Cholesky A = L Lᵀ of a symmetric n×n matrix (row-major, lower triangle read) into l. A pivot
// that rounding made ≤ 0 is replaced by the smallest positive double scale of the matrix, so a
// singular input never throws nor gives NaN.
void cholesky(const double* a, int n, double* l) {
  std::fill(l, l + n * n, 0.0);
  for (int j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (int k = 0; k < j; ++k) d -= l[j * n + k] * l[j * n + k];
    const double ljj = std::sqrt(d > 1e-300 ? d : 1e-300);
    l[j * n + j] = ljj;
    for (int i = j + 1; i < n; ++i) {
      double s = a[i * n + j];
      for (int k = 0; k < j; ++k) s -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = s / ljj;
    }
  }
}

// X = L⁻¹ B (B n×m, row-major), L lower triangular.
void forwardSolve(const double* l, int n, double* b, int m) {
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < i; ++k) {
      const double f = l[i * n + k];
      for (int c = 0; c < m; ++c) b[i * m + c] -= f * b[k * m + c];
    }
    for (int c = 0; c < m; ++c) b[i * m + c] /= l[i * n + i];
  }
}

// X = L⁻ᵀ B.
void backwardSolveTransposed(const double* l, int n, double* b, int m) {
  for (int i = n - 1; i >= 0; --i) {
    for (int k = i + 1; k < n; ++k) {
      const double f = l[k * n + i];
      for (int c = 0; c < m; ++c) b[i * m + c] -= f * b[k * m + c];
    }
    for (int c = 0; c < m; ++c) b[i * m + c] /= l[i * n + i];
  }
}

// Inverse of a symmetric positive definite matrix from its Cholesky factor: A⁻¹ = L⁻ᵀ L⁻¹.
void choleskyInverse(const double* l, int n, double* inv) {
  std::fill(inv, inv + n * n, 0.0);
  for (int i = 0; i < n; ++i) inv[i * n + i] = 1.0;
  forwardSolve(l, n, inv, n);
  backwardSolveTransposed(l, n, inv, n);
}

void matmul(const double* a, const double* b, int n, double* out, bool transposeB = false) {
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      double s = 0.0;
      for (int k = 0; k < n; ++k) s += a[i * n + k] * (transposeB ? b[j * n + k] : b[k * n + j]);
      out[i * n + j] = s;
    }
  }
}

// Pools one plane (src [H, W]) into dst [ph, pw] as the reference (avg: zero padding counted in
// the k² divisor; max: −∞ padding, the first maximum in scan order, its index kept in argmax).
void poolPlane(const double* src, const PlaneShape& s, const RmiOptions& o, double* dst, int32_t* argmax) {
  if (o.poolStride <= 1) {
    std::memcpy(dst, src, sizeof(double) * size_t(s.height) * s.width);
    return;
  }
  const int k = o.poolSize, stride = o.poolStride, pad = o.poolSize / 2;
  const double inv = 1.0 / (double(k) * k);
  for (int py = 0; py < s.ph; ++py) {
    for (int px = 0; px < s.pw; ++px) {
      double acc = o.maxPool ? -std::numeric_limits<double>::infinity() : 0.0;
      int32_t best = -1;
      for (int dy = 0; dy < k; ++dy) {
        const int y = py * stride - pad + dy;
        if (y < 0 || y >= s.height) continue;
        for (int dx = 0; dx < k; ++dx) {
          const int x = px * stride - pad + dx;
          if (x < 0 || x >= s.width) continue;
          const double v = src[y * s.width + x];
          if (!o.maxPool) {
            acc += v;
          } else if (v > acc || best < 0) {
            acc = v;
            best = y * s.width + x;
          }
        }
      }
      dst[py * s.pw + px] = o.maxPool ? acc : acc * inv;
      if (argmax) argmax[py * s.pw + px] = best;
    }
  }
}

// The pooling's backward: dsrc [H, W] += the share of dpooled [ph, pw].
void unpoolPlane(const double* dpooled, const PlaneShape& s, const RmiOptions& o, const int32_t* argmax, double* dsrc) {
  if (o.poolStride <= 1) {
    for (int64_t i = 0; i < int64_t(s.height) * s.width; ++i) dsrc[i] += dpooled[i];
    return;
  }
  const int k = o.poolSize, stride = o.poolStride, pad = o.poolSize / 2;
  const double inv = 1.0 / (double(k) * k);
  for (int py = 0; py < s.ph; ++py) {
    for (int px = 0; px < s.pw; ++px) {
      const double d = dpooled[py * s.pw + px];
      if (o.maxPool) {
        const int32_t at = argmax[py * s.pw + px];
        if (at >= 0) dsrc[at] += d;
        continue;
      }
      for (int dy = 0; dy < k; ++dy) {
        const int y = py * stride - pad + dy;
        if (y < 0 || y >= s.height) continue;
        for (int dx = 0; dx < k; ++dx) {
          const int x = px * stride - pad + dx;
          if (x >= 0 && x < s.width) dsrc[y * s.width + x] += d * inv;
        }
      }
    }
  }
}

// Offsets of the R² neighbourhood entries in a pooled plane, in the reference's order (y, then x).
std::vector<int> neighbourOffsets(const PlaneShape& s) {
  std::vector<int> offsets;
  for (int y = 0; y < s.radius; ++y) {
    for (int x = 0; x < s.radius; ++x) offsets.push_back(y * s.pw + x);
  }
  return offsets;
}

constexpr int kLanes = 8;  // independent partial sums: the row loops vectorise without reassociation

// Σ over the neighbourhood origins of a[m + oa] · b[m + ob].
double shiftedDot(const double* a, int oa, const double* b, int ob, const PlaneShape& s) {
  double lanes[kLanes] = {};
  double tail = 0.0;
  const int body = s.mw / kLanes * kLanes;
  for (int y = 0; y < s.mh; ++y) {
    const double* __restrict ra = a + oa + y * s.pw;
    const double* __restrict rb = b + ob + y * s.pw;
    for (int x0 = 0; x0 < body; x0 += kLanes) {
      for (int l = 0; l < kLanes; ++l) lanes[l] += ra[x0 + l] * rb[x0 + l];
    }
    for (int x = body; x < s.mw; ++x) tail += ra[x] * rb[x];
  }
  double total = tail;
  for (int l = 0; l < kLanes; ++l) total += lanes[l];
  return total;
}

// Σ over the origins of a[m + o].
double shiftedSum(const double* a, int o, const PlaneShape& s) {
  double total = 0.0;
  for (int y = 0; y < s.mh; ++y) {
    const double* __restrict r = a + o + y * s.pw;
    for (int x = 0; x < s.mw; ++x) total += r[x];
  }
  return total;
}

// One plane's RMI term ½ log det(Σ_{Y|P} + αI) and, with dpooled, d term / d pooled p (times
// `scale`) added into dpooled [ph, pw]. y, p: the pooled label and probability maps.
double planeRmi(const double* y, const double* p, const PlaneShape& s, double scale, double* dpooled) {
  const int d = s.dim;
  const double n = double(s.count());
  const std::vector<int> off = neighbourOffsets(s);
  double muY[kMaxDim], muP[kMaxDim];
  for (int i = 0; i < d; ++i) {
    muY[i] = shiftedSum(y, off[i], s) / n;
    muP[i] = shiftedSum(p, off[i], s) / n;
  }
  std::vector<double> yy(d * d), pp(d * d), yp(d * d);
  for (int i = 0; i < d; ++i) {
    for (int j = 0; j < d; ++j) {
      if (j >= i) {
        yy[i * d + j] = yy[j * d + i] = shiftedDot(y, off[i], y, off[j], s) - n * muY[i] * muY[j];
        pp[i * d + j] = pp[j * d + i] = shiftedDot(p, off[i], p, off[j], s) - n * muP[i] * muP[j];
      }
      yp[i * d + j] = shiftedDot(y, off[i], p, off[j], s) - n * muY[i] * muP[j];
    }
  }
  // A = Σ_P + αI; K = Σ_YP A⁻¹; Σ = Σ_Y − K Σ_YPᵀ + αI.
  std::vector<double> a(pp), la(d * d), ainv(d * d), k(d * d), kb(d * d), sigma(d * d), ls(d * d);
  for (int i = 0; i < d; ++i) a[i * d + i] += kAlpha;
  cholesky(a.data(), d, la.data());
  choleskyInverse(la.data(), d, ainv.data());
  matmul(yp.data(), ainv.data(), d, k.data());
  matmul(k.data(), yp.data(), d, kb.data(), /*transposeB=*/true);
  for (int i = 0; i < d; ++i) {
    for (int j = 0; j < d; ++j) sigma[i * d + j] = yy[i * d + j] - 0.5 * (kb[i * d + j] + kb[j * d + i]);
    sigma[i * d + i] += kAlpha;
  }
  cholesky(sigma.data(), d, ls.data());
  double value = 0.0;  // ½ · 2 Σ log(l_ii + 1e-8)
  for (int i = 0; i < d; ++i) value += std::log(ls[i * d + i] + kLogEps);
  if (!dpooled) return value;

  // S = ½ L⁻ᵀ diag(w) L⁻¹, w_i = l_ii / (l_ii + 1e-8): d value / d Σ.
  std::vector<double> linv(d * d, 0.0), sm(d * d), w1(d * d), w2(d * d), ks(d * d);
  for (int i = 0; i < d; ++i) linv[i * d + i] = 1.0;
  forwardSolve(ls.data(), d, linv.data(), d);  // L⁻¹
  for (int i = 0; i < d; ++i) {
    for (int j = 0; j < d; ++j) {
      double t = 0.0;
      for (int q = 0; q < d; ++q) t += linv[q * d + i] * (ls[q * d + q] / (ls[q * d + q] + kLogEps)) * linv[q * d + j];
      sm[i * d + j] = 0.5 * t;
    }
  }
  // W2 = 2 Kᵀ S, W1 = W2 K: d value / d P = W1 P − W2 Y (centred vectors).
  for (int i = 0; i < d; ++i) {
    for (int j = 0; j < d; ++j) {
      double t = 0.0;
      for (int q = 0; q < d; ++q) t += k[q * d + i] * sm[q * d + j];
      ks[i * d + j] = 2.0 * t;
    }
  }
  matmul(ks.data(), k.data(), d, w1.data());
  w2 = ks;
  for (int i = 0; i < d; ++i) {
    double centre = 0.0;  // Σ_j W1_ij μP_j − W2_ij μY_j
    for (int j = 0; j < d; ++j) centre += w1[i * d + j] * muP[j] - w2[i * d + j] * muY[j];
    for (int yy0 = 0; yy0 < s.mh; ++yy0) {
      double* __restrict out = dpooled + off[i] + yy0 * s.pw;
      for (int j = 0; j < d; ++j) {
        const double c1 = scale * w1[i * d + j], c2 = scale * w2[i * d + j];
        const double* __restrict rp = p + off[j] + yy0 * s.pw;
        const double* __restrict ry = y + off[j] + yy0 * s.pw;
        for (int x = 0; x < s.mw; ++x) out[x] += c1 * rp[x] - c2 * ry[x];
      }
      const double c0 = scale * centre;
      for (int x = 0; x < s.mw; ++x) out[x] -= c0;
    }
  }
  return value;
}

// Per-worker buffers of one plane.
struct PlaneScratch {
  std::vector<double> sigmoid, prob, label, pooledP, pooledY, dpooled, dprob;
  std::vector<int32_t> argmax;
  std::vector<double> activation;  // [2, H, W] of the logits' type: σ(z) and log(1 + e^−|z|) (sigmoidSoftplusCpu)
  void size(const PlaneShape& s) {
    const size_t plane = size_t(s.height) * s.width, pooled = size_t(s.ph) * s.pw;
    activation.resize(2 * plane);
    sigmoid.resize(plane);
    prob.resize(plane);
    label.resize(plane);
    dprob.resize(plane);
    pooledP.resize(pooled);
    pooledY.resize(pooled);
    dpooled.resize(pooled);
    argmax.resize(pooled);
  }
};

template <typename T, typename L>
struct RmiJob {
  const T* logits;  // [B, C, N]
  const L* target;  // [B, N]
  const LossTensors* tensors;
  const RmiOptions* options;
  PlaneShape shape;
  int64_t planesPerImage;  // D (slices)
  double validCount;       // valid pixels of the batch
  T* grad;                 // [B, C, N] or null
  T gradScale;
  bool accumulate;
};

template <typename T, typename L>
bool isValid(const RmiJob<T, L>& job, L label) {
  return !(job.tensors->hasIgnore && static_cast<int64_t>(label) == job.tensors->ignoreIndex);
}

// One (image b, slice, class c) task: its BCE sum, its RMI term, and (with grad) its gradient.
template <typename T, typename L>
void runPlane(const RmiJob<T, L>& job, int64_t task, PlaneScratch& sc, double* bce, double* rmi) {
  const LossTensors& t = *job.tensors;
  const int64_t channels = t.channels;
  const int64_t planeSize = int64_t(job.shape.height) * job.shape.width;
  const int64_t c = task % channels;
  const int64_t slice = (task / channels) % job.planesPerImage;
  const int64_t b = task / (channels * job.planesPerImage);
  const T* z = job.logits + (b * channels + c) * t.pixels + slice * planeSize;
  const L* labels = job.target + b * t.pixels + slice * planeSize;
  const RmiOptions& o = *job.options;
  // σ(z) and log(1 + e^−|z|) in the logits' type, vectorised (float) by the engine's kernels
  T* sigmoidRow = reinterpret_cast<T*>(sc.activation.data());
  T* softplusRow = sigmoidRow + planeSize;
  sigmoidSoftplusCpu(z, planeSize, sigmoidRow, softplusRow);
  double bceSum = 0.0;
  for (int64_t i = 0; i < planeSize; ++i) {
    const bool valid = isValid(job, labels[i]);
    const double zi = static_cast<double>(z[i]);
    const double g = valid && static_cast<int64_t>(labels[i]) == c ? 1.0 : 0.0;
    const double sig = static_cast<double>(sigmoidRow[i]);
    sc.sigmoid[i] = sig;
    sc.prob[i] = (valid ? sig : 0.0) + kClipMin;
    sc.label[i] = g;
    if (valid) bceSum += (zi > 0.0 ? zi : 0.0) + static_cast<double>(softplusRow[i]) - zi * g;  // BCE with logits: max(z, 0) − z g + log(1 + e^−|z|)
  }
  *bce = bceSum;
  poolPlane(sc.prob.data(), job.shape, o, sc.pooledP.data(), o.maxPool ? sc.argmax.data() : nullptr);
  poolPlane(sc.label.data(), job.shape, o, sc.pooledY.data(), nullptr);
  const double planes = static_cast<double>(t.batch * job.planesPerImage);
  const double rmiScale = (1.0 - o.lambda) / (planes * job.shape.dim);
  double* dpooled = nullptr;
  if (job.grad) {
    std::fill(sc.dpooled.begin(), sc.dpooled.end(), 0.0);
    dpooled = sc.dpooled.data();
  }
  *rmi = planeRmi(sc.pooledY.data(), sc.pooledP.data(), job.shape, rmiScale, dpooled);
  if (!job.grad) return;
  std::fill(sc.dprob.begin(), sc.dprob.end(), 0.0);
  unpoolPlane(sc.dpooled.data(), job.shape, o, sc.argmax.data(), sc.dprob.data());
  const double bceScale = o.lambda / (job.validCount + 1.0);
  T* out = job.grad + (b * channels + c) * t.pixels + slice * planeSize;
  for (int64_t i = 0; i < planeSize; ++i) {
    const bool valid = isValid(job, labels[i]);
    const double sig = sc.sigmoid[i];
    const double dz = valid ? sc.dprob[i] * sig * (1.0 - sig) + bceScale * (sig - sc.label[i]) : 0.0;
    const T v = static_cast<T>(job.gradScale * dz);
    out[i] = job.accumulate ? out[i] + v : v;
  }
}

template <typename T, typename L>
double runRmi(const LossTensors& t, const RmiOptions& o, const PlaneShape& shape, const LossGradient* grad) {
  RmiJob<T, L> job{static_cast<const T*>(t.logits), static_cast<const L*>(t.target), &t, &o, shape,
                   t.pixels / (int64_t(shape.height) * shape.width), 0.0,
                   grad ? static_cast<T*>(grad->data) : nullptr, grad ? static_cast<T>(grad->scale) : T(1),
                   grad && grad->accumulate};
  int64_t valid = 0;
  for (int64_t j = 0; j < t.batch * t.pixels; ++j) valid += isValid(job, job.target[j]);
  job.validCount = static_cast<double>(valid);
  if (valid == 0) {  // every pixel ignored: value 0 and a zero gradient (the reference returns a constant)
    if (job.grad && !job.accumulate) std::fill(job.grad, job.grad + t.batch * t.channels * t.pixels, T(0));
    return 0.0;
  }
  const int64_t tasks = t.batch * job.planesPerImage * t.channels;
  std::vector<double> bce(tasks), rmi(tasks);
  const int workers = workersFor(tasks, int64_t(shape.height) * shape.width * 64);
  parallelRanges(tasks, workers, [&](int, int64_t begin, int64_t end) {
    PlaneScratch scratch;
    scratch.size(shape);
    for (int64_t k = begin; k < end; ++k) runPlane(job, k, scratch, &bce[k], &rmi[k]);
  });
  double bceTotal = 0.0, rmiTotal = 0.0;
  for (int64_t k = 0; k < tasks; ++k) {
    bceTotal += bce[k];
    rmiTotal += rmi[k];
  }
  const double planes = static_cast<double>(t.batch * job.planesPerImage);
  return o.lambda * bceTotal / (job.validCount + 1.0) + (1.0 - o.lambda) * rmiTotal / (planes * shape.dim);
}

// The plane geometry of a request, or a LossArgumentError saying why it does not fit.
PlaneShape planeShape(const LossTensors& t, const RmiOptions& o) {
  if (o.height <= 0 || o.width <= 0) throw LossArgumentError("rmi: the plane's height and width are not set");
  const int64_t plane = int64_t(o.height) * o.width;
  if (t.pixels % plane != 0) throw LossArgumentError("rmi: height × width does not divide the pixels per image");
  PlaneShape s;
  s.height = o.height;
  s.width = o.width;
  s.ph = o.pooledSize(o.height);
  s.pw = o.pooledSize(o.width);
  s.radius = o.radius;
  s.dim = o.radius * o.radius;
  s.mh = s.ph - o.radius + 1;
  s.mw = s.pw - o.radius + 1;
  if (s.mh < 1 || s.mw < 1) {
    throw LossArgumentError("rmi: the pooled plane " + std::to_string(s.ph) + "×" + std::to_string(s.pw) +
                            " is smaller than the radius " + std::to_string(o.radius));
  }
  return s;
}

}  // namespace

double RmiLoss::runCpu(const LossTensors& t, const LossGradient* grad) const {
  if (t.activation != Activation::Sigmoid || t.channels < 2) {
    throw LossArgumentError("rmi needs the sigmoid activation and C ≥ 2 channels (one per class)");
  }
  const PlaneShape shape = planeShape(t, options);
  if (const int64_t at = findInvalidLabel(t); at >= 0) {
    throw LossArgumentError("label outside [0, K) at flat index " + std::to_string(at));
  }
  if (const int64_t at = findNonFiniteLogit(t); at >= 0) {
    throw LossArgumentError("non-finite logit at flat index " + std::to_string(at));
  }
  return dispatchScalar(t.dtype, [&](auto scalar) {
    using T = decltype(scalar);
    return dispatchLabel(t.labelType, [&](auto label) {
      using L = decltype(label);
      return runRmi<T, L>(t, options, shape, grad);
    });
  });
}

}  // namespace segloss
