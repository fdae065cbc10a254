// Dice and IoU accumulation (metrics.h).
#include "metrics.h"

#include <cmath>
#include <limits>
#include <tuple>
#include <utility>

#include "../../core/geometry/segmentation_metrics.h"

namespace segloss::trainer {

MetricAccumulator::MetricAccumulator(int64_t numClasses, std::optional<int64_t> ignoreIndex, bool hd95)
    : classes_(numClasses),
      ignoreIndex_(ignoreIndex),
      diceSum_(numClasses, 0.0),
      diceCount_(numClasses, 0),
      intersection_(numClasses, 0),
      predicted_(numClasses, 0),
      truth_(numClasses, 0),
      caseIntersection_(numClasses, 0),
      casePredicted_(numClasses, 0),
      caseTruth_(numClasses, 0),
      hd95_(hd95),
      hd95Sum_(numClasses, 0.0) {}

// HD95 of the open case's maps, per foreground class, added to hd95Sum_.
void MetricAccumulator::addCaseHd95() {
  const at::Tensor predicted = at::stack(casePredictedMaps_).contiguous();  // [D, H, W] int32
  const at::Tensor target = at::stack(caseTargetMaps_).contiguous();
  geometry::GridShape grid;
  grid.depth = predicted.size(0);
  grid.spatialDims = grid.depth == 1 ? 2 : 3;
  grid.height = predicted.size(1);
  grid.width = predicted.size(2);
  std::vector<geometry::CaseMetrics> perClass(static_cast<size_t>(classes_ > 1 ? classes_ - 1 : 0));
  geometry::volumeCaseMetrics(predicted.data_ptr<int32_t>(), target.data_ptr<int32_t>(), grid, classes_,
                              geometry::EmptyMaskPolicy::TransUNet, perClass.data());
  for (int64_t c = 1; c < classes_; ++c) hd95Sum_[c] += perClass[static_cast<size_t>(c - 1)].hd95;
  casePredictedMaps_.clear();
  caseTargetMaps_.clear();
}

void MetricAccumulator::closeCase() {
  if (currentCase_ < 0) return;
  for (int64_t c = 0; c < classes_; ++c) {
    const int64_t sum = casePredicted_[c] + caseTruth_[c];
    if (sum > 0) {
      diceSum_[c] += 2.0 * static_cast<double>(caseIntersection_[c]) / static_cast<double>(sum);
      ++diceCount_[c];
    }
    caseIntersection_[c] = casePredicted_[c] = caseTruth_[c] = 0;
  }
  if (hd95_) addCaseHd95();
  ++cases_;
  currentCase_ = -1;
}

namespace {

// [B·K] counts → [B, K] int64 on the CPU.
at::Tensor countsPerImage(const at::Tensor& binned /* [M] int64 in [0, B·K) */, int64_t bins, int64_t batch) {
  return at::bincount(binned, {}, bins).to(at::kLong).view({batch, bins / batch}).to(at::kCPU).contiguous();
}

// [B, H, W] label maps as int32 on the CPU, ignored pixels (of the target) set to −1 in both, so
// they belong to no class.
std::pair<at::Tensor, at::Tensor> hostLabelMaps(const at::Tensor& predicted, const at::Tensor& target,
                                                std::optional<int64_t> ignoreIndex) {
  at::Tensor p = predicted.to(at::kCPU, at::kInt).contiguous();
  at::Tensor t = target.to(at::kCPU, at::kInt).contiguous();
  if (ignoreIndex) {
    const at::Tensor ignored = target.to(at::kCPU).eq(*ignoreIndex);
    p.masked_fill_(ignored, -1);
    t.masked_fill_(ignored, -1);
  }
  return {p, t};
}

}  // namespace

void MetricAccumulator::add(const at::Tensor& predictedIn, const at::Tensor& targetIn, const std::vector<int64_t>& cases) {
  const int64_t batch = targetIn.size(0);
  const at::Tensor target = targetIn.to(at::kLong).reshape({batch, -1});
  const at::Tensor predicted = predictedIn.to(at::kLong).reshape({batch, -1});
  const at::Tensor offsets = at::arange(batch, target.options()).mul_(classes_).unsqueeze(1);  // [B, 1]
  at::Tensor truthBins = target + offsets;
  at::Tensor predictedBins = predicted + offsets;
  if (ignoreIndex_) {
    const at::Tensor valid = target.ne(*ignoreIndex_);
    truthBins = truthBins.masked_select(valid);
    predictedBins = predictedBins.masked_select(valid);
  } else {
    truthBins = truthBins.flatten();
    predictedBins = predictedBins.flatten();
  }
  const int64_t bins = batch * classes_;
  const at::Tensor g = countsPerImage(truthBins, bins, batch);
  const at::Tensor p = countsPerImage(predictedBins, bins, batch);
  const at::Tensor i = countsPerImage(truthBins.masked_select(truthBins.eq(predictedBins)), bins, batch);
  const int64_t* gd = g.data_ptr<int64_t>();
  const int64_t* pd = p.data_ptr<int64_t>();
  const int64_t* id = i.data_ptr<int64_t>();
  at::Tensor predictedMaps, targetMaps;  // [B, H, W] int32 on the host, for HD95
  if (hd95_) std::tie(predictedMaps, targetMaps) = hostLabelMaps(predictedIn, targetIn, ignoreIndex_);
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t caseId = cases.empty() ? images_ + b : cases[static_cast<size_t>(b)];
    if (caseId != currentCase_) {
      closeCase();
      currentCase_ = caseId;
    }
    if (hd95_) {
      casePredictedMaps_.push_back(predictedMaps[b]);
      caseTargetMaps_.push_back(targetMaps[b]);
    }
    for (int64_t c = 0; c < classes_; ++c) {
      const int64_t k = b * classes_ + c;
      intersection_[c] += id[k];
      predicted_[c] += pd[k];
      truth_[c] += gd[k];
      caseIntersection_[c] += id[k];
      casePredicted_[c] += pd[k];
      caseTruth_[c] += gd[k];
    }
  }
  images_ += batch;
}

namespace {

double meanOfNumbers(const std::vector<double>& values) {
  double sum = 0.0;
  int64_t count = 0;
  for (const double v : values) {
    if (std::isnan(v)) continue;
    sum += v;
    ++count;
  }
  return count ? sum / static_cast<double>(count) : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

Evaluation MetricAccumulator::finish(double loss) {
  closeCase();
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  Evaluation result;
  result.loss = loss;
  result.images = images_;
  result.cases = cases_;
  for (int64_t c = 0; c < classes_; ++c) {
    result.perClassDice.push_back(diceCount_[c] ? diceSum_[c] / static_cast<double>(diceCount_[c]) : kNaN);
    const int64_t unionSize = predicted_[c] + truth_[c] - intersection_[c];
    result.perClassIoU.push_back(unionSize ? static_cast<double>(intersection_[c]) / static_cast<double>(unionSize) : kNaN);
  }
  result.meanDice = meanOfNumbers(result.perClassDice);
  result.meanIoU = meanOfNumbers(result.perClassIoU);
  result.hd95 = kNaN;
  if (hd95_) {
    result.perClassHd95.push_back(kNaN);
    double foreground = 0.0;
    for (int64_t c = 1; c < classes_; ++c) {
      result.perClassHd95.push_back(cases_ ? hd95Sum_[c] / static_cast<double>(cases_) : kNaN);
      foreground += result.perClassHd95.back();
    }
    if (classes_ > 1) result.hd95 = foreground / static_cast<double>(classes_ - 1);
  }
  return result;
}

}  // namespace segloss::trainer
