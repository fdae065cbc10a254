// One term of an objective Σ weight · loss, with its input conventions (spec/LOSSES.md "Common
// ground"), owning what its options point to. Shared by the core addon, the torch op and native
// training code; the engines take WeightedLossOptions (losses.h) made from it. Array options
// (class weights …) live in the options themselves (option_fields.h DoubleArray).
#pragma once

#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "losses.h"

namespace segloss {

struct LossTerm {
  LossOptions options;                          // which loss runs, and its options
  double weight = 1.0;                          // the term's factor in the objective
  Activation activation = Activation::Softmax;  // softmax over C; C = 1 needs sigmoid or none
  std::optional<int64_t> ignoreIndex;           // labels equal to it contribute nothing (none by default)
};

// weight · loss(options) with the default input conventions (softmax, no ignore index).
inline LossTerm weightedTerm(LossOptions options, double weight) {
  LossTerm term;
  term.options = options;
  term.weight = weight;
  return term;
}

// Calls run(first, last) for each maximal run [first, last) of consecutive terms that share the
// activation and the ignore index, i.e. that one engine call can run with shared passes.
template <class Run>
void forEachSharedRun(const std::vector<LossTerm>& terms, Run&& run) {
  for (size_t first = 0; first < terms.size();) {
    size_t last = first + 1;
    while (last < terms.size() && terms[last].activation == terms[first].activation &&
           terms[last].ignoreIndex == terms[first].ignoreIndex) {
      ++last;
    }
    run(first, last);
    first = last;
  }
}

}  // namespace segloss
