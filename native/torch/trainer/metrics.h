// Segmentation metrics over a data set, accumulated batch by batch on the device and reduced on
// the host:
//   per-class Dice (TransUNet's per-case policy): the mean over cases of 2|P∩G| / (|P| + |G|),
//     over the cases where class c occurs in the prediction or the target (a case where it is in
//     neither says nothing about c). NaN for a class that occurs in no case. A case is an image,
//     or a volume: consecutive images with the same case id, their counts pooled.
//   per-class IoU (Cityscapes' policy): |P∩G| / |P∪G| pooled over the whole set. NaN when absent.
//   meanDice / meanIoU: the mean of the per-class values that are not NaN (background included).
//   per-class HD95 (when asked for; TransUNet's policy, calculate_metric_percase): per case and
//     foreground class, medpy's hd95 of (prediction == c, target == c) on the case's [D, H, W]
//     (a 2-D [H, W] map for a one-image case), 0 when the prediction or the target is empty; the
//     mean over cases. hd95 = the mean over the foreground classes (NaN background entry).
// Pixels whose label is the ignore index count in no sum.
#pragma once

#include <cstdint>
#include <optional>
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
  std::vector<double> perClassHd95;  // [K] (NaN for class 0), empty unless HD95 was asked for
  double hd95 = 0.0;                 // mean of perClassHd95[1…K−1]; NaN unless asked for
};

class MetricAccumulator {
 public:
  /// `hd95`: also HD95 per case (keeps the open case's labels on the host until it closes).
  MetricAccumulator(int64_t numClasses, std::optional<int64_t> ignoreIndex, bool hd95 = false);

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
  bool hd95_ = false;
  std::vector<double> hd95Sum_;          // [K] Σ over cases of the per-case HD95
  std::vector<at::Tensor> casePredictedMaps_, caseTargetMaps_;  // the open case's [H, W] int32 maps
  int64_t cases_ = 0;
  int64_t images_ = 0;

  void closeCase();
  void addCaseHd95();
};

}  // namespace segloss::trainer
