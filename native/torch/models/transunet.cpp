// TransUNet R50-ViT (transunet.h).
#include "transunet.h"

#include <cmath>
#include <stdexcept>

#include <ATen/core/grad_mode.h>
#include <torch/nn/functional/upsampling.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/linear.h>

namespace segloss::models {
namespace nn = torch::nn;

TransUNetOptions TransUNetOptions::preset(const std::string& name) {
  TransUNetOptions o;
  if (name == "b16") return o.hidden(768).layers(12).heads(12).mlp(3072);
  if (name == "s16") return o.hidden(384).layers(12).heads(6).mlp(1536);
  if (name == "ti16") return o.hidden(192).layers(12).heads(3).mlp(768);
  throw std::invalid_argument("unknown ViT preset '" + name + "' (b16, s16, ti16)");
}

namespace {

// Inverted dropout with masks drawn from the model's random source.
at::Tensor dropoutOf(const at::Tensor& x, double p, bool training, const RandomSource& random) {
  if (!training || p <= 0.0) return x;
  const at::Tensor keep = at::empty_like(x).bernoulli_(1.0 - p, random.generator);
  return x * keep / (1.0 - p);
}

nn::Sequential conv2dReLU(int64_t in, int64_t out) {
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1).bias(false)), nn::BatchNorm2d(out),
                        nn::ReLU(nn::ReLUOptions().inplace(true)));
}

at::Tensor upsample2x(const at::Tensor& x) {
  return nn::functional::interpolate(x, nn::functional::InterpolateFuncOptions()
                                            .scale_factor(std::vector<double>{2.0, 2.0})
                                            .mode(torch::kBilinear)
                                            .align_corners(true));
}

nn::GroupNorm groupNorm(int64_t groups, int64_t channels, double eps) {
  return nn::GroupNorm(nn::GroupNormOptions(groups, channels).eps(eps));
}

}  // namespace

StdConv2dImpl::StdConv2dImpl(int64_t in, int64_t out, int64_t kernel, int64_t strideIn, int64_t paddingIn)
    : stride(strideIn), padding(paddingIn) {
  weight = register_parameter("weight", at::empty({out, in, kernel, kernel}));
}

at::Tensor StdConv2dImpl::forward(const at::Tensor& x) {
  const auto [variance, mean] = at::var_mean(weight, {1, 2, 3}, /*unbiased=*/false, /*keepdim=*/true);
  const at::Tensor w = (weight - mean) / at::sqrt(variance + 1e-5);
  return at::conv2d(x, w, {}, {stride, stride}, {padding, padding});
}

PreActBottleneckImpl::PreActBottleneckImpl(int64_t in, int64_t out, int64_t mid, int64_t stride) {
  gn1 = register_module("gn1", groupNorm(32, mid, 1e-6));
  conv1 = register_module("conv1", StdConv2d(in, mid, 1));
  gn2 = register_module("gn2", groupNorm(32, mid, 1e-6));
  conv2 = register_module("conv2", StdConv2d(mid, mid, 3, stride, 1));
  gn3 = register_module("gn3", groupNorm(32, out, 1e-6));
  conv3 = register_module("conv3", StdConv2d(mid, out, 1));
  if (stride != 1 || in != out) {
    downsample = register_module("downsample", StdConv2d(in, out, 1, stride));
    gnProj = register_module("gn_proj", groupNorm(out, out, 1e-5));
  }
}

at::Tensor PreActBottleneckImpl::forward(const at::Tensor& x) {
  const at::Tensor residual = downsample ? gnProj->forward(downsample->forward(x)) : x;
  at::Tensor y = at::relu(gn1->forward(conv1->forward(x)));
  y = at::relu(gn2->forward(conv2->forward(y)));
  y = gn3->forward(conv3->forward(y));
  return at::relu(residual + y);
}

ResNetV2Impl::ResNetV2Impl(const std::vector<int64_t>& units, int64_t widthIn) : width(widthIn) {
  root = register_module("root", nn::Sequential({{"conv", StdConv2d(3, width, 7, 2, 3)},
                                                  {"gn", groupNorm(32, width, 1e-6)},
                                                  {"relu", nn::ReLU(nn::ReLUOptions().inplace(true))}}));
  auto body = register_module("body", std::make_shared<nn::Module>());
  const int64_t w = width;
  const int64_t specs[3][4] = {{w, 4 * w, w, 1}, {4 * w, 8 * w, 2 * w, 2}, {8 * w, 16 * w, 4 * w, 2}};
  for (size_t b = 0; b < 3; ++b) {
    nn::Sequential stage;
    const auto& [in, out, mid, stride] = specs[b];
    stage->push_back("unit1", PreActBottleneck(in, out, mid, stride));
    for (int64_t u = 2; u <= units[b]; ++u) stage->push_back("unit" + std::to_string(u), PreActBottleneck(out, out, mid, 1));
    stages.push_back(body->register_module("block" + std::to_string(b + 1), stage));
  }
}

at::Tensor ResNetV2Impl::forward(const at::Tensor& images, std::vector<at::Tensor>& skips) {
  const int64_t size = images.size(2);
  at::Tensor x = root->forward(images);
  std::vector<at::Tensor> features{x};  // 1/2
  x = at::max_pool2d(x, {3, 3}, {2, 2}, {0, 0});
  for (size_t i = 0; i + 1 < stages.size(); ++i) {
    x = stages[i]->forward(x);
    const int64_t right = static_cast<int64_t>(static_cast<double>(size) / 4.0 / static_cast<double>(i + 1));
    const int64_t pad = right - x.size(2);
    // The reference pads the 1/4 map (55 → 56 at 224) with zeros at the bottom and right.
    features.push_back(pad > 0 ? at::constant_pad_nd(x, {0, right - x.size(3), 0, pad}, 0.0) : x);
  }
  skips.assign(features.rbegin(), features.rend());  // 1/8, 1/4, 1/2
  return stages.back()->forward(x);
}

AttentionImpl::AttentionImpl(int64_t hidden, int64_t headsIn) : heads(headsIn) {
  query = register_module("query", nn::Linear(hidden, hidden));
  key = register_module("key", nn::Linear(hidden, hidden));
  value = register_module("value", nn::Linear(hidden, hidden));
  out = register_module("out", nn::Linear(hidden, hidden));
}

at::Tensor AttentionImpl::forward(const at::Tensor& x) {
  const int64_t b = x.size(0), n = x.size(1), c = x.size(2), d = c / heads;
  const auto split = [&](const at::Tensor& t) { return t.view({b, n, heads, d}).permute({0, 2, 1, 3}); };
  const at::Tensor q = split(query->forward(x)), k = split(key->forward(x)), v = split(value->forward(x));
  const at::Tensor scores = at::matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(d));
  const at::Tensor context = at::matmul(at::softmax(scores, -1), v).permute({0, 2, 1, 3}).reshape({b, n, c});
  return out->forward(context);
}

MlpImpl::MlpImpl(int64_t hidden, int64_t mlp, double p, std::shared_ptr<RandomSource> source)
    : dropout(p), random(std::move(source)) {
  fc1 = register_module("fc1", nn::Linear(hidden, mlp));
  fc2 = register_module("fc2", nn::Linear(mlp, hidden));
}

at::Tensor MlpImpl::forward(const at::Tensor& x) {
  at::Tensor y = dropoutOf(at::gelu(fc1->forward(x)), dropout, is_training(), *random);
  return dropoutOf(fc2->forward(y), dropout, is_training(), *random);
}

TransformerBlockImpl::TransformerBlockImpl(const TransUNetOptions& o, std::shared_ptr<RandomSource> random) {
  attentionNorm = register_module("attention_norm", nn::LayerNorm(nn::LayerNormOptions({o.hidden()}).eps(1e-6)));
  ffnNorm = register_module("ffn_norm", nn::LayerNorm(nn::LayerNormOptions({o.hidden()}).eps(1e-6)));
  ffn = register_module("ffn", Mlp(o.hidden(), o.mlp(), o.dropout(), std::move(random)));
  attn = register_module("attn", Attention(o.hidden(), o.heads()));
}

at::Tensor TransformerBlockImpl::forward(const at::Tensor& x) {
  const at::Tensor h = x + attn->forward(attentionNorm->forward(x));
  return h + ffn->forward(ffnNorm->forward(h));
}

EmbeddingsImpl::EmbeddingsImpl(const TransUNetOptions& o, std::shared_ptr<RandomSource> source)
    : dropout(o.dropout()), random(std::move(source)) {
  const int64_t side = o.imageSize() / 16;
  positionEmbeddings = register_parameter("position_embeddings", at::zeros({1, side * side, o.hidden()}));
  hybridModel = register_module("hybrid_model", ResNetV2());
  patchEmbeddings = register_module("patch_embeddings", nn::Conv2d(nn::Conv2dOptions(hybridModel->width * 16, o.hidden(), 1)));
}

at::Tensor EmbeddingsImpl::forward(const at::Tensor& images, std::vector<at::Tensor>& skips) {
  const at::Tensor map = patchEmbeddings->forward(hybridModel->forward(images, skips));  // [B, hidden, S/16, S/16]
  const at::Tensor tokens = map.flatten(2).transpose(-1, -2);                              // [B, N, hidden]
  return dropoutOf(tokens + positionEmbeddings, dropout, is_training(), *random);
}

EncoderImpl::EncoderImpl(const TransUNetOptions& o, std::shared_ptr<RandomSource> random) {
  auto layer = register_module("layer", std::make_shared<nn::Module>());
  for (int64_t i = 0; i < o.layers(); ++i) blocks.push_back(layer->register_module(std::to_string(i), TransformerBlock(o, random)));
  encoderNorm = register_module("encoder_norm", nn::LayerNorm(nn::LayerNormOptions({o.hidden()}).eps(1e-6)));
}

at::Tensor EncoderImpl::forward(const at::Tensor& tokens) {
  at::Tensor x = tokens;
  for (auto& block : blocks) x = block->forward(x);
  return encoderNorm->forward(x);
}

DecoderCupImpl::DecoderCupImpl(int64_t hidden) {
  convMore = register_module("conv_more", conv2dReLU(hidden, 512));
  const int64_t ins[4] = {512, 256, 128, 64}, outs[4] = {256, 128, 64, 16}, skips[4] = {512, 256, 64, 0};
  auto blocks = register_module("blocks", std::make_shared<nn::Module>());
  for (int i = 0; i < 4; ++i) {
    auto block = blocks->register_module(std::to_string(i), std::make_shared<nn::Module>());
    conv1.push_back(block->register_module("conv1", conv2dReLU(ins[i] + skips[i], outs[i])));
    conv2.push_back(block->register_module("conv2", conv2dReLU(outs[i], outs[i])));
  }
}

at::Tensor DecoderCupImpl::forward(const at::Tensor& tokens, const std::vector<at::Tensor>& skips) {
  const int64_t b = tokens.size(0), n = tokens.size(1), c = tokens.size(2);
  const auto side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(n))));
  at::Tensor x = convMore->forward(tokens.permute({0, 2, 1}).contiguous().view({b, c, side, side}));
  for (size_t i = 0; i < conv1.size(); ++i) {
    x = upsample2x(x);
    if (i < skips.size()) x = at::cat({x, skips[i]}, 1);
    x = conv2[i]->forward(conv1[i]->forward(x));
  }
  return x;
}

TransUNetImpl::TransUNetImpl(const TransUNetOptions& o) : options(o) {
  if (o.hidden() % o.heads() != 0) throw std::invalid_argument("TransUNet: hidden must be a multiple of heads");
  if (o.imageSize() % 16 != 0) throw std::invalid_argument("TransUNet: imageSize must be a multiple of 16");
  transformer = register_module("transformer", std::make_shared<nn::Module>());
  embeddings = transformer->register_module("embeddings", Embeddings(o, random));
  encoder = transformer->register_module("encoder", Encoder(o, random));
  decoder = register_module("decoder", DecoderCup(o.hidden()));
  segmentationHead = register_module(
      "segmentation_head", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(16, o.numClasses(), 3).padding(1)), nn::Identity()));
}

SegmentationOutput TransUNetImpl::forwardWithFeatures(const at::Tensor& imagesIn) {
  const at::Tensor images = imagesIn.size(1) == 1 ? imagesIn.repeat({1, 3, 1, 1}) : imagesIn;
  std::vector<at::Tensor> skips;
  const at::Tensor tokens = encoder->forward(embeddings->forward(images, skips));
  const at::Tensor features = decoder->forward(tokens, skips);
  return {segmentationHead->forward(features), features};
}

at::Tensor TransUNetImpl::forward(const at::Tensor& images) { return forwardWithFeatures(images).logits; }

void TransUNetImpl::setGenerator(at::Generator generator) { random->generator = std::move(generator); }

void TransUNetImpl::initMlps(at::Generator& generator) {
  const at::NoGradGuard noGrad;
  for (auto& block : encoder->blocks) {
    for (auto* linear : {&block->ffn->fc1, &block->ffn->fc2}) {
      const at::Tensor& w = (*linear)->weight;
      const double bound = std::sqrt(6.0 / static_cast<double>(w.size(0) + w.size(1)));
      at::Tensor(w).uniform_(-bound, bound, generator);
      at::Tensor((*linear)->bias).normal_(0.0, 1e-6, generator);
    }
  }
}

// ---- the published npz layout ----------------------------------------------------------------

namespace {

class NpzWeights {
 public:
  explicit NpzWeights(const std::map<std::string, at::Tensor>& weights) : weights_(weights) {}

  at::Tensor get(const std::string& key) const {
    const auto it = weights_.find(key);
    if (it == weights_.end()) throw std::invalid_argument("the ViT weights lack '" + key + "'");
    return it->second.to(at::kFloat);
  }
  // HWIO → OIHW.
  at::Tensor conv(const std::string& key) const { return get(key).permute({3, 2, 0, 1}).contiguous(); }

 private:
  const std::map<std::string, at::Tensor>& weights_;
};

void copyInto(const at::Tensor& target, const at::Tensor& source, const std::string& key) {
  if (target.numel() != source.numel()) {
    throw std::invalid_argument("the ViT weights' '" + key + "' has " + std::to_string(source.numel()) + " values, the model expects " +
                                std::to_string(target.numel()));
  }
  at::Tensor(target).copy_(source.reshape(target.sizes()));
}

void loadGroupNorm(const nn::GroupNorm& gn, const NpzWeights& w, const std::string& prefix) {
  copyInto(gn->weight, w.get(prefix + "/scale").view(-1), prefix + "/scale");
  copyInto(gn->bias, w.get(prefix + "/bias").view(-1), prefix + "/bias");
}

// `key`/kernel ([in, out], or attention's [in, heads, d] / [heads, d, out]) transposed, and `key`/bias.
void loadLinear(const nn::Linear& linear, const NpzWeights& w, const std::string& key) {
  const at::Tensor kernel = w.get(key + "/kernel");
  copyInto(linear->weight, kernel.reshape({linear->weight.size(1), linear->weight.size(0)}).t(), key + "/kernel");
  copyInto(linear->bias, w.get(key + "/bias").reshape(-1), key + "/bias");
}

void loadUnit(PreActBottleneckImpl& unit, const NpzWeights& w, const std::string& prefix) {
  copyInto(unit.conv1->weight, w.conv(prefix + "/conv1/kernel"), prefix + "/conv1/kernel");
  copyInto(unit.conv2->weight, w.conv(prefix + "/conv2/kernel"), prefix + "/conv2/kernel");
  copyInto(unit.conv3->weight, w.conv(prefix + "/conv3/kernel"), prefix + "/conv3/kernel");
  loadGroupNorm(unit.gn1, w, prefix + "/gn1");
  loadGroupNorm(unit.gn2, w, prefix + "/gn2");
  loadGroupNorm(unit.gn3, w, prefix + "/gn3");
  if (unit.downsample) {
    copyInto(unit.downsample->weight, w.conv(prefix + "/conv_proj/kernel"), prefix + "/conv_proj/kernel");
    loadGroupNorm(unit.gnProj, w, prefix + "/gn_proj");
  }
}

// The published [1, 1 + g², hidden] (class token first) or [1, g², hidden] → [1, N, hidden].
at::Tensor positionGrid(const at::Tensor& given, const at::Tensor& target) {
  if (given.sizes() == target.sizes()) return given;
  if (given.size(1) - 1 == target.size(1)) return given.narrow(1, 1, target.size(1));
  const at::Tensor grid = given.narrow(1, 1, given.size(1) - 1);  // the reference drops the first (class) token
  const auto old = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(grid.size(1)))));
  const auto side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(target.size(1)))));
  const int64_t hidden = grid.size(2);
  const at::Tensor image = grid.reshape({1, old, old, hidden}).permute({0, 3, 1, 2});
  const at::Tensor resized = at::upsample_bilinear2d(image, {side, side}, /*align_corners=*/true);
  return resized.permute({0, 2, 3, 1}).reshape({1, side * side, hidden});
}

}  // namespace

void loadViTWeights(TransUNetImpl& model, const std::map<std::string, at::Tensor>& weights) {
  const at::NoGradGuard noGrad;
  const NpzWeights w(weights);
  EmbeddingsImpl& e = *model.embeddings;
  copyInto(e.patchEmbeddings->weight, w.conv("embedding/kernel"), "embedding/kernel");
  copyInto(e.patchEmbeddings->bias, w.get("embedding/bias"), "embedding/bias");
  copyInto(e.positionEmbeddings, positionGrid(w.get("Transformer/posembed_input/pos_embedding"), e.positionEmbeddings),
           "Transformer/posembed_input/pos_embedding");
  EncoderImpl& encoder = *model.encoder;
  copyInto(encoder.encoderNorm->weight, w.get("Transformer/encoder_norm/scale"), "Transformer/encoder_norm/scale");
  copyInto(encoder.encoderNorm->bias, w.get("Transformer/encoder_norm/bias"), "Transformer/encoder_norm/bias");
  for (size_t i = 0; i < encoder.blocks.size(); ++i) {
    TransformerBlockImpl& block = *encoder.blocks[i];
    const std::string p = "Transformer/encoderblock_" + std::to_string(i);
    const std::string a = p + "/MultiHeadDotProductAttention_1";
    loadLinear(block.attn->query, w, a + "/query");
    loadLinear(block.attn->key, w, a + "/key");
    loadLinear(block.attn->value, w, a + "/value");
    loadLinear(block.attn->out, w, a + "/out");
    loadLinear(block.ffn->fc1, w, p + "/MlpBlock_3/Dense_0");
    loadLinear(block.ffn->fc2, w, p + "/MlpBlock_3/Dense_1");
    copyInto(block.attentionNorm->weight, w.get(p + "/LayerNorm_0/scale"), p + "/LayerNorm_0/scale");
    copyInto(block.attentionNorm->bias, w.get(p + "/LayerNorm_0/bias"), p + "/LayerNorm_0/bias");
    copyInto(block.ffnNorm->weight, w.get(p + "/LayerNorm_2/scale"), p + "/LayerNorm_2/scale");
    copyInto(block.ffnNorm->bias, w.get(p + "/LayerNorm_2/bias"), p + "/LayerNorm_2/bias");
  }
  ResNetV2Impl& resnet = *e.hybridModel;
  copyInto(resnet.root[0]->as<StdConv2dImpl>()->weight, w.conv("conv_root/kernel"), "conv_root/kernel");
  const auto rootNorm = resnet.root[1]->as<nn::GroupNormImpl>();
  copyInto(rootNorm->weight, w.get("gn_root/scale").view(-1), "gn_root/scale");
  copyInto(rootNorm->bias, w.get("gn_root/bias").view(-1), "gn_root/bias");
  for (size_t b = 0; b < resnet.stages.size(); ++b) {
    nn::Sequential& stage = resnet.stages[b];
    for (size_t u = 0; u < stage->size(); ++u) {
      loadUnit(*stage[u]->as<PreActBottleneckImpl>(), w, "block" + std::to_string(b + 1) + "/unit" + std::to_string(u + 1));
    }
  }
}

}  // namespace segloss::models
