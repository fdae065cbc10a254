// The survey's evaluation metrics on plain pointers, for the core addon and for native training
// code: DSC and HD95 as TransUNet reports them (medpy.metric.binary.dc / hd95 inside
// utils.calculate_metric_percase and test_single_volume), and the confusion matrix / IoU of the
// Cityscapes evaluation.
#pragma once

#include <cstdint>
#include <vector>

#include "grid.h"

namespace segloss::geometry {

// Voxel counts of a prediction / target mask pair.
struct MaskPairCounts {
  int64_t prediction = 0;    // |P|
  int64_t target = 0;        // |T|
  int64_t intersection = 0;  // |P ∧ T|
};

// Counts of pred [n] and target [n] (non-zero = inside).
MaskPairCounts countMaskPair(const uint8_t* pred, const uint8_t* target, int64_t n);

// medpy.metric.binary.dc: 2|P ∧ T| / (|P| + |T|); 0 when both are empty (medpy's ZeroDivisionError).
double diceCoefficient(const MaskPairCounts& counts);

// numpy.percentile(values, q) with the default 'linear' method; reorders `values`. values must be
// non-empty, q in [0, 100].
double linearPercentile(std::vector<double>& values, double q);

// medpy.metric.binary.hd95(pred, target, voxelspacing=grid.spacing, connectivity=1): surfaces are
// each mask minus its binary erosion by the cross (outside the array = background); the directed
// distances from each surface voxel of one mask to the nearest surface voxel of the other (exact
// EDT with spacing), both directions pooled; the 95th percentile of the pool. Both masks must be
// non-empty (GeometryArgumentError otherwise, as medpy raises). Computed on the bounding box of
// P ∨ T, which gives the same distances.
//   pred, target: [D, H, W] (one map)
double hausdorffDistance95(const uint8_t* pred, const uint8_t* target, const GridShape& grid);

// What DSC and HD95 are when a mask is empty.
enum class EmptyMaskPolicy : int {
  // TransUNet's calculate_metric_percase: both non-empty → (dc, hd95); prediction non-empty and
  // target empty → (1, 0); prediction empty → (0, 0).
  TransUNet = 0,
  // Both empty → (1, 0); exactly one empty → (0, +inf); both non-empty → (dc, hd95).
  Strict = 1,
};

struct CaseMetrics {
  double dice = 0;
  double hd95 = 0;
};

// DSC of one mask pair under the policy (the dice half of caseMetrics, without the distances).
double caseDice(const uint8_t* pred, const uint8_t* target, int64_t n, EmptyMaskPolicy policy);

// DSC and HD95 of one mask pair under the policy.
CaseMetrics caseMetrics(const uint8_t* pred, const uint8_t* target, const GridShape& grid, EmptyMaskPolicy policy);

// TransUNet's test_single_volume metric list: for each class c in [1, classes), caseMetrics of
// (pred == c, target == c). Labels outside [0, classes) match no class.
//   pred, target: [D, H, W] label maps; out: [classes − 1]
template <class Label>
void volumeCaseMetrics(const Label* pred, const Label* target, const GridShape& grid, int64_t classes,
                       EmptyMaskPolicy policy, CaseMetrics* out);

// Adds the pixel counts to matrix [classes, classes] (row = target class, column = predicted
// class), skipping pixels whose target is the ignore index. Every other pixel must have both labels
// in [0, classes) (GeometryArgumentError otherwise; TypeScript reports the position first).
//   pred, target: [n]; matrix: [classes · classes], accumulated
template <class Label>
void accumulateConfusionMatrix(const Label* pred, const Label* target, int64_t n, int64_t classes, bool hasIgnore,
                               int64_t ignoreIndex, double* matrix);

// Per-class IoU = M[c, c] / (Σ_j M[c, j] + Σ_i M[i, c] − M[c, c]) into perClass [classes] (NaN for a
// class absent from both prediction and target); returns the mean over the other classes (NaN when
// none is present).
double meanIntersectionOverUnion(const double* matrix, int64_t classes, double* perClass);

}  // namespace segloss::geometry
