// Exact Euclidean distance transforms of binary maps, 2-D and 3-D, with per-axis spacing, batched
// over many maps and threaded (SEGLOSS_NUM_THREADS, see parallel_cpu.h).
//
// Algorithm: separable passes (Felzenszwalb & Huttenlocher, "Distance Transforms of Sampled
// Functions", Theory of Computing 8, 2012). The first pass along the outermost spatial axis is a
// two-sided scan of the binary map (nearest feature above / below, vectorised over the contiguous
// rest of the map); each further axis takes the lower envelope of parabolas f(p) + ((q − p)·s)²
// in O(n) per line. The last pass runs along the contiguous W axis. Results are exact up to
// float64 rounding (integer squared distances are exact with unit spacing).
//
// Semantics follow scipy.ndimage.distance_transform_edt: every non-zero element gets the distance
// to the nearest zero element, zero elements get 0. One difference: a map with no zero element has
// no finite distance and gets +Infinity everywhere (scipy measures to a point outside the array).
#pragma once

#include <cstdint>

#include "grid.h"

namespace segloss::geometry {

// Which elements are the features (the points distances are measured to).
enum class FeatureRule : int {
  ZeroElements,     // data[i] == 0 (the distance transform of a mask)
  NonZeroElements,  // data[i] != 0 (distance to a set, e.g. a surface)
};

// out[m, i] = min over feature elements j of map m of the squared physical distance |i − j|²
// (0 on features, +inf when map m has no feature).
//   data: [maps, D, H, W] uint8; out: [maps, D, H, W] float64 (may not alias data)
void squaredDistanceToFeatures(const uint8_t* data, FeatureRule rule, int64_t maps, const GridShape& grid,
                               double* out);

// For maps whose mask has both sides: out[m, i] = the distance from element i to the nearest
// element on the other side (inside → nearest zero element, outside → nearest non-zero one), i.e.
// edt(mask) + edt(¬mask), computed as one transform (each run of equal values takes the envelope
// between its neighbours of the other value); defined[m] = 1. Maps
// with an empty or full mask: defined[m] = 0 and out[m] is not written. disjointGroup > 1: the
// maps come in groups of that many masks that are meant not to overlap (the classes of one image,
// e.g. from a label map); such a group needs one transform per class (plus one for the elements
// in no mask) instead of two. A group whose masks do overlap is computed mask by mask. Same
// results either way.
//   mask: [maps, D, H, W] uint8; out: [maps, D, H, W]; defined: [maps]
void distanceToOtherSide(const uint8_t* mask, int64_t maps, const GridShape& grid, double* out, uint8_t* defined,
                         int64_t disjointGroup = 1);

// out = sqrt of squaredDistanceToFeatures(mask, ZeroElements, ...): scipy's distance_transform_edt.
//   mask: [maps, D, H, W] uint8, non-zero = inside; out: [maps, D, H, W]
void euclideanDistanceTransform(const uint8_t* mask, int64_t maps, const GridShape& grid, double* out);
// The same, rounded to float32 at the end (computed in float64).
void euclideanDistanceTransform(const uint8_t* mask, int64_t maps, const GridShape& grid, float* out);

}  // namespace segloss::geometry
