// TransUNet's random rot90/flip/rotate (augment.h).
#include "augment.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace segloss::trainer {
namespace {

struct Draws {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  int64_t below(int64_t n) { return static_cast<int64_t>(next() % static_cast<uint64_t>(n)); }
};

// Rotates [C, H, W] by `degrees` about the centre, nearest neighbour, zeros outside.
at::Tensor rotateNearest(const at::Tensor& image, double degrees) {
  const double a = degrees * M_PI / 180.0;
  const at::Tensor theta = at::tensor({std::cos(a), -std::sin(a), 0.0, std::sin(a), std::cos(a), 0.0},
                                      image.options().dtype(at::kFloat))
                               .view({1, 2, 3});
  const at::Tensor grid = at::affine_grid_generator(theta, {1, image.size(0), image.size(1), image.size(2)}, /*align_corners=*/true);
  return at::grid_sampler(image.unsqueeze(0).to(at::kFloat), grid, /*interpolation nearest*/ 1, /*padding zeros*/ 0,
                          /*align_corners=*/true)
      .squeeze(0);
}

// TransUNet's: rot90 + flip, or a small rotation. image [C, H, W], mask [1, H, W].
void rotFlipRotate(Draws& draws, at::Tensor& image, at::Tensor& mask, bool square) {
    if (draws.uniform() > 0.5) {
      const int64_t k = draws.below(4);
      const int64_t axis = draws.below(2);
      if (square || k % 2 == 0) {
        image = at::rot90(image, k, {1, 2});
        mask = at::rot90(mask, k, {1, 2});
      }
      image = at::flip(image, {1 + axis});
      mask = at::flip(mask, {1 + axis});
    } else if (draws.uniform() > 0.5) {
      const double degrees = static_cast<double>(draws.below(41) - 20);
      image = rotateNearest(image, degrees).to(image.scalar_type());
      mask = rotateNearest(mask, degrees).round().to(mask.scalar_type());
    }
}

// Street scenes: scale in [0.5, 2], crop (or pad) back to H × W at a random place, flip. image
// [C, H, W], mask [1, H, W].
void scaleCropFlip(Draws& draws, at::Tensor& image, at::Tensor& mask, int64_t fillLabel) {
  const int64_t h = image.size(1), w = image.size(2);
  const double scale = 0.5 + 1.5 * draws.uniform();
  const int64_t sh = std::max<int64_t>(1, std::llround(h * scale)), sw = std::max<int64_t>(1, std::llround(w * scale));
  at::Tensor scaled = at::upsample_bilinear2d(image.unsqueeze(0).to(at::kFloat), {sh, sw}, /*align_corners=*/false).squeeze(0);
  at::Tensor scaledMask = at::upsample_nearest2d(mask.unsqueeze(0).to(at::kFloat), {sh, sw}).squeeze(0);
  // Pad to at least H × W (bottom / right), then crop H × W at a random offset.
  const int64_t padH = std::max<int64_t>(0, h - sh), padW = std::max<int64_t>(0, w - sw);
  if (padH || padW) {
    scaled = at::constant_pad_nd(scaled, {0, padW, 0, padH}, 0.0);
    scaledMask = at::constant_pad_nd(scaledMask, {0, padW, 0, padH}, static_cast<double>(fillLabel));
  }
  const int64_t top = draws.below(scaled.size(1) - h + 1), left = draws.below(scaled.size(2) - w + 1);
  image = scaled.narrow(1, top, h).narrow(2, left, w).to(image.scalar_type());
  mask = scaledMask.narrow(1, top, h).narrow(2, left, w).round().to(mask.scalar_type());
  if (draws.uniform() > 0.5) {
    image = at::flip(image, {2});
    mask = at::flip(mask, {2});
  }
}

}  // namespace

void augmentBatch(Augmentation kind, at::Tensor& images, at::Tensor& masks, uint64_t seed, int64_t epoch, int64_t first,
                  int64_t fillLabel) {
  if (kind == Augmentation::None) return;
  std::vector<at::Tensor> outImages, outMasks;
  const bool square = images.size(2) == images.size(3);
  for (int64_t b = 0; b < images.size(0); ++b) {
    Draws draws{seed ^ (0xa0761d6478bd642fULL * static_cast<uint64_t>(epoch + 1)) ^
                (0xe7037ed1a0b428dbULL * static_cast<uint64_t>(first + b + 1))};
    at::Tensor image = images[b];             // [C, H, W]
    at::Tensor mask = masks[b].unsqueeze(0);  // [1, H, W]
    if (kind == Augmentation::RotFlipRotate) {
      rotFlipRotate(draws, image, mask, square);
    } else {
      scaleCropFlip(draws, image, mask, fillLabel);
    }
    outImages.push_back(image.contiguous());
    outMasks.push_back(mask.squeeze(0).contiguous());
  }
  images = at::stack(outImages);
  masks = at::stack(outMasks);
}

}  // namespace segloss::trainer
