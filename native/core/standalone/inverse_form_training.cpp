// The inverse-transformation network's training (inverse_form_training.h).
#include "inverse_form_training.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

#include "inverse_form_net.h"

namespace segloss {
namespace {

using Net = InverseFormNet;
constexpr int kT = Net::kTile;
constexpr double kPi = 3.14159265358979323846;

// One mask's edge map as floats, and its boundary pixels (the sampling centres).
struct EdgeImage {
  std::vector<float> edges;     // [H, W]
  std::vector<int64_t> points;  // flat indices of edge pixels
  int64_t height = 0, width = 0;

  float at(double y, double x) const {  // bilinear, 0 outside
    const double fy = std::floor(y), fx = std::floor(x);
    const int64_t y0 = int64_t(fy), x0 = int64_t(fx);
    const double wy = y - fy, wx = x - fx;
    double v = 0.0;
    for (int dy = 0; dy <= 1; ++dy)
      for (int dx = 0; dx <= 1; ++dx) {
        const int64_t yy = y0 + dy, xx = x0 + dx;
        if (yy < 0 || xx < 0 || yy >= height || xx >= width) continue;
        v += (dy ? wy : 1 - wy) * (dx ? wx : 1 - wx) * edges[size_t(yy * width + xx)];
      }
    return float(v);
  }
};

std::vector<EdgeImage> edgeImages(const InverseFormMasks& masks) {
  std::vector<EdgeImage> out;
  for (int64_t m = 0; m < masks.count; ++m) {
    EdgeImage image;
    image.height = masks.height;
    image.width = masks.width;
    image.edges.assign(size_t(masks.height * masks.width), 0.0f);
    const uint8_t* mask = masks.data + m * masks.height * masks.width;
    for (int64_t y = 0; y < masks.height; ++y)
      for (int64_t x = 0; x < masks.width; ++x) {
        const bool inside = mask[y * masks.width + x] != 0;
        bool edge = false;
        for (int dy = -1; dy <= 1; ++dy)
          for (int dx = -1; dx <= 1; ++dx) {
            const int64_t yy = y + dy, xx = x + dx;
            if (yy < 0 || xx < 0 || yy >= masks.height || xx >= masks.width) continue;
            edge |= (mask[yy * masks.width + xx] != 0) != inside;
          }
        if (edge) {
          image.edges[size_t(y * masks.width + x)] = 1.0f;
          image.points.push_back(y * masks.width + x);
        }
      }
    if (!image.points.empty()) out.push_back(std::move(image));
  }
  if (out.empty()) throw std::invalid_argument("train-inverseform: no mask has a boundary");
  return out;
}

// Draws one sample into x [2, 32, 32] and its target θ [6].
void drawSample(const std::vector<EdgeImage>& images, const InverseFormTrainingOptions& o, std::mt19937_64& rng, float* x,
                float* theta) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const EdgeImage& image = images[size_t(rng() % images.size())];
  const int64_t point = image.points[size_t(rng() % image.points.size())];
  const double cy = double(point / image.width) + (unit(rng) * 16 - 8), cx = double(point % image.width) + (unit(rng) * 16 - 8);
  const bool identity = unit(rng) < 0.15;
  const auto part = [&](double limit) { return !identity && unit(rng) < 0.7 ? (unit(rng) * 2 - 1) * limit : 0.0; };
  const double s = 1.0 + part(o.maxScale), r = part(o.maxRotation) * kPi / 180.0, ty = part(o.maxShift), tx = part(o.maxShift);
  const double a11 = s * std::cos(r), a12 = -s * std::sin(r), a21 = s * std::sin(r), a22 = s * std::cos(r);
  const double gain = 0.6 + 0.4 * unit(rng), noise = 0.05 * unit(rng);
  for (int v = 0; v < kT; ++v)
    for (int u = 0; u < kT; ++u) {
      const double dv = v - (kT - 1) / 2.0, du = u - (kT - 1) / 2.0;  // tile coordinates about its centre
      x[kT * kT + v * kT + u] = image.at(cy + dv, cx + du);
      const double sy = cy + a21 * du + a22 * dv + ty, sx = cx + a11 * du + a12 * dv + tx;
      const double p = gain * image.at(sy, sx) + noise * unit(rng);
      x[v * kT + u] = float(std::min(1.0, std::max(0.0, p)));
    }
  theta[0] = float(2 * (a11 - 1));
  theta[1] = float(2 * a12);
  theta[2] = float(2 * a21);
  theta[3] = float(2 * (a22 - 1));
  theta[4] = float(tx / 4);
  theta[5] = float(ty / 4);
}

// He-uniform initialisation of the weights, zero biases.
std::vector<float> initialParameters(std::mt19937_64& rng) {
  std::vector<float> p(Net::kParameterCount, 0.0f);
  size_t at = 0;
  const auto block = [&](size_t weights, size_t biases, double fanIn) {
    std::uniform_real_distribution<double> dist(-std::sqrt(6.0 / fanIn), std::sqrt(6.0 / fanIn));
    for (size_t i = 0; i < weights; ++i) p[at + i] = float(dist(rng));
    at += weights + biases;
  };
  block(Net::kW1, Net::kC1, Net::kInputs * 25.0);
  block(Net::kW2, Net::kC2, Net::kC1 * 25.0);
  block(Net::kW3, Net::kHidden, double(Net::kFlat));
  block(Net::kW4, Net::kOutputs, Net::kHidden);
  return p;
}

void checkOptions(const InverseFormTrainingOptions& o) {
  if (o.steps < 1 || o.batch < 1 || !(o.learningRate > 0) || !(o.maxShift >= 0) || !(o.maxScale >= 0 && o.maxScale < 1) ||
      !(o.maxRotation >= 0 && o.maxRotation <= 90)) {
    throw std::invalid_argument("train-inverseform: bad options");
  }
}

}  // namespace

std::vector<float> trainInverseFormNet(const InverseFormMasks& masks, const InverseFormTrainingOptions& o,
                                       const InverseFormProgress& progress, int reportEvery) {
  checkOptions(o);
  const std::vector<EdgeImage> images = edgeImages(masks);
  std::mt19937_64 rng(o.seed);
  std::vector<float> params = initialParameters(rng);
  std::vector<float> m(params.size(), 0.0f), v(params.size(), 0.0f), grad(params.size());
  const size_t tileSize = size_t(2) * kT * kT;
  std::vector<float> x(size_t(o.batch) * tileSize), target(size_t(o.batch) * Net::kOutputs), y(target.size()), dy(target.size());
  Net::Activations<float> act;
  double reported = 0.0;
  int since = 0;
  for (int step = 1; step <= o.steps; ++step) {
    for (int s = 0; s < o.batch; ++s) drawSample(images, o, rng, x.data() + s * tileSize, target.data() + s * Net::kOutputs);
    Net::forward(params.data(), x.data(), o.batch, y.data(), &act);
    double loss = 0.0;
    for (size_t j = 0; j < y.size(); ++j) {
      const double d = double(y[j]) - double(target[j]);
      loss += d * d;
      dy[j] = float(2 * d / double(y.size()));
    }
    reported += loss / double(y.size());
    ++since;
    std::fill(grad.begin(), grad.end(), 0.0f);
    Net::backward(params.data(), x.data(), o.batch, act, dy.data(), static_cast<float*>(nullptr), grad.data());
    const double c1 = 1 - std::pow(0.9, step), c2 = 1 - std::pow(0.999, step);
    for (size_t i = 0; i < params.size(); ++i) {
      m[i] = 0.9f * m[i] + 0.1f * grad[i];
      v[i] = 0.999f * v[i] + 0.001f * grad[i] * grad[i];
      params[i] -= float(o.learningRate * (m[i] / c1) / (std::sqrt(v[i] / c2) + 1e-8));
    }
    if (step % reportEvery == 0 || step == o.steps) {
      const bool go = progress ? progress(step, reported / since) : true;
      reported = 0.0;
      since = 0;
      if (!go) break;
    }
  }
  return params;
}

InverseFormEvaluation evaluateInverseFormNet(const std::vector<float>& params, const InverseFormMasks& masks,
                                             const InverseFormTrainingOptions& o, int samples) {
  const std::vector<EdgeImage> images = edgeImages(masks);
  std::mt19937_64 rng(o.seed + 1);
  const size_t tileSize = size_t(2) * kT * kT;
  std::vector<float> x(tileSize), target(Net::kOutputs), y(Net::kOutputs);
  InverseFormEvaluation out;
  for (int s = 0; s < samples; ++s) {
    drawSample(images, o, rng, x.data(), target.data());
    Net::forward(params.data(), x.data(), 1, y.data(), static_cast<Net::Activations<float>*>(nullptr));
    double e = 0.0, t = 0.0;
    for (int k = 0; k < Net::kOutputs; ++k) {
      e += (double(y[k]) - target[k]) * (double(y[k]) - target[k]);
      t += double(target[k]) * target[k];
    }
    out.meanError += std::sqrt(e) / samples;
    out.meanTarget += std::sqrt(t) / samples;
  }
  return out;
}

}  // namespace segloss
