// Segmentation metrics over a data set, accumulated batch by batch on the device and reduced on
// the host:
//   per-class Dice (TransUNet's per-case policy): the mean over cases of 2|P∩G| / (|P| + |G|),
//     over the cases where class c occurs in the prediction or the target (a case where it is in
//     neither says nothing about c). NaN for a class that occurs in no case. A case is an image,
//     or a volume: consecutive images with the same case id, their counts pooled.
//   per-class IoU (Cityscapes' policy): |P∩G| / |P∪G| pooled over the whole set. NaN when absent.
//   meanDice / meanIoU: the mean of the per-class values that are not NaN (background included).
// Pixels whose label is the ignore index count in no sum.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>
#include <vector>

#include <ATen/ATen.h>

namespace segloss::trainer {

/// The result of an evaluation.
struct Evaluation {
  std::vector<double> perClassDice;  // [K], index = class, background included
  std::vector<double> perClassIoU;   // [K]
  double meanDice = 0.0;
  double meanIoU = 0.0;
  double loss = 0.0;                 // the objective, mean over images
  int64_t images = 0;
  int64_t cases = 0;                 // images, or volumes when cases were given
};

class MetricAccumulator {
 public:
  MetricAccumulator(int64_t numClasses, std::optional<int64_t> ignoreIndex);

  /// Adds a batch: predicted classes [B, H, W] (int64) and labels [B, H, W] (integer, same device).
  /// `cases[b]` is image b's case id (consecutive images of one volume share it); empty: each
  /// image is its own case.
  void add(const at::Tensor& predicted, const at::Tensor& target, const std::vector<int64_t>& cases = {});
  /// The metrics so far, with `loss` as the objective's value (closes the last case).
  Evaluation finish(double loss);

 private:
  int64_t classes_;
  std::optional<int64_t> ignoreIndex_;
  std::vector<double> diceSum_;      // [K] Σ over images of the per-image Dice
  std::vector<int64_t> diceCount_;   // [K] images where the class occurs
  std::vector<int64_t> intersection_, predicted_, truth_;  // [K] pooled |P∩G|, |P|, |G|
  std::vector<int64_t> caseIntersection_, casePredicted_, caseTruth_;  // [K] of the open case
  int64_t currentCase_ = -1;  // id of the open case, −1 before the first
  int64_t cases_ = 0;
  int64_t images_ = 0;

  void closeCase();
};

}  // namespace segloss::trainer
