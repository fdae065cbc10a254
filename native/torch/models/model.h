// The segmentation models the trainer can build, behind one handle, and what every model needs
// around it: PyTorch's default initialisation drawn from a given generator (so a seed fixes the
// weights), the parameter count, and state dicts in PyTorch's key order.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include "transunet.h"
#include "unet.h"

namespace segloss::models {

/// Which model to build, with its options.
using ModelOptions = std::variant<UNetOptions, TransUNetOptions>;

/// A built model: the module tree (for parameters, modes and state dicts) and its forward pass.
struct SegmentationModel {
  std::string name;                                               // 'unet' | 'transunet'
  std::shared_ptr<torch::nn::Module> module;                      // the root module
  std::function<SegmentationOutput(const at::Tensor&)> forward;  // [B, Cin, H, W] → logits [B, K, H, W], features
  int64_t numClasses = 0;                                         // K
  int64_t inChannels = 0;                                         // Cin
  int64_t fixedSize = 0;                                          // S when inputs must be S × S (TransUNet), else 0
  /// Loads the published ViT npz into the encoder (TransUNet only; empty for other models).
  std::function<void(const std::string& npzPath)> loadViTWeights;
  /// The 1×1 head that maps the features to the logits: its weight [K, F, 1, 1] and bias [K], the
  /// module's own parameters (UNet: `outc.conv`). Empty for a model whose head is not a 1×1
  /// convolution of the features it returns (TransUNet's segmentation head is 3×3).
  std::function<std::pair<at::Tensor, at::Tensor>()> classifier;
};

/// Builds the model on the CPU, initialised as PyTorch initialises it (Conv / ConvTranspose /
/// Linear weights and biases uniform in ±1/√fan_in, norms 1 and 0; TransUNet's MLPs as the
/// reference) with values drawn from `generator`, which also drives the model's dropout.
SegmentationModel makeModel(const ModelOptions& options, at::Generator& generator);

/// PyTorch's default `reset_parameters()` of every Conv*d, ConvTranspose*d and Linear in the tree
/// (kaiming_uniform(a = √5) = U(±1/√fan_in), fan_in = weight.size(1) · receptive field; bias the
/// same bound), drawing from `generator`. Other parameters are left as constructed.
void initParameters(torch::nn::Module& root, at::Generator& generator);

/// Σ numel over the parameters.
int64_t parameterCount(const torch::nn::Module& root);

/// Parameters and buffers as PyTorch's `state_dict()` names and orders them (per module, in
/// pre-order: its parameters, then its buffers). Tensors are the module's own (not copies).
std::vector<std::pair<std::string, at::Tensor>> stateDict(const torch::nn::Module& root);

/// Copies `entries` into the module's parameters and buffers (no autograd). Throws
/// std::invalid_argument naming the first missing, unexpected or mis-shaped key.
void loadStateDict(torch::nn::Module& root, const std::vector<std::pair<std::string, at::Tensor>>& entries);

}  // namespace segloss::models
