// THE list of losses, in the spec's order. Adding a loss: its functor header in losses/ (options
// struct with fields(), functor with kId, kFamily and its pixel, region or special interface), one
// #include and one entry in `Losses` below, and its TypeScript file + registry line (src/losses).
// Everything else — the options variant, the functor variant, the generic Node-API reader, the
// engines' dispatch — is derived from this list.
#pragma once

#include <cstddef>
#include <string_view>
#include <type_traits>
#include <variant>

#include "losses/active_boundary.h"
#include "losses/boundary.h"
#include "losses/boundary_dou.h"
#include "losses/combo.h"
#include "losses/cross_entropy.h"
#include "losses/dice.h"
#include "losses/distance_map_ce.h"
#include "losses/exp_log.h"
#include "losses/focal.h"
#include "losses/focal_tversky.h"
#include "losses/generalized_wasserstein_dice.h"
#include "losses/hausdorff_dt.h"
#include "losses/jaccard.h"
#include "losses/log_cosh_dice.h"
#include "losses/lovasz_softmax.h"
#include "losses/region_wise.h"
#include "losses/rmi.h"
#include "losses/robust_t.h"
#include "losses/sensitivity_specificity.h"
#include "losses/topk.h"
#include "losses/tversky.h"
#include "losses/unified_focal.h"

namespace segloss {

template <class... Loss>
struct LossList {
  using Options = std::variant<typename Loss::Options...>;  // alternative i = options of loss i
  using Functors = std::variant<Loss...>;                   // alternative i = functor of loss i
  static constexpr size_t size = sizeof...(Loss);

  // Calls f.template operator()<Loss>() for every loss, in order.
  template <class F>
  static void forEach(F&& f) {
    (f.template operator()<Loss>(), ...);
  }
};

using Losses = LossList<CrossEntropyLoss, TopKLoss, FocalLoss, DistanceMapCeLoss, DiceLoss, LogCoshDiceLoss,
                        GeneralizedWassersteinDiceLoss, JaccardLoss, LovaszSoftmaxLoss, TverskyLoss, FocalTverskyLoss,
                        SensitivitySpecificityLoss, RmiLoss, RobustTLoss, BoundaryLoss, HausdorffDtLoss, ActiveBoundaryLoss,
                        BoundaryDouLoss, RegionWiseLoss, ComboLoss, ExpLogLoss, UnifiedFocalLoss>;

using LossOptions = Losses::Options;
using LossFunctor = Losses::Functors;

// The functor of `options` (same alternative index), its arrays bound through context.bind.
inline LossFunctor makeLossFunctor(const LossOptions& options, const LossContext& context) {
  return std::visit([&](const auto& opts) -> LossFunctor {
    using Options = std::decay_t<decltype(opts)>;
    LossFunctor functor;
    Losses::forEach([&]<class Loss>() {
      if constexpr (std::is_same_v<typename Loss::Options, Options>) functor.template emplace<Loss>(opts, context);
    });
    return functor;
  }, options);
}

// The id ("cross-entropy", …) of the loss `options` selects.
inline std::string_view lossId(const LossOptions& options) {
  std::string_view id;
  Losses::forEach([&]<class Loss>() {
    if (std::holds_alternative<typename Loss::Options>(options)) id = Loss::kId;
  });
  return id;
}

// Default options of the loss named `id`, or false when no loss has that id.
inline bool defaultOptionsFor(std::string_view id, LossOptions& out) {
  bool found = false;
  Losses::forEach([&]<class Loss>() {
    if (!found && id == Loss::kId) {
      out = typename Loss::Options{};
      found = true;
    }
  });
  return found;
}

// Region and Confusion losses: statistics pass, head, gradient pass (not pixel-wise).
template <class Loss>
constexpr bool isRegionLoss() {
  return Loss::kFamily == LossFamily::Region || Loss::kFamily == LossFamily::Confusion;
}

// Pixel-wise losses (the tile engine's true-class terms).
template <class Loss>
constexpr bool isPixelLoss() {
  return Loss::kFamily == LossFamily::Pixel;
}

// Losses whose value needs the whole batch's activations at once (LossFamily::Special).
template <class Loss>
constexpr bool isSpecialLoss() {
  return Loss::kFamily == LossFamily::Special;
}

// Losses that run on whole image planes (LossFamily::Planar: their runCpu does the work).
template <class Loss>
constexpr bool isPlanarLoss() {
  return Loss::kFamily == LossFamily::Planar;
}

// Losses whose head also reads the confusion moments (confusion_moments.h).
template <class Loss>
constexpr bool usesConfusion() {
  return Loss::kFamily == LossFamily::Confusion;
}

// Losses with learned state (robust-t's θ): Loss::kLearnedState, and a head companion
// `double stateGradient(const double* moments, int64_t batch, int classes) const` (d value / d state).
template <class Loss>
constexpr bool hasLearnedState() {
  if constexpr (requires { Loss::kLearnedState; }) return Loss::kLearnedState;
  return false;
}

// Losses that multiply the prediction with a per-pixel target map in the tile kernels (map_terms.h).
template <class Loss>
constexpr bool isMapLoss() {
  return Loss::kFamily == LossFamily::Map;
}

// Losses run on the whole batch by their own CPU code with a cached target map (active boundary).
template <class Loss>
constexpr bool isBatchMapLoss() {
  return Loss::kFamily == LossFamily::BatchMap;
}

// Whether the loss reads maps or counts of the target computed on the CPU (target_maps.h): the map
// family, and region losses with a `kTargetCounts` member (boundary DoU). CUDA tensors run these
// on the CPU engine (native/torch/fused_loss.cpp).
template <class Loss>
constexpr bool needsHostMaps() {
  if constexpr (Loss::kFamily == LossFamily::Map || Loss::kFamily == LossFamily::BatchMap) return true;
  else return requires { Loss::kTargetCounts; };
}

// Whether a loss runs on the CPU engine only (the torch op moves CUDA inputs of such terms to the
// CPU): the Special, Confusion and Planar families, learned state (whose gradient only the CPU
// driver returns), and terms reading target maps computed on the CPU (needsHostMaps).
inline bool cpuOnlyLoss(const LossOptions& options) {
  bool cpuOnly = false;
  Losses::forEach([&]<class Loss>() {
    if (std::holds_alternative<typename Loss::Options>(options)) cpuOnly = isSpecialLoss<Loss>() || usesConfusion<Loss>() || hasLearnedState<Loss>() ||
                                                                           isPlanarLoss<Loss>() || needsHostMaps<Loss>();
  });
  return cpuOnly;
}

// Whether a loss has learned state (see hasLearnedState).
inline bool learnedStateLoss(const LossOptions& options) {
  bool learned = false;
  Losses::forEach([&]<class Loss>() {
    if (std::holds_alternative<typename Loss::Options>(options)) learned = hasLearnedState<Loss>();
  });
  return learned;
}

}  // namespace segloss
