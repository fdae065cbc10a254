// Batch augmentation on the training device, as TransUNet's RandomGenerator (datasets/
// dataset_synapse.py): per image, with probability 1/2 a random rot90 (k ∈ {0..3}) and a flip of
// one random axis; otherwise, with probability 1/2, a rotation by a random integer angle in
// [−20°, 20°] about the centre (nearest neighbour, zeros outside, shape kept, as ndimage.rotate
// order 0). The draws come from splitmix64(seed, epoch, position in the epoch), so an epoch's
// augmentation is the same after a resume.
#pragma once

#include <cstdint>

#include <ATen/ATen.h>

namespace segloss::trainer {

enum class Augmentation { None, RotFlipRotate };

/// Augments images [B, C, H, W] and masks [B, H, W] (same device) in place of their rows.
/// `first` is the position of row 0 in the epoch's order. Non-square images skip rot90 by 90°/270°.
void augmentBatch(at::Tensor& images, at::Tensor& masks, uint64_t seed, int64_t epoch, int64_t first);

}  // namespace segloss::trainer
