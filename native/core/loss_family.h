// Which engine runs a loss functor.
#pragma once

namespace segloss {

enum class LossFamily : int {
  Pixel,   // value and gradient at a pixel depend on that pixel only (pixel_engine_cpu.h)
  Region,  // per-(image, class) sums → scalar head → per-pixel gradient (region_engine_cpu.h)
};

}  // namespace segloss
