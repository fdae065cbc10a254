// Per-class distance maps (distance_maps.h), from the two exact distance transforms of a mask.
#include "distance_maps.h"

#include <algorithm>
#include <cmath>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "distance_transform.h"
#include "../parallel_cpu.h"

namespace segloss::geometry {
namespace {

// What one map's mask holds.
struct MaskExtent {
  bool anyInside = false;
  bool anyOutside = false;
  double maxInside = 0;   // max distance to the other side over inside elements
  double maxOutside = 0;  // ... over outside elements
};

// The extent of a map with both sides, from its distances to the other side (the maxima only need
// the distances of the side they are over).
// The maxima over each side of a map with both sides. Vectorised by hand on x86-64 (a max
// reduction does not vectorise without -ffinite-math-only): 16 mask bytes become eight 2-lane
// selects of the distances (≥ 0, so a select of 0 leaves a maximum as it is).
MaskExtent maskExtent(const uint8_t* __restrict mask, const double* __restrict distance, int64_t n) {
  double maxInside = 0, maxOutside = 0;
  int64_t i = 0;
#if defined(__SSE2__)
  __m128d in0 = _mm_setzero_pd(), in1 = in0, out0 = in0, out1 = in0;
  const __m128i zero = _mm_setzero_si128();
  for (; i + 16 <= n; i += 16) {
    // 0xFF bytes where the element is inside, widened to 64-bit lane masks by self-interleaving
    const __m128i bytes = _mm_cmpeq_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(mask + i)), zero), zero);
    const __m128i w0 = _mm_unpacklo_epi8(bytes, bytes), w1 = _mm_unpackhi_epi8(bytes, bytes);
    const __m128i d[4] = {_mm_unpacklo_epi16(w0, w0), _mm_unpackhi_epi16(w0, w0), _mm_unpacklo_epi16(w1, w1),
                          _mm_unpackhi_epi16(w1, w1)};
    for (int k = 0; k < 4; ++k) {
      const __m128d lo = _mm_castsi128_pd(_mm_unpacklo_epi32(d[k], d[k]));
      const __m128d hi = _mm_castsi128_pd(_mm_unpackhi_epi32(d[k], d[k]));
      const __m128d x0 = _mm_loadu_pd(distance + i + 4 * k), x1 = _mm_loadu_pd(distance + i + 4 * k + 2);
      in0 = _mm_max_pd(in0, _mm_and_pd(lo, x0));
      out0 = _mm_max_pd(out0, _mm_andnot_pd(lo, x0));
      in1 = _mm_max_pd(in1, _mm_and_pd(hi, x1));
      out1 = _mm_max_pd(out1, _mm_andnot_pd(hi, x1));
    }
  }
  double lanes[2];
  _mm_storeu_pd(lanes, _mm_max_pd(in0, in1));
  maxInside = std::max(lanes[0], lanes[1]);
  _mm_storeu_pd(lanes, _mm_max_pd(out0, out1));
  maxOutside = std::max(lanes[0], lanes[1]);
#endif
  for (; i < n; ++i) {
    const double d = distance[i];
    const bool inside = mask[i] != 0;
    maxInside = inside && d > maxInside ? d : maxInside;
    maxOutside = !inside && d > maxOutside ? d : maxOutside;
  }
  MaskExtent e;
  e.anyInside = e.anyOutside = true;
  e.maxInside = maxInside;
  e.maxOutside = maxOutside;
  return e;
}

// The extent of a map with an empty or full mask (no distance is defined).
MaskExtent oneSidedExtent(const uint8_t* mask, int64_t n) {
  MaskExtent e;
  e.anyInside = n > 0 && mask[0] != 0;
  e.anyOutside = n > 0 && mask[0] == 0;
  return e;
}

// Calls write(mask, distance, extent, out, n) per map, with the map's slices; distance and out
// are the same buffer (each element's distance to the other side, written first; unwritten for a
// one-sided map, whose write must not read it), so write works element by element in place.
// kMaxima: whether write reads the extent's maxima (else only which sides it has).
template <bool kMaxima, class Write>
void perMap(const uint8_t* mask, int64_t maps, const GridShape& grid, int64_t disjointGroup, double* out, const Write& write) {
  std::vector<uint8_t> defined(static_cast<size_t>(std::max<int64_t>(maps, 0)));
  distanceToOtherSide(mask, maps, grid, out, defined.data(), disjointGroup);
  const int64_t n = grid.voxels();
  parallelRanges(maps, workersFor(maps, n), [&](int, int64_t b, int64_t e) {
    for (int64_t m = b; m < e; ++m) {
      const uint8_t* mm = mask + m * n;
      double* om = out + m * n;
      MaskExtent extent = oneSidedExtent(mm, n);
      if (defined[m] && kMaxima) extent = maskExtent(mm, om, n);
      if (defined[m] && !kMaxima) extent.anyInside = extent.anyOutside = true;
      write(mm, om, extent, om, n);
    }
  });
}

}  // namespace

void boundarySignedDistance(const uint8_t* mask, int64_t maps, const GridShape& grid, double* out, int64_t disjointGroup) {
  perMap<false>(mask, maps, grid, disjointGroup, out, [](const uint8_t* m, const double* d, const MaskExtent& e, double* o, int64_t n) {
    if (!(e.anyInside && e.anyOutside)) return std::fill(o, o + n, 0.0);
    for (int64_t i = 0; i < n; ++i) {
      const double inside = 1.0 - d[i], outside = d[i];
      o[i] = m[i] ? inside : outside;
    }
  });
}

void regionWiseRectifiedMap(const uint8_t* mask, int64_t maps, const GridShape& grid, double* out) {
  // Only the inside distances are read: one transform (edt(mask)) instead of both sides'.
  euclideanDistanceTransform(mask, maps, grid, out);
  const int64_t n = grid.voxels();
  parallelRanges(maps, workersFor(maps, n), [&](int, int64_t b, int64_t e) {
    for (int64_t m = b; m < e; ++m) {
      const uint8_t* __restrict mm = mask + m * n;
      double* __restrict om = out + m * n;
      uint8_t outside = 0;
      for (int64_t i = 0; i < n; ++i) outside |= static_cast<uint8_t>(mm[i] == 0);
      const double maxInside = maskExtent(mm, om, n).maxInside;
      // Without outside elements every distance is +inf: −1 inside. Else −d / max (max > 0 when any
      // element is inside: its distance to the nearest outside one is ≥ one spacing).
      for (int64_t i = 0; i < n; ++i) {
        const double inside = outside ? -om[i] / maxInside : -1.0;
        om[i] = mm[i] ? inside : 1.0;
      }
    }
  });
}

void hausdorffDistanceMap(const uint8_t* mask, int64_t maps, const GridShape& grid, double* out, int64_t disjointGroup) {
  perMap<false>(mask, maps, grid, disjointGroup, out, [](const uint8_t*, const double*, const MaskExtent& e, double* o, int64_t n) {
    if (!(e.anyInside && e.anyOutside)) std::fill(o, o + n, 0.0);  // else the distances are the map
  });
}

void distancePenaltyMap(const uint8_t* mask, int64_t maps, const GridShape& grid, double* out, int64_t disjointGroup) {
  perMap<true>(mask, maps, grid, disjointGroup, out, [](const uint8_t* m, const double* d, const MaskExtent& e, double* o, int64_t n) {
    if (!(e.anyInside && e.anyOutside)) return std::fill(o, o + n, 0.0);
    for (int64_t i = 0; i < n; ++i) {
      const double max = m[i] ? e.maxInside : e.maxOutside;
      o[i] = (max - d[i]) / max;
    }
  });
}

}  // namespace segloss::geometry
