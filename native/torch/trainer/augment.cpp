// TransUNet's random rot90/flip/rotate (augment.h).
#include "augment.h"

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

}  // namespace

void augmentBatch(at::Tensor& images, at::Tensor& masks, uint64_t seed, int64_t epoch, int64_t first) {
  std::vector<at::Tensor> outImages, outMasks;
  const bool square = images.size(2) == images.size(3);
  for (int64_t b = 0; b < images.size(0); ++b) {
    Draws draws{seed ^ (0xa0761d6478bd642fULL * static_cast<uint64_t>(epoch + 1)) ^
                (0xe7037ed1a0b428dbULL * static_cast<uint64_t>(first + b + 1))};
    at::Tensor image = images[b];                   // [C, H, W]
    at::Tensor mask = masks[b].unsqueeze(0);        // [1, H, W]
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
      image = rotateNearest(image, degrees).to(images.scalar_type());
      mask = rotateNearest(mask, degrees).round().to(masks.scalar_type());
    }
    outImages.push_back(image.contiguous());
    outMasks.push_back(mask.squeeze(0).contiguous());
  }
  images = at::stack(outImages);
  masks = at::stack(outMasks);
}

}  // namespace segloss::trainer
