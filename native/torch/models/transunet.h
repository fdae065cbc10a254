// TransUNet (Chen et al. 2021, "TransUNet: Transformers Make Strong Encoders for Medical Image
// Segmentation"), R50-ViT-B/16 as published (Beckschen/TransUNet networks/vit_seg_modeling*.py):
//   hybrid encoder: ResNet-50 v2 root (7×7/2 weight-standardised conv, GroupNorm 32, ReLU, 3×3/2
//     max-pool) and 3 stages of 3, 4, 9 pre-activation bottlenecks (weight-standardised convs,
//     GroupNorm), the 1/4 skip zero-padded to imageSize/4 as in the reference;
//   1×1 patch embedding of the 1/16 map + learned position embeddings; `layers` × (LayerNorm,
//     `heads`-head attention, LayerNorm, MLP `mlp` with GELU) at width `hidden`; final LayerNorm;
//   cascaded upsampler: 3×3 conv to 512, 4 × (bilinear ×2, concat skip, 2 × (3×3 conv, BN, ReLU))
//     with decoder channels 256, 128, 64, 16 and skips 512 (1/8), 256 (1/4), 64 (1/2); 3×3 head.
// A 1-channel input is repeated to 3. Module names are the reference's (python/transunet.py),
// so state dicts move between the two. At imageSize 224 and 9 classes: 105,277,081 parameters.
//
//   TransUNet net(TransUNetOptions::preset("b16").numClasses(9).imageSize(224));
//   at::Tensor logits = net->forward(images);   // [B, 1 or 3, 224, 224] → [B, 9, 224, 224]
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <c10/util/Optional.h>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "unet.h"  // SegmentationOutput

namespace segloss::models {

/// Options of TransUNet; the transformer sizes default to ViT-B/16 (preset 'b16').
struct TransUNetOptions {
  TORCH_ARG(int64_t, inChannels) = 1;    // 1 (repeated to 3) or 3
  TORCH_ARG(int64_t, numClasses) = 2;    // K
  TORCH_ARG(int64_t, imageSize) = 224;   // H = W, a multiple of 16 (fixes the position embeddings)
  TORCH_ARG(int64_t, hidden) = 768;      // transformer width
  TORCH_ARG(int64_t, layers) = 12;       // transformer blocks
  TORCH_ARG(int64_t, heads) = 12;        // attention heads (hidden % heads == 0)
  TORCH_ARG(int64_t, mlp) = 3072;        // MLP width
  TORCH_ARG(double, dropout) = 0.1;      // after the embeddings and in the MLPs (attention: 0, as published)

  /// 'b16' (768, 12, 12, 3072), 's16' (384, 12, 6, 1536), 'ti16' (192, 12, 3, 768): hidden, layers, heads, mlp.
  /// Throws std::invalid_argument for another name.
  static TransUNetOptions preset(const std::string& name);
};

/// Where dropout masks come from: the trainer's generator (so training is deterministic), or
/// libtorch's default generator when unset.
struct RandomSource {
  c10::optional<at::Generator> generator;  // c10::optional: a distinct type from std::optional in libtorch 1.13
};

/// Conv2d with weight standardisation (w − mean) / √(var + 1e-5) over [Cin, kh, kw] (BiT).
class StdConv2dImpl : public torch::nn::Module {
 public:
  StdConv2dImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0);
  at::Tensor forward(const at::Tensor& x /* [B, in, H, W] */);

  at::Tensor weight;  // [out, in, k, k]
  int64_t stride, padding;
};
TORCH_MODULE(StdConv2d);

/// Pre-activation bottleneck v2 (as the reference: conv → GroupNorm → ReLU, stride on conv2,
/// projection `downsample` + `gn_proj` when the shape changes).
class PreActBottleneckImpl : public torch::nn::Module {
 public:
  PreActBottleneckImpl(int64_t in, int64_t out, int64_t mid, int64_t stride);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::GroupNorm gn1{nullptr}, gn2{nullptr}, gn3{nullptr}, gnProj{nullptr};
  StdConv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr}, downsample{nullptr};
};
TORCH_MODULE(PreActBottleneck);

/// The ResNet-50 v2 root and stages (`root.conv`, `root.gn`, `body.block{1,2,3}.unit{i}`).
class ResNetV2Impl : public torch::nn::Module {
 public:
  ResNetV2Impl(const std::vector<int64_t>& units = {3, 4, 9}, int64_t width = 64);
  /// [B, 3, S, S] → the 1/16 map [B, 16·width, S/16, S/16]; skips: 1/8 (8·width), 1/4 (4·width,
  /// zero-padded to S/4), 1/2 (width), in that order.
  at::Tensor forward(const at::Tensor& x, std::vector<at::Tensor>& skips);

  int64_t width;
  torch::nn::Sequential root{nullptr};
  std::vector<torch::nn::Sequential> stages;
};
TORCH_MODULE(ResNetV2);

/// Multi-head self-attention (`query`, `key`, `value`, `out`).
class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(int64_t hidden, int64_t heads);
  at::Tensor forward(const at::Tensor& x /* [B, N, hidden] */);

  int64_t heads;
  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr}, out{nullptr};
};
TORCH_MODULE(Attention);

/// fc1 → GELU → dropout → fc2 → dropout.
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t hidden, int64_t mlp, double dropout, std::shared_ptr<RandomSource> random);
  at::Tensor forward(const at::Tensor& x /* [B, N, hidden] */);

  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  double dropout;
  std::shared_ptr<RandomSource> random;
};
TORCH_MODULE(Mlp);

/// x + attn(attention_norm(x)), then x + ffn(ffn_norm(x)).
class TransformerBlockImpl : public torch::nn::Module {
 public:
  TransformerBlockImpl(const TransUNetOptions& o, std::shared_ptr<RandomSource> random);
  at::Tensor forward(const at::Tensor& x /* [B, N, hidden] */);

  torch::nn::LayerNorm attentionNorm{nullptr}, ffnNorm{nullptr};
  Mlp ffn{nullptr};
  Attention attn{nullptr};
};
TORCH_MODULE(TransformerBlock);

/// `transformer.embeddings`: hybrid_model, patch_embeddings (1×1 conv), position_embeddings, dropout.
class EmbeddingsImpl : public torch::nn::Module {
 public:
  EmbeddingsImpl(const TransUNetOptions& o, std::shared_ptr<RandomSource> random);
  /// [B, 3, S, S] → tokens [B, (S/16)², hidden]; fills the skips.
  at::Tensor forward(const at::Tensor& images, std::vector<at::Tensor>& skips);

  ResNetV2 hybridModel{nullptr};
  torch::nn::Conv2d patchEmbeddings{nullptr};
  at::Tensor positionEmbeddings;  // [1, (S/16)², hidden], zeros at construction (as the reference)
  double dropout;
  std::shared_ptr<RandomSource> random;
};
TORCH_MODULE(Embeddings);

/// `transformer.encoder`: layer.i (TransformerBlock) and encoder_norm.
class EncoderImpl : public torch::nn::Module {
 public:
  EncoderImpl(const TransUNetOptions& o, std::shared_ptr<RandomSource> random);
  at::Tensor forward(const at::Tensor& tokens /* [B, N, hidden] */);

  std::vector<TransformerBlock> blocks;
  torch::nn::LayerNorm encoderNorm{nullptr};
};
TORCH_MODULE(Encoder);

/// The cascaded upsampler (`conv_more`, `blocks.i.conv{1,2}`).
class DecoderCupImpl : public torch::nn::Module {
 public:
  explicit DecoderCupImpl(int64_t hidden);
  /// tokens [B, N, hidden] (N a square) and skips (1/8, 1/4, 1/2) → [B, 16, 16·√N, 16·√N].
  at::Tensor forward(const at::Tensor& tokens, const std::vector<at::Tensor>& skips);

  torch::nn::Sequential convMore{nullptr};
  std::vector<torch::nn::Sequential> conv1, conv2;  // per decoder block
};
TORCH_MODULE(DecoderCup);

/// The whole network: `transformer.{embeddings,encoder}`, `decoder`, `segmentation_head`.
class TransUNetImpl : public torch::nn::Module {
 public:
  explicit TransUNetImpl(const TransUNetOptions& options = {});
  /// [B, inChannels, S, S] → [B, K, S, S] logits (S = imageSize).
  at::Tensor forward(const at::Tensor& images);
  /// The logits and the last decoder features [B, 16, S, S].
  SegmentationOutput forwardWithFeatures(const at::Tensor& images);
  /// Dropout masks from `generator` (the trainer's) from now on.
  void setGenerator(at::Generator generator);
  /// The reference's MLP initialisation (xavier-uniform weights, N(0, 1e-6) biases) from `generator`.
  void initMlps(at::Generator& generator);

  TransUNetOptions options;
  std::shared_ptr<RandomSource> random = std::make_shared<RandomSource>();
  std::shared_ptr<torch::nn::Module> transformer;  // holds `embeddings` and `encoder`
  Embeddings embeddings{nullptr};
  Encoder encoder{nullptr};
  DecoderCup decoder{nullptr};
  torch::nn::Sequential segmentationHead{nullptr};
};
TORCH_MODULE(TransUNet);

/// Loads the published R50+ViT-B_16.npz key layout (`embedding/kernel`, `Transformer/encoderblock_i/
/// MultiHeadDotProductAttention_1/query/kernel`, `conv_root/kernel`, `block1/unit1/conv1/kernel`, ...)
/// into the encoder, as the reference's `load_from`: HWIO kernels transposed to OIHW, attention
/// kernels reshaped, the position-embedding grid resized (bilinear, corners aligned) when the
/// image size differs. The decoder and head keep their weights. Throws std::invalid_argument
/// naming a missing or mis-shaped key.
void loadViTWeights(TransUNetImpl& model, const std::map<std::string, at::Tensor>& weights);

}  // namespace segloss::models
