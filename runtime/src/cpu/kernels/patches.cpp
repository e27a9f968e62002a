#include <cstring>

#include "cpu/kernels/kernels.hpp"

namespace pfrt::cpu::kernels {

void gather_patches(const float* images, size_t channels, size_t image_size, size_t patch, size_t first, size_t count,
                    float* patches) {
  const size_t grid = image_size / patch;
  const size_t per_image = grid * grid;
  const size_t image_floats = channels * image_size * image_size;
  for (size_t r = first; r < first + count; ++r) {
    const float* image = images + (r / per_image) * image_floats;
    const size_t gy = (r % per_image) / grid, gx = (r % per_image) % grid;
    for (size_t py = 0; py < patch; ++py) {
      const size_t y = gy * patch + py;
      if (channels == 1) {
        std::memcpy(patches, image + y * image_size + gx * patch, patch * sizeof(float));
        patches += patch;
        continue;
      }
      // Channel by channel: contiguous reads along the image row, writes C apart.
      for (size_t c = 0; c < channels; ++c) {
        const float* src = image + (c * image_size + y) * image_size + gx * patch;
        for (size_t px = 0; px < patch; ++px) patches[px * channels + c] = src[px];
      }
      patches += patch * channels;
    }
  }
}

}  // namespace pfrt::cpu::kernels
