// The per-image confusion moments of the Confusion family (loss_family.h): for every image b and
// pair of classes (a, c), the sum over the valid pixels of true class a of the probability of c,
//   C_b[a][c] = Σ_{i: t_i = a} p_ic          (stored [B, K, K] in float64),
// alongside the region moments of region_moments.h. A Confusion loss's head turns both into its
// value, d value / d moments and d value / d C; the engines then add, per pixel of true class a,
//   d value / d p_ic += d value / d C_b[a][c]
// (a row of a K×K table per image), so again no loss code runs inside the pixel loops.
#pragma once

#include <cstdint>

namespace segloss {

// Entries of one image's confusion moments.
inline int64_t confusionSize(int classes) { return int64_t(classes) * classes; }

}  // namespace segloss
