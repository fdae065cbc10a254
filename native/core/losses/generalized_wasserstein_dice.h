// generalized-wasserstein-dice (spec 7, Fidon et al. 2017): with a distance matrix M between the
// classes (K×K, symmetric, ≥ 0, zero diagonal, max 1; class 0 is the background), per pixel
//   W_i = Σ_c M[t_i, c] p_ic                       (the Wasserstein distance of p_i to the label)
// and per image b, over its valid pixels,
//   TP = Σ_i α_{t_i} (1 − W_i),   loss_b = 1 − (2 TP + ε) / (D + ε),   ε = 2⁻⁵²,
//   default: α = 0 for the background, 1 otherwise; D = 2 TP + Σ_i W_i
//   gdl:     α_a = 1 / (G_a + 1) (G_a the image's pixels of class a);  D = Σ_i α_{t_i} (2 − W_i)
// and the value is the mean over images. Reference: LucasFidon/GeneralizedWassersteinDiceLoss
// (per image; MONAI ≤ 1.5 mixes the batch items, which we do not copy).
//
// Confusion family (confusion_moments.h): W only enters through the per-image confusion moments
// C[a][c] = Σ_{i: t_i = a} p_ic, since Σ_{i: t_i = a} W_i = S_a = Σ_c M[a, c] C[a][c]; the head
// returns d value / d C[a][c] = M[a, c] · d value / d S_a, and a pixel of class a gets the row
// d value / d p_ic = M[a, c] · d value / d S_a.
// An empty matrix means M[a, c] = [a ≠ c] (every pair of distinct classes at distance 1).
//
// With that M and probabilities that sum to 1 at every pixel (softmax, the C = 1 forms), no
// confusion moment is needed: S_a = Σ_{i: t_i = a} (1 − p_ia) = G_a − PG_a, a region moment. The
// gradient d value / d p_ic = [c ≠ a] · d value / d S_a is then −[c = a] · d value / d S_a plus a
// constant over the pixel's classes, which Σ_c p_ic = 1 makes vanish in the logits' gradient; so
// the head puts −d value / d S_a on PG_a and the engine runs no confusion pass (needsConfusion).
// A matrix given equal to 1 − I is treated as the empty one.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../confusion_moments.h"
#include "../host_device.h"
#include "../loss_family.h"
#include "../option_fields.h"
#include "../region_moments.h"

namespace segloss {

// K of a row-major K×K matrix of m.size() entries, or 0 when the size is not a square.
inline size_t squareMatrixOrder(const std::vector<double>& m) {
  const size_t k = static_cast<size_t>(std::llround(std::sqrt(static_cast<double>(m.size()))));
  return k * k == m.size() ? k : 0;
}

struct GeneralizedWassersteinDiceOptions {
  DoubleArray distanceMatrix;  // [K, K] row-major M (symmetric, ≥ 0, zero diagonal, max 1); empty: M = 1 − I
  bool gdlWeighting = false;   // α_a = 1 / (G_a + 1) and the GDL denominator (Tilborghs et al. 2020)

  static constexpr auto fields() {
    return std::tuple{optionField("distanceMatrix", &GeneralizedWassersteinDiceOptions::distanceMatrix, kPerClassPair),
                      optionField("gdlWeighting", &GeneralizedWassersteinDiceOptions::gdlWeighting)};
  }
  // The broken invariant, or nullptr (the length, K·K, is checked by the generic array check).
  const char* invalid() const {
    const std::vector<double>& m = distanceMatrix.values;
    if (m.empty()) return nullptr;
    const size_t k = squareMatrixOrder(m);
    if (k == 0) return "distanceMatrix is not square";
    double largest = 0.0;
    for (size_t a = 0; a < k; ++a) {
      if (m[a * k + a] != 0.0) return "distanceMatrix has a non-zero diagonal entry";
      for (size_t c = 0; c < k; ++c) {
        const double v = m[a * k + c];
        if (!(v >= 0.0) || !std::isfinite(v)) return "distanceMatrix has an entry that is negative or not finite";
        if (v != m[c * k + a]) return "distanceMatrix is not symmetric";
        largest = v > largest ? v : largest;
      }
    }
    if (largest != 1.0) return "distanceMatrix is not scaled to a maximum of 1";
    return nullptr;
  }
};

struct GeneralizedWassersteinDiceLoss {
  static constexpr LossFamily kFamily = LossFamily::Confusion;
  static constexpr const char* kId = "generalized-wasserstein-dice";
  using Options = GeneralizedWassersteinDiceOptions;
  static constexpr double kEpsilon = 2.220446049250313e-16;  // numpy.spacing(1), as the reference
  bool gdlWeighting = false;
  const double* distance = nullptr;  // [K, K] M, or nullptr for 1 − I

  GeneralizedWassersteinDiceLoss() = default;
  GeneralizedWassersteinDiceLoss(const Options& o, const LossContext& context)
      : gdlWeighting(o.gdlWeighting),
        distance(isOffDiagonalOnes(o.distanceMatrix.values) ? nullptr : context.bind(o.distanceMatrix)) {}

  SEGLOSS_HD MomentMask moments() const { return momentBit(kMomentG) | momentBit(kMomentPG); }

  // Whether the head needs the confusion moments: for M ≠ 1 − I, or probabilities that do not
  // sum to 1 (`normalized` false); otherwise it reads S_a from G_a − PG_a (see the top).
  SEGLOSS_HD bool needsConfusion(bool normalized) const { return distance != nullptr || !normalized; }

  SEGLOSS_HD double distanceAt(int a, int c, int classes) const {
    return distance ? distance[a * classes + c] : (a == c ? 0.0 : 1.0);
  }

  // moments, dmoments: [B, K, kMomentCount] (reads G, and PG without confusion); confusion,
  // dconfusion: [B, K, K] (dconfusion arrives zeroed), or nullptr where needsConfusion is false
  // (then the gradient goes to dmoments' PG). Returns the mean over images of loss_b.
  SEGLOSS_HD double head(const double* moments, double* dmoments, const double* confusion, double* dconfusion,
                         int64_t batch, int classes) const {
    double value = 0.0;
    const double perImage = 1.0 / static_cast<double>(batch);
    for (int64_t b = 0; b < batch; ++b) {
      const double* conf = confusion ? confusion + b * classes * classes : nullptr;
      double* dconf = confusion ? dconfusion + b * classes * classes : nullptr;
      // TP = Σ_a α_a (G_a − S_a); D = 2 TP + Σ_a S_a (default) or Σ_a α_a (2 G_a − S_a) (gdl).
      double tp = 0.0, wsum = 0.0, gdlDen = 0.0;
      for (int a = 0; a < classes; ++a) {
        const double* m = moments + (b * classes + a) * kMomentCount;
        const double G = m[kMomentG];
        const double S = conf ? classDistanceSum(conf, a, classes) : G - m[kMomentPG];
        const double alpha = weightOf(a, G);
        tp += alpha * (G - S);
        wsum += S;
        gdlDen += alpha * (2.0 * G - S);
      }
      const double num = 2.0 * tp + kEpsilon;
      const double den = (gdlWeighting ? gdlDen : 2.0 * tp + wsum) + kEpsilon;
      const double ratio = num / den;
      value += perImage * (1.0 - ratio);
      // d loss_b / d S_a = −(d num / d S_a − ratio · d den / d S_a) / den.
      for (int a = 0; a < classes; ++a) {
        const double alpha = weightOf(a, moments[(b * classes + a) * kMomentCount + kMomentG]);
        const double dden = gdlWeighting ? -alpha : 1.0 - 2.0 * alpha;
        const double dS = perImage * (2.0 * alpha + ratio * dden) / den;
        if (!conf) {
          dmoments[(b * classes + a) * kMomentCount + kMomentPG] = -dS;
          continue;
        }
        for (int c = 0; c < classes; ++c) dconf[a * classes + c] = dS * distanceAt(a, c, classes);
      }
    }
    return value;
  }

 private:
  // Whether m (row-major K×K) is 1 − I: zero diagonal, ones elsewhere.
  static bool isOffDiagonalOnes(const std::vector<double>& m) {
    const size_t k = squareMatrixOrder(m);
    if (k == 0) return false;
    for (size_t i = 0; i < m.size(); ++i) {
      if (m[i] != (i / k == i % k ? 0.0 : 1.0)) return false;
    }
    return true;
  }

  // α_a: the background weighs 0 and the other classes 1, or 1 / (G_a + 1) with gdl weighting.
  SEGLOSS_HD double weightOf(int a, double G) const {
    if (gdlWeighting) return 1.0 / (G + 1.0);
    return a == 0 ? 0.0 : 1.0;
  }
  // S_a = Σ_c M[a, c] C[a][c], the sum of W over the image's pixels of class a.
  SEGLOSS_HD double classDistanceSum(const double* conf, int a, int classes) const {
    double s = 0.0;
    for (int c = 0; c < classes; ++c) s += distanceAt(a, c, classes) * conf[a * classes + c];
    return s;
  }
};

}  // namespace segloss
