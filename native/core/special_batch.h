// What a special loss (LossFamily::Special: Lovász's sort, TopK's selection …) reads and writes.
// The engine's first pass activates every pixel once for all terms and stores the batch's
// probabilities (and, when a term asks, log-probabilities) and labels; the loss then computes its
// value and adds d value / d p per (image, class, pixel), or u = p_t · d value / d p_t of the true
// class only; the engine's gradient pass turns them (u_c = p_c · d value / d p_c + [c = t] · u_t),
// summed over the terms, into d value / d logits with the activation's Jacobian (tile_kernels_cpu.h).
//
// A special functor provides:
//   static constexpr LossFamily kFamily = LossFamily::Special;
//   SpecialNeeds needs() const;                          // which buffers it reads and writes
//   template <typename T>
//   double run(const ActivatedBatch<T>& in, const SpecialGrad<T>& grad, double factor) const;
//     // returns the value; with a gradient (grad.trueU != nullptr) adds factor · ∂value/∂p to
//     // grad.dprob [B, K, N] (when needs().dprob), factor · p · ∂value/∂p to grad.u [B, K, N]
//     // (when needs().u: for terms whose ∂value/∂p is unbounded where p saturates but whose
//     // u is not), and/or factor · p_t · ∂value/∂p_t of the true class to grad.trueU [B, N]
// run is called only when the batch has a valid pixel (else the value is 0 and u untouched).
// Only the buffers some term of the objective needs are allocated (TopK: [B, N] ones only).
// A term whose value also has a part written on the region moments (region_moments.h: the Dice of
// combo and exp-log) declares them as a region loss does,
//   MomentMask moments() const;
// reads them (summed by the engine's Statistics pass, shared with the region terms) from
// ActivatedBatch::moments and adds factor · d value / d moments to SpecialGrad::dmoments; the
// engine folds those into the region terms' per-(image, class) gradient coefficients, so that part
// needs no pass of its own over the pixels.
// A term with a per-pixel part that reads only the pixel's own activation (combo's weighted
// cross-entropy over every class) computes it inside the engine's tile passes instead of from
// stored [B, K, N] arrays: it declares
//   static constexpr bool kTilePart = true;      // and kTileLogProb: whether it reads log p rows
//   template <class Math, typename T>
//   double tileTerm(const SpecialTileRows<T>& rows, int classes, int n, bool normalized, bool values,
//                   T* u, T uScale) const;
//     // the tile's Σ of its per-pixel values (when `values`); with u ([K][stride]), u += uScale · its
//     // p · ∂/∂p; Math::exp / Math::log are the kernels' vectorisable functions
// The Statistics pass sums the values (ActivatedBatch::tileSum, for run), run writes the factor
// of the part's gradient (*SpecialGrad::tileGradScale: weight and normalisation), and the Gradient
// pass adds uScale · u to the tile's u. Its loops must vectorise as the kernels' own do
// (tile_kernels_cpu.h: unit stride, selects rather than branches).
#pragma once

#include <cstdint>

namespace segloss {

// The buffers a special term reads (ActivatedBatch) and writes (SpecialGrad).
struct SpecialNeeds {
  bool prob = false;         // ActivatedBatch::prob
  bool logProb = false;      // ActivatedBatch::logProb
  bool trueLogProb = false;  // ActivatedBatch::trueLogProb
  bool dprob = false;        // SpecialGrad::dprob
  bool u = false;            // SpecialGrad::u (neither: the term writes SpecialGrad::trueU only)

  SpecialNeeds operator|(const SpecialNeeds& o) const {
    return {prob || o.prob, logProb || o.logProb, trueLogProb || o.trueLogProb, dprob || o.dprob, u || o.u};
  }
};

template <typename T>
struct SpecialGrad {
  T* dprob = nullptr;  // [B, K, N] d value / d p, or nullptr (no gradient, or no term needs it)
  T* u = nullptr;      // [B, K, N] u = p · d value / d p, or nullptr (no gradient, or no term needs it)
  T* trueU = nullptr;  // [B, N] u = p_t · d value / d p_t of the true class, or nullptr (no gradient)
  double* dmoments = nullptr;  // [B, K, kMomentCount] d value / d region moments (terms with moments()), or nullptr
  double* tileGradScale = nullptr;  // out: the factor of the term's tile-part u (terms with kTilePart), or nullptr
};

// One tile as a special term's tile part sees it: rows of `stride` pixels, n of them in use (a
// multiple of 16; padding pixels have p = 0, log p = 0, label −1).
template <typename T>
struct SpecialTileRows {
  const T* prob = nullptr;       // [K][stride]
  const T* logProb = nullptr;    // [K][stride] (kTileLogProb)
  const int32_t* label = nullptr;  // [stride] class, −1 for ignored and padding pixels
  T* scratch[4] = {};            // [stride] rows the term may overwrite
  int stride = 0;
};

// Whether a special term computes a per-pixel part in the tile passes (it declares kTilePart).
template <class Loss>
constexpr bool specialHasTilePart() {
  if constexpr (requires { Loss::kTilePart; }) return Loss::kTilePart;
  return false;
}

// Whether a special term has a part on the region moments (it declares moments()).
template <class Loss>
constexpr bool specialUsesMoments() {
  return requires(const Loss& loss) { loss.moments(); };
}

template <typename T>
struct ActivatedBatch {
  const T* prob = nullptr;         // [B, K, N] p, or nullptr unless needed
  const T* logProb = nullptr;      // [B, K, N] log p (softmax: z − lse, exact), or nullptr unless needed
  const T* trueLogProb = nullptr;  // [B, N] log p of the true class (0 for ignored pixels), or nullptr unless needed
  const int32_t* label = nullptr;  // [B, N] class in [0, K), or −1 for ignored pixels
  int64_t batch = 0;               // B
  int classes = 0;                 // K
  int64_t pixels = 0;              // N per image
  int64_t validPixels = 0;         // labels ≥ 0
  bool normalized = true;          // Σ_c p_c = 1 at every pixel (softmax, and the C = 1 binary forms)
  const double* moments = nullptr;  // [B, K, kMomentCount] the region moments (float64), when a term has moments()
  double tileSum = 0.0;             // Σ over the batch's tiles of this term's tileTerm values (kTilePart)

  const T* probRow(int64_t b, int c) const { return prob + (b * classes + c) * pixels; }
  const T* logProbRow(int64_t b, int c) const { return logProb + (b * classes + c) * pixels; }
  const int32_t* labelRow(int64_t b) const { return label + b * pixels; }
};

}  // namespace segloss
