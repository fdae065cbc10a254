// Model handle, initialisation and state dicts (model.h).
#include "model.h"

#include <cmath>
#include <map>
#include <stdexcept>

#include <ATen/core/grad_mode.h>

#include "npz.h"

namespace segloss::models {

namespace {

std::string sizesText(at::IntArrayRef sizes) {
  std::string text = "[";
  for (size_t i = 0; i < sizes.size(); ++i) text += (i ? ", " : "") + std::to_string(sizes[i]);
  return text + "]";
}

std::string joinName(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

// The module's own parameter `name`, or an undefined tensor.
at::Tensor ownParameter(const torch::nn::Module& module, const char* name) {
  const auto parameters = module.named_parameters(/*recurse=*/false);
  const at::Tensor* found = parameters.find(name);
  return found ? *found : at::Tensor();
}

}  // namespace

SegmentationModel makeModel(const ModelOptions& options, at::Generator& generator) {
  SegmentationModel model;
  std::visit(
      [&](const auto& o) {
        using O = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<O, UNetOptions>) {
          UNet net(o);
          model.name = "unet";
          model.module = net.ptr();
          model.forward = [net](const at::Tensor& images) mutable { return net->forwardWithFeatures(images); };
          model.classifier = [net]() { return std::make_pair(net->outc->conv->weight, net->outc->conv->bias); };
          model.numClasses = o.numClasses();
          model.inChannels = o.inChannels();
          initParameters(*model.module, generator);
        } else {
          TransUNet net(o);
          model.name = "transunet";
          model.module = net.ptr();
          model.forward = [net](const at::Tensor& images) mutable { return net->forwardWithFeatures(images); };
          model.fixedSize = o.imageSize();
          model.loadViTWeights = [net](const std::string& path) mutable { loadViTWeights(*net, readNpz(path)); };
          model.numClasses = o.numClasses();
          model.inChannels = o.inChannels();
          initParameters(*model.module, generator);
          net->initMlps(generator);
          net->setGenerator(generator);
        }
      },
      options);
  return model;
}

void initParameters(torch::nn::Module& root, at::Generator& generator) {
  const at::NoGradGuard noGrad;
  for (const auto& module : root.modules(/*include_self=*/true)) {
    // Conv*d / ConvTranspose*d / Linear: a `weight` of rank ≥ 2 (norm layers' weights have rank 1).
    at::Tensor weight = ownParameter(*module, "weight");
    if (!weight.defined() || weight.dim() < 2) continue;
    const int64_t fanIn = weight.numel() / weight.size(0);  // size(1) · receptive field
    const double bound = fanIn > 0 ? 1.0 / std::sqrt(static_cast<double>(fanIn)) : 0.0;
    weight.uniform_(-bound, bound, generator);
    at::Tensor bias = ownParameter(*module, "bias");
    if (bias.defined()) bias.uniform_(-bound, bound, generator);
  }
}

int64_t parameterCount(const torch::nn::Module& root) {
  int64_t count = 0;
  for (const at::Tensor& p : root.parameters()) count += p.numel();
  return count;
}

std::vector<std::pair<std::string, at::Tensor>> stateDict(const torch::nn::Module& root) {
  std::vector<std::pair<std::string, at::Tensor>> entries;
  for (const auto& item : root.named_modules(/*name_prefix=*/"", /*include_self=*/true)) {
    for (const auto& p : item.value()->named_parameters(/*recurse=*/false)) {
      if (p.value().defined()) entries.emplace_back(joinName(item.key(), p.key()), p.value());
    }
    for (const auto& b : item.value()->named_buffers(/*recurse=*/false)) {
      if (b.value().defined()) entries.emplace_back(joinName(item.key(), b.key()), b.value());
    }
  }
  return entries;
}

void loadStateDict(torch::nn::Module& root, const std::vector<std::pair<std::string, at::Tensor>>& entries) {
  std::map<std::string, at::Tensor> given(entries.begin(), entries.end());
  const auto own = stateDict(root);
  for (const auto& [name, tensor] : own) {
    const auto it = given.find(name);
    if (it == given.end()) throw std::invalid_argument("state dict lacks '" + name + "'");
    if (it->second.sizes() != tensor.sizes()) {
      throw std::invalid_argument("state dict entry '" + name + "' has shape " + sizesText(it->second.sizes()) +
                                  ", the model expects " + sizesText(tensor.sizes()));
    }
  }
  if (given.size() != own.size()) {
    std::map<std::string, bool> known;
    for (const auto& entry : own) known[entry.first] = true;
    for (const auto& entry : given) {
      if (!known.count(entry.first)) throw std::invalid_argument("state dict has unexpected key '" + entry.first + "'");
    }
  }
  const at::NoGradGuard noGrad;
  for (const auto& [name, tensor] : own) {
    at::Tensor(tensor).copy_(given.at(name));
  }
}

}  // namespace segloss::models
