// Which engine runs a loss functor.
#pragma once

namespace segloss {

enum class LossFamily : int {
  Pixel,   // value and gradient at a pixel depend on that pixel only
  Region,  // per-(image, class) sums → scalar head → per-pixel gradient
};

}  // namespace segloss
