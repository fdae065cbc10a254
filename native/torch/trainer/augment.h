// Batch augmentation on the training device. The draws come from splitmix64(seed, epoch, position
// in the epoch), so an epoch's augmentation is the same after a resume.
//   RotFlipRotate — TransUNet's RandomGenerator (datasets/dataset_synapse.py): per image, with
//     probability 1/2 a random rot90 (k ∈ {0..3}) and a flip of one random axis; otherwise, with
//     probability 1/2, a rotation by a random integer angle in [−20°, 20°] about the centre
//     (nearest neighbour, zeros outside, shape kept, as ndimage.rotate order 0).
//   ScaleCropFlip — street scenes (the Cityscapes recipes): per image, a random scale in
//     [0.5, 2] (bilinear images, nearest labels), a random crop back to H × W (padding with 0 and
//     with the ignore label, or 0 without one, where the scaled image is smaller), and a
//     horizontal flip with probability 1/2.
#pragma once

#include <cstdint>

#include <ATen/ATen.h>

namespace segloss::trainer {

enum class Augmentation { None, RotFlipRotate, ScaleCropFlip };

/// Augments images [B, C, H, W] and masks [B, H, W] (same device), replacing both. `first` is the
/// position of row 0 in the epoch's order; `fillLabel` labels pixels padded in (ScaleCropFlip).
/// Non-square images skip the odd rot90s.
void augmentBatch(Augmentation kind, at::Tensor& images, at::Tensor& masks, uint64_t seed, int64_t epoch, int64_t first,
                  int64_t fillLabel);

}  // namespace segloss::trainer
