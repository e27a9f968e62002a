#include "reference/ops.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace pfrt::reference {

void linear(const float* x, size_t rows, size_t in, const float* w, const float* bias, size_t out, float* y) {
  for (size_t r = 0; r < rows; ++r) {
    for (size_t o = 0; o < out; ++o) {
      double acc = bias ? bias[o] : 0.0;
      for (size_t i = 0; i < in; ++i) acc += double(x[r * in + i]) * double(w[o * in + i]);
      y[r * out + o] = float(acc);
    }
  }
}

void quantize_row(const float* x, size_t in, int8_t* q, float* scale) {
  float amax = 0.0f;
  for (size_t i = 0; i < in; ++i) amax = std::max(amax, std::fabs(x[i]));
  if (amax == 0.0f) {
    std::fill(q, q + in, int8_t{0});
    *scale = 0.0f;
    return;
  }
  const float inv = 127.0f / amax;
  for (size_t i = 0; i < in; ++i) {
    const float v = std::nearbyint(x[i] * inv);  // half to even in the default rounding mode
    q[i] = int8_t(std::min(127.0f, std::max(-127.0f, v)));
  }
  *scale = amax / 127.0f;
}

void linear_int8(const float* x, size_t in, const int8_t* w, const float* w_scales, const float* bias, size_t out,
                 int8_t* q, float* y) {
  float scale = 0.0f;
  quantize_row(x, in, q, &scale);
  for (size_t o = 0; o < out; ++o) {
    int32_t acc = 0;  // |acc| <= in * 127^2 < 2^31: validate() keeps int8 layers' in <= kMaxInt8Depth
    for (size_t i = 0; i < in; ++i) acc += int32_t(q[i]) * int32_t(w[o * in + i]);
    const float product = float(acc) * (scale * w_scales[o]);
    y[o] = bias ? product + bias[o] : product;
  }
}

void layer_norm(const float* x, size_t rows, size_t dim, const float* gamma, const float* beta, float eps, float* y) {
  for (size_t r = 0; r < rows; ++r) {
    const float* row = x + r * dim;
    double mean = 0.0;
    for (size_t i = 0; i < dim; ++i) mean += row[i];
    mean /= double(dim);
    double var = 0.0;
    for (size_t i = 0; i < dim; ++i) var += (row[i] - mean) * (row[i] - mean);
    var /= double(dim);  // biased variance, as torch.nn.LayerNorm
    const double inv = 1.0 / std::sqrt(var + double(eps));
    for (size_t i = 0; i < dim; ++i) y[r * dim + i] = float((row[i] - mean) * inv * gamma[i] + beta[i]);
  }
}

void gelu(float* x, size_t n, format::Gelu form) {
  for (size_t i = 0; i < n; ++i) {
    const double v = x[i];
    if (form == format::Gelu::kErf) {
      x[i] = float(0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))));
    } else {
      const double k = std::sqrt(2.0 / 3.14159265358979323846);
      x[i] = float(0.5 * v * (1.0 + std::tanh(k * (v + 0.044715 * v * v * v))));
    }
  }
}

void softmax_rows(float* x, size_t rows, size_t cols) {
  for (size_t r = 0; r < rows; ++r) {
    float* row = x + r * cols;
    double max = row[0];
    for (size_t c = 1; c < cols; ++c) max = std::fmax(max, double(row[c]));
    double sum = 0.0;
    for (size_t c = 0; c < cols; ++c) sum += std::exp(row[c] - max);
    for (size_t c = 0; c < cols; ++c) row[c] = float(std::exp(row[c] - max) / sum);
  }
}

void attention_rows(const float* q, size_t q_stride, const float* k, const float* v, size_t kv_stride, size_t tokens,
                    size_t queries, size_t heads, size_t head_dim, float* out, size_t out_stride, float* scores) {
  const double scale = 1.0 / std::sqrt(double(head_dim));
  for (size_t h = 0; h < heads; ++h) {
    const size_t col = h * head_dim;
    for (size_t i = 0; i < queries; ++i) {
      for (size_t j = 0; j < tokens; ++j) {
        double dot = 0.0;
        for (size_t e = 0; e < head_dim; ++e)
          dot += double(q[i * q_stride + col + e]) * double(k[j * kv_stride + col + e]);
        scores[j] = float(dot * scale);
      }
      softmax_rows(scores, 1, tokens);
      for (size_t e = 0; e < head_dim; ++e) {
        double acc = 0.0;
        for (size_t j = 0; j < tokens; ++j) acc += double(scores[j]) * double(v[j * kv_stride + col + e]);
        out[i * out_stride + col + e] = float(acc);
      }
    }
  }
}

void attention(const float* qkv, size_t tokens, size_t heads, size_t head_dim, float* out) {
  const size_t inner = heads * head_dim;
  std::vector<float> scores(tokens);
  attention_rows(qkv, 3 * inner, qkv + inner, qkv + 2 * inner, 3 * inner, tokens, tokens, heads, head_dim, out, inner,
                 scores.data());
}

void gather_patches(const float* image, size_t channels, size_t image_size, size_t patch, float* patches) {
  const size_t grid = image_size / patch;
  size_t n = 0;
  for (size_t gy = 0; gy < grid; ++gy) {
    for (size_t gx = 0; gx < grid; ++gx) {
      for (size_t py = 0; py < patch; ++py) {
        for (size_t px = 0; px < patch; ++px) {
          for (size_t c = 0; c < channels; ++c) {
            const size_t y = gy * patch + py, x = gx * patch + px;
            patches[n++] = image[(c * image_size + y) * image_size + x];
          }
        }
      }
    }
  }
}

}  // namespace pfrt::reference
