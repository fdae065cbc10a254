// Benchmarks of the torch op, forward + backward on ATen tensors:
// - benchDiceCe: the survey's objective 0.5·Dice + 0.5·CE through torch_ops::loss against the same
//   loss written as an ATen composition with autograd (softmax, one_hot, sums, dice,
//   at::cross_entropy_loss, backward), both timed in one run on the same data after a warmup.
//   Dice is the default `dice` (batch-pooled, background kept, smooth 1e-5).
// - benchObjective: any objective through torch_ops::loss (the fused op alone).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "fused_loss.h"

namespace segloss::torch_ops {

struct DiceCeBenchOptions {
  std::vector<int64_t> shape;       // [B, C, H, W] (or [B, C, ...])
  int iterations = 10;              // timed runs of each method
  int warmup = 2;                   // untimed runs of each method first
  at::ScalarType dtype = at::kFloat;
  std::string device = "cpu";       // "cpu" or "cuda" (CUDA builds)
  int threads = 0;                  // at::set_num_threads for the run (0: leave as is)
  uint64_t seed = 0;
};

struct DiceCeBenchResult {
  std::vector<double> fusedMs;      // per timed run: the fused engines (torch op)
  std::vector<double> atenMs;       // per timed run: the ATen composition
  double fusedValue = 0.0;          // loss values of the last run (they must agree)
  double atenValue = 0.0;
  double maxGradDiff = 0.0;         // max |grad_fused − grad_aten| of the last run
  int threads = 0;                  // at::get_num_threads() during the run
};

// Runs both methods alternately on random logits (normal) and uniform labels (int64, [0, C)).
DiceCeBenchResult benchDiceCe(const DiceCeBenchOptions& options);

// Times `objective` through torch_ops::loss (forward + backward from a fresh leaf) on the same
// kind of inputs; returns the per-run times in ms.
std::vector<double> benchObjective(const DiceCeBenchOptions& options, const Objective& objective);

}  // namespace segloss::torch_ops
