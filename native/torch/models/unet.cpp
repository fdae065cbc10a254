// UNet (unet.h).
#include "unet.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/options/upsampling.h>
#include <torch/nn/functional/upsampling.h>

namespace segloss::models {
namespace nn = torch::nn;

namespace {

nn::Conv2d conv3x3NoBias(int64_t in, int64_t out) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1).bias(false));
}

}  // namespace

DoubleConvImpl::DoubleConvImpl(int64_t inChannels, int64_t outChannels, int64_t midChannels) {
  const int64_t mid = midChannels > 0 ? midChannels : outChannels;
  doubleConv = register_module(
      "double_conv", nn::Sequential(conv3x3NoBias(inChannels, mid), nn::BatchNorm2d(mid),
                                    nn::ReLU(nn::ReLUOptions().inplace(true)), conv3x3NoBias(mid, outChannels),
                                    nn::BatchNorm2d(outChannels), nn::ReLU(nn::ReLUOptions().inplace(true))));
}

at::Tensor DoubleConvImpl::forward(const at::Tensor& x) { return doubleConv->forward(x); }

DownImpl::DownImpl(int64_t inChannels, int64_t outChannels) {
  maxpoolConv = register_module("maxpool_conv",
                                nn::Sequential(nn::MaxPool2d(nn::MaxPool2dOptions(2)), DoubleConv(inChannels, outChannels)));
}

at::Tensor DownImpl::forward(const at::Tensor& x) { return maxpoolConv->forward(x); }

UpImpl::UpImpl(int64_t inChannels, int64_t outChannels, bool bilinearUp) : bilinear(bilinearUp) {
  if (bilinear) {
    conv = register_module("conv", DoubleConv(inChannels, outChannels, inChannels / 2));
  } else {
    up = register_module("up", nn::ConvTranspose2d(nn::ConvTranspose2dOptions(inChannels, inChannels / 2, 2).stride(2)));
    conv = register_module("conv", DoubleConv(inChannels, outChannels));
  }
}

at::Tensor UpImpl::forward(const at::Tensor& below, const at::Tensor& skip) {
  at::Tensor x = bilinear ? nn::functional::interpolate(below, nn::functional::InterpolateFuncOptions()
                                                                   .scale_factor(std::vector<double>{2.0, 2.0})
                                                                   .mode(torch::kBilinear)
                                                                   .align_corners(true))
                          : up->forward(below);
  const int64_t dy = skip.size(2) - x.size(2);
  const int64_t dx = skip.size(3) - x.size(3);
  if (dy != 0 || dx != 0) x = at::constant_pad_nd(x, {dx / 2, dx - dx / 2, dy / 2, dy - dy / 2}, 0.0);
  return conv->forward(at::cat({skip, x}, 1));
}

OutConvImpl::OutConvImpl(int64_t inChannels, int64_t numClasses) {
  conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(inChannels, numClasses, 1)));
}

at::Tensor OutConvImpl::forward(const at::Tensor& x) { return conv->forward(x); }

UNetImpl::UNetImpl(const UNetOptions& opts) : options(opts) {
  const int64_t b = options.baseChannels();
  const int64_t factor = options.bilinear() ? 2 : 1;
  const bool bl = options.bilinear();
  inc = register_module("inc", DoubleConv(options.inChannels(), b));
  down1 = register_module("down1", Down(b, 2 * b));
  down2 = register_module("down2", Down(2 * b, 4 * b));
  down3 = register_module("down3", Down(4 * b, 8 * b));
  down4 = register_module("down4", Down(8 * b, 16 * b / factor));
  up1 = register_module("up1", Up(16 * b, 8 * b / factor, bl));
  up2 = register_module("up2", Up(8 * b, 4 * b / factor, bl));
  up3 = register_module("up3", Up(4 * b, 2 * b / factor, bl));
  up4 = register_module("up4", Up(2 * b, b, bl));
  outc = register_module("outc", OutConv(b, options.numClasses()));
}

SegmentationOutput UNetImpl::forwardWithFeatures(const at::Tensor& images) {
  const at::Tensor x1 = inc->forward(images);
  const at::Tensor x2 = down1->forward(x1);
  const at::Tensor x3 = down2->forward(x2);
  const at::Tensor x4 = down3->forward(x3);
  const at::Tensor x5 = down4->forward(x4);
  at::Tensor x = up1->forward(x5, x4);
  x = up2->forward(x, x3);
  x = up3->forward(x, x2);
  x = up4->forward(x, x1);
  return {outc->forward(x), x};
}

at::Tensor UNetImpl::forward(const at::Tensor& images) { return forwardWithFeatures(images).logits; }

}  // namespace segloss::models
