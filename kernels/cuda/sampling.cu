// Sampling where the logits live: the best candidates of a logits row and its softmax sum, so that the
// host sampler (Sampler::sampleFromBest) draws from a few kilobytes instead of the 0.6 MB row.
// One block of 1024 threads sweeps the row (0.6 MB for GLM-4's vocabulary; 16-byte loads) three times:
//  1. the largest value M, and whether a NaN or +inf is there;
//  2. the softmax sum of exp((x - M) / T), and a histogram of d = (M - x) / T over [0, kRange) for
//     the entries that close to the top (a peaked row has few: the atomics hardly ever collide);
//  3. every entry whose bucket is at or below the one where the count reaches the number asked for,
//     gathered into shared memory (a set of the form x >= threshold: a prefix of the row's ranking);
// then a bitonic sort of the gathered entries (larger value first, ties by the lower index).
// Every sum is taken in a fixed order (per-thread strides, then fixed trees): the same row gives the
// same result bit for bit.
#include <climits>
#include <utility>
#include <vector>

#include "common.cuh"

namespace glm::cuda {
namespace {

constexpr int kThreads = 1024, kBuckets = 2048;
constexpr float kRange = 32.0f;  // weights below exp(-32) are never among the candidates
static_assert(kBestOfRowMax == kThreads, "the sort gives each thread one slot");

struct BestOfRowScratch {
  int count;  // entries in value/index, best first; -1: the row holds a NaN or +inf
  float max;
  double total;
  float value[kBestOfRowMax];
  int32_t index[kBestOfRowMax];
};

// The bucket of an entry's distance below the top in temperature units, kBuckets past the range; the
// same arithmetic in sweeps 2 and 3, and monotone in x.
__device__ __forceinline__ int distanceBucket(float x, float m, float invTemperature) {
  const float d = (m - x) * invTemperature;
  return d < kRange ? min(int(d * (float(kBuckets) / kRange)), kBuckets - 1) : kBuckets;
}

// f(value, index) over x[0..n) in this thread's share: 16-byte loads (four entries), four in flight,
// where x is aligned; the block's threads take interleaved quadruples.
template <typename F>
__device__ __forceinline__ void sweep(const float* __restrict__ x, int n, F&& f) {
  const bool aligned = (reinterpret_cast<uintptr_t>(x) & 15) == 0;
  const int n4 = aligned ? n / 4 : 0;
  const float4* x4 = reinterpret_cast<const float4*>(x);
#pragma unroll 4
  for (int i = threadIdx.x; i < n4; i += kThreads) {
    const float4 v = __ldg(x4 + i);
    f(v.x, 4 * i);
    f(v.y, 4 * i + 1);
    f(v.z, 4 * i + 2);
    f(v.w, 4 * i + 3);
  }
  for (int i = 4 * n4 + threadIdx.x; i < n; i += kThreads) f(__ldg(x + i), i);
}

__global__ void __launch_bounds__(kThreads)
    bestOfRowKernel(const float* __restrict__ x, int n, int want, float invTemperature, BestOfRowScratch* out) {
  __shared__ unsigned hist[kBuckets];
  __shared__ float sv[kThreads];
  __shared__ int si[kThreads];
  __shared__ float redMax[32];
  __shared__ double redSum[32];
  __shared__ int redBad[32];
  __shared__ int cutBucket;
  __shared__ unsigned gathered;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;

  for (int i = tid; i < kBuckets; i += kThreads) hist[i] = 0;
  if (tid == 0) gathered = 0;
  float m = -INFINITY;
  int bad = 0;
  sweep(x, n, [&](float v, int) {
    bad |= !(v < INFINITY);  // NaN or +inf
    m = fmaxf(m, v);
  });
  m = warpMax(m);
  bad = __any_sync(0xffffffffu, bad);
  if (lane == 0) {
    redMax[warp] = m;
    redBad[warp] = bad;
  }
  __syncthreads();
  m = redMax[0];
  bad = redBad[0];
  for (int w = 1; w < kThreads / 32; ++w) {
    m = fmaxf(m, redMax[w]);
    bad |= redBad[w];
  }
  if (bad || m == -INFINITY) {
    if (tid == 0) out->count = -1;
    return;
  }
  double sum = 0.0;
  sweep(x, n, [&](float v, int) {
    sum += double(expf((v - m) * invTemperature));  // as the host sampler computes each weight
    const int b = distanceBucket(v, m, invTemperature);
    if (b < kBuckets) atomicAdd(&hist[b], 1u);
  });
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
  if (lane == 0) redSum[warp] = sum;
  __syncthreads();
  if (warp == 0) {  // the last bucket to take: the count reaches `want` there without passing the 1024
    constexpr int kPer = kBuckets / 32;
    unsigned mine = 0;
    for (int j = 0; j < kPer; ++j) mine += hist[lane * kPer + j];
    unsigned before = mine;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
      const unsigned v = __shfl_up_sync(0xffffffffu, before, o);
      if (lane >= o) before += v;
    }
    before -= mine;
    const unsigned need = unsigned(want);
    const unsigned ballot = __ballot_sync(0xffffffffu, before < need && before + mine >= need);
    if (ballot == 0) {
      if (lane == 0) cutBucket = kBuckets - 1;  // fewer than `want` within the range: all of them
    } else if (lane == __ffs(ballot) - 1) {
      unsigned run = before;
      for (int j = 0; j < kPer; ++j) {
        const int b = lane * kPer + j;
        const unsigned h = hist[b];
        if (run + h >= need) {
          // Too many share this bucket: stop before it (fewer candidates, still the best ones).
          cutBucket = run + h <= unsigned(kBestOfRowMax) ? b : b - 1;
          break;
        }
        run += h;
      }
    }
  }
  __syncthreads();
  const int cut = cutBucket;
  sweep(x, n, [&](float v, int i) {
    if (distanceBucket(v, m, invTemperature) <= cut) {
      const unsigned slot = atomicAdd(&gathered, 1u);
      if (slot < unsigned(kBestOfRowMax)) {
        sv[slot] = v;
        si[slot] = i;
      }
    }
  });
  __syncthreads();
  const unsigned got = min(gathered, unsigned(kBestOfRowMax));
  if (unsigned(tid) >= got) {
    sv[tid] = -INFINITY;
    si[tid] = INT_MAX;
  }
  // Bitonic sort of the 1024 slots: "before" = larger value, then lower index.
  for (int size = 2; size <= kThreads; size <<= 1) {
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      __syncthreads();
      const int partner = tid ^ stride;
      if (partner > tid) {
        const float a = sv[tid], b = sv[partner];
        const int ia = si[tid], ib = si[partner];
        const bool aFirst = a > b || (a == b && ia < ib);
        const bool descending = (tid & size) == 0;  // this half ends best-first
        if (aFirst != descending) {
          sv[tid] = b;
          sv[partner] = a;
          si[tid] = ib;
          si[partner] = ia;
        }
      }
    }
  }
  __syncthreads();
  if (unsigned(tid) < got) {
    out->value[tid] = sv[tid];
    out->index[tid] = si[tid];
  }
  if (tid == 0) {
    double total = 0.0;
    for (int w = 0; w < kThreads / 32; ++w) total += redSum[w];
    out->count = int(got);
    out->max = m;
    out->total = total;
  }
}

}  // namespace

int64_t bestOfRowScratchBytes() { return int64_t(sizeof(BestOfRowScratch)); }

void bestOfRow(const float* x, int64_t n, int count, float invTemperature, void* scratch, cudaStream_t stream) {
  bestOfRowKernel<<<1, kThreads, 0, stream>>>(x, int(n), count, invTemperature, static_cast<BestOfRowScratch*>(scratch));
}

int bestOfRowRead(const void* hostCopy, std::vector<std::pair<float, int32_t>>& best, double* total) {
  const auto* s = static_cast<const BestOfRowScratch*>(hostCopy);
  best.clear();
  if (s->count <= 0) return s->count;
  best.reserve(size_t(s->count));
  for (int i = 0; i < s->count; ++i) best.emplace_back(s->value[i], s->index[i]);
  *total = s->total;
  return s->count;
}

}  // namespace glm::cuda
