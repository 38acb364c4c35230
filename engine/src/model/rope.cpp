#include "model/rope.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "glmengine/error.h"

namespace glm {
namespace {

// YaRN's attention factor: 0.1 * mscale * ln(scale) + 1 for scale > 1.
double yarnMscale(double scale, double mscale) {
  return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

}  // namespace

RopeParams computeRopeParams(const ModelConfig& config) {
  const RopeConfig& rc = config.rope;
  const int dim = rc.rotaryDim;
  if (dim <= 0 || dim % 2 != 0 || dim > config.headDim)
    throw Error(fmt::format("rotary dimension {} is invalid for head dim {}", dim, config.headDim));
  if (dim / 2 > 256) throw Error(fmt::format("rotary dimension {} is larger than supported (512)", dim));
  const int pairs = dim / 2;

  // Plain frequencies, fp32 as in the reference: base ** (float(2i) / dim), then 1 / that.
  std::vector<float> base(static_cast<size_t>(pairs));
  for (int i = 0; i < pairs; ++i) {
    const float exponent = float(2 * i) / float(dim);
    base[size_t(i)] = 1.0f / std::pow(float(rc.theta), exponent);
  }

  RopeParams p;
  p.rotaryDim = dim;
  p.invFreq = base;
  const int64_t originalMax = rc.originalMaxPositions > 0 ? rc.originalMaxPositions : config.maxPositions;

  switch (rc.scaling) {
    case RopeScaling::None:
      break;
    case RopeScaling::Linear:
      // Position interpolation: angle = (pos / factor) * freq, folded into the frequency.
      for (auto& f : p.invFreq) f = f / float(rc.factor);
      break;
    case RopeScaling::Llama3: {
      // Wavelengths longer than original/lowFreqFactor are slowed by `factor`; shorter than
      // original/highFreqFactor are kept; in between, interpolate smoothly.
      const double lowWavelen = double(originalMax) / rc.lowFreqFactor;
      const double highWavelen = double(originalMax) / rc.highFreqFactor;
      for (int i = 0; i < pairs; ++i) {
        const double f = base[size_t(i)];
        const double wavelen = 2.0 * std::numbers::pi / f;
        double out = f;
        if (wavelen > lowWavelen) {
          out = f / rc.factor;
        } else if (wavelen >= highWavelen) {
          const double smooth =
              (double(originalMax) / wavelen - rc.lowFreqFactor) / (rc.highFreqFactor - rc.lowFreqFactor);
          out = (1.0 - smooth) * f / rc.factor + smooth * f;
        }
        p.invFreq[size_t(i)] = float(out);
      }
      break;
    }
    case RopeScaling::Yarn: {
      // Dimensions that rotate fewer than betaSlow times over the original context are interpolated
      // (freq / factor), those rotating more than betaFast times are kept, with a linear ramp between.
      auto correctionDim = [&](double rotations) {
        return (dim * std::log(double(originalMax) / (rotations * 2.0 * std::numbers::pi))) /
               (2.0 * std::log(rc.theta));
      };
      double low = correctionDim(rc.betaFast), high = correctionDim(rc.betaSlow);
      if (rc.truncate) {
        low = std::floor(low);
        high = std::ceil(high);
      }
      low = std::max(low, 0.0);
      high = std::min(high, double(dim - 1));
      if (low == high) high += 0.001;  // avoid a zero-width ramp
      for (int i = 0; i < pairs; ++i) {
        const double ramp = std::clamp((double(i) - low) / (high - low), 0.0, 1.0);
        const double extrapolationWeight = 1.0 - ramp;
        const float posFreq = std::pow(float(rc.theta), float(2 * i) / float(dim));
        const double extrapolated = 1.0 / double(posFreq);
        const double interpolated = 1.0 / (rc.factor * double(posFreq));
        p.invFreq[size_t(i)] =
            float(interpolated * (1.0 - extrapolationWeight) + extrapolated * extrapolationWeight);
      }
      double attention = rc.attentionFactor;
      if (attention <= 0.0) {
        if (rc.mscale > 0.0 && rc.mscaleAllDim > 0.0)
          attention = yarnMscale(rc.factor, rc.mscale) / yarnMscale(rc.factor, rc.mscaleAllDim);
        else
          attention = yarnMscale(rc.factor, 1.0);
      }
      p.attentionScaling = float(attention);
      break;
    }
  }
  return p;
}

}  // namespace glm
