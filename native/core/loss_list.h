// THE list of losses, in the spec's order. Adding a loss: its functor header in losses/ (options
// struct with fields(), functor with kId, kFamily and its pixel or region interface), one
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
#include "losses/cross_entropy.h"
#include "losses/dice.h"
#include "losses/distance_map_ce.h"
#include "losses/focal.h"
#include "losses/focal_tversky.h"
#include "losses/hausdorff_dt.h"
#include "losses/jaccard.h"
#include "losses/log_cosh_dice.h"
#include "losses/region_wise.h"
#include "losses/sensitivity_specificity.h"
#include "losses/tversky.h"

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

using Losses = LossList<CrossEntropyLoss, FocalLoss, DistanceMapCeLoss, DiceLoss, LogCoshDiceLoss, JaccardLoss, TverskyLoss, FocalTverskyLoss,
                        SensitivitySpecificityLoss, BoundaryLoss, HausdorffDtLoss, ActiveBoundaryLoss,
                        BoundaryDouLoss, RegionWiseLoss>;

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

template <class Loss>
constexpr bool isRegionLoss() {
  return Loss::kFamily == LossFamily::Region;
}

template <class Loss>
constexpr bool isPixelLoss() {
  return Loss::kFamily == LossFamily::Pixel;
}

template <class Loss>
constexpr bool isMapLoss() {
  return Loss::kFamily == LossFamily::Map;
}

template <class Loss>
constexpr bool isSpecialLoss() {
  return Loss::kFamily == LossFamily::Special;
}

// Whether the loss reads maps or counts of the target computed on the CPU (target_maps.h): the map
// family, and region losses with a `kTargetCounts` member (boundary DoU). CUDA tensors run these
// on the CPU engine (native/torch/fused_loss.cpp).
template <class Loss>
constexpr bool needsHostMaps() {
  if constexpr (Loss::kFamily == LossFamily::Map || Loss::kFamily == LossFamily::Special) return true;
  else return requires { Loss::kTargetCounts; };
}

}  // namespace segloss
