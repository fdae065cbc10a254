// UNet (Ronneberger et al. 2015, "U-Net: Convolutional Networks for Biomedical Image Segmentation")
// in the layout of milesial/Pytorch-UNet: double 3×3 conv (no bias) + BatchNorm + ReLU, 2×2 max-pool
// down, 2×2 transposed conv (or bilinear ×2) up, zero-padded to the skip's size, skip concatenation
// [skip, up], 1×1 head. Module and parameter names are those of the PyTorch module in
// python/unet.py, so state dicts move between the two unchanged (`inc.double_conv.0.weight`,
// `down1.maxpool_conv.1.double_conv.0.weight`, `up1.up.weight`, `outc.conv.bias`, ...).
//
//   UNet net(UNetOptions().inChannels(1).numClasses(9));   // baseChannels 64: 31,037,001 parameters
//   at::Tensor logits = net->forward(images);               // [B, 1, H, W] → [B, 9, H, W]
#pragma once

#include <cstdint>

#include <ATen/ATen.h>
#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

namespace segloss::models {

/// Options of UNet; channels run baseChannels, 2·, 4·, 8·, 16·baseChannels (÷2 at the bottom with bilinear).
struct UNetOptions {
  TORCH_ARG(int64_t, inChannels) = 1;     // Cin of the images
  TORCH_ARG(int64_t, numClasses) = 2;     // K output channels (logits)
  TORCH_ARG(int64_t, baseChannels) = 64;  // channels of the first level
  TORCH_ARG(bool, bilinear) = false;      // bilinear ×2 upsampling instead of transposed convs
};

/// (3×3 conv without bias → BatchNorm → ReLU) × 2, as `double_conv` = Sequential(0..5).
class DoubleConvImpl : public torch::nn::Module {
 public:
  DoubleConvImpl(int64_t inChannels, int64_t outChannels, int64_t midChannels = 0 /* 0: outChannels */);
  at::Tensor forward(const at::Tensor& x /* [B, in, H, W] */);  // → [B, out, H, W]

  torch::nn::Sequential doubleConv{nullptr};
};
TORCH_MODULE(DoubleConv);

/// 2×2 max-pool then DoubleConv, as `maxpool_conv` = Sequential(MaxPool2d, DoubleConv).
class DownImpl : public torch::nn::Module {
 public:
  DownImpl(int64_t inChannels, int64_t outChannels);
  at::Tensor forward(const at::Tensor& x /* [B, in, H, W] */);  // → [B, out, ⌊H/2⌋, ⌊W/2⌋]

  torch::nn::Sequential maxpoolConv{nullptr};
};
TORCH_MODULE(Down);

/// Upsample ×2 (`up`: ConvTranspose2d(in, in/2, 2, stride 2), or bilinear with align_corners),
/// zero-pad to the skip's size (split as F.pad [dx/2, dx − dx/2, dy/2, dy − dy/2]), concat
/// [skip, up] on channels, DoubleConv (`conv`).
class UpImpl : public torch::nn::Module {
 public:
  UpImpl(int64_t inChannels, int64_t outChannels, bool bilinear);
  at::Tensor forward(const at::Tensor& below /* [B, in, h, w] */, const at::Tensor& skip /* [B, in/2, H, W] */);

  torch::nn::ConvTranspose2d up{nullptr};  // null with bilinear
  DoubleConv conv{nullptr};
  bool bilinear = false;
};
TORCH_MODULE(Up);

/// The 1×1 head with bias, as `conv`.
class OutConvImpl : public torch::nn::Module {
 public:
  OutConvImpl(int64_t inChannels, int64_t numClasses);
  at::Tensor forward(const at::Tensor& x /* [B, in, H, W] */);  // → [B, K, H, W]

  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(OutConv);

/// What a forward pass gives: the logits and the last decoder feature map (for heads and losses
/// that take features, e.g. the boundary losses).
struct SegmentationOutput {
  at::Tensor logits;    // [B, K, H, W]
  at::Tensor features;  // [B, F, H, W] (UNet: F = baseChannels)
};

/// The UNet: `inc`, `down1`..`down4`, `up1`..`up4`, `outc` (`outc.conv` is the 1×1 head with bias).
class UNetImpl : public torch::nn::Module {
 public:
  explicit UNetImpl(const UNetOptions& options = {});
  /// [B, Cin, H, W] float → [B, K, H, W] logits. Any H, W ≥ 16 (odd sizes are padded at each skip).
  at::Tensor forward(const at::Tensor& images);
  /// The logits and the last decoder features [B, baseChannels, H, W].
  SegmentationOutput forwardWithFeatures(const at::Tensor& images /* [B, Cin, H, W] */);

  UNetOptions options;
  DoubleConv inc{nullptr};
  Down down1{nullptr}, down2{nullptr}, down3{nullptr}, down4{nullptr};
  Up up1{nullptr}, up2{nullptr}, up3{nullptr}, up4{nullptr};
  OutConv outc{nullptr};
};
TORCH_MODULE(UNet);

}  // namespace segloss::models
