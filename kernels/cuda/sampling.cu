// Sampling where the logits live: the best candidates of a logits row and its softmax sum, so that the
// host sampler (Sampler::sampleFromBest) draws from a few kilobytes instead of the 0.6 MB row.
// Three kernels, each a grid of blocks sweeping a share of the row (16-byte loads), each ending in its last
// block to finish (an atomic ticket after a fence), which reads what every block left:
//  1. the largest value M, and whether a NaN or +inf is there;
//  2. the softmax sum of exp((x - M) / T), and a histogram of d = (M - x) / T over [0, kRange) for the
//     entries that close to the top (a peaked row has few: they go to the global histogram by atomics);
//     the last block adds the blocks' sums (a fixed tree) and finds the bucket where the count reaches
//     the number asked for;
//  3. every entry whose bucket is at or below that one (a set of the form x >= threshold: a prefix of the
//     row's ranking), gathered by an atomic counter; the last block sorts them (bitonic, larger value
//     first, ties by the lower index) into the result and leaves the work area clean for the next row.
// The result may live in mapped host memory (the backend's case): the kernels write it there, and the host
// reads it once the stream has synchronised, with no copy to queue.
// Every sum is taken in a fixed order (per-thread strides, fixed trees, blocks in order): the same row
// gives the same result bit for bit. It was one block of 1024 threads sweeping the row three times: 63 us
// per 151,552-wide row on an H200, one SM's share of the memory system.
#include <algorithm>
#include <climits>
#include <utility>
#include <vector>

#include "common.cuh"

namespace glm::cuda {
namespace {

constexpr int kThreads = 256, kBuckets = 2048;
constexpr int kGatherThreads = kBestOfRowMax;  // pass 3: its last block sorts, one slot per thread
constexpr int kMaxBlocks = 512;                // longer rows: each thread takes several loads
constexpr float kRange = 32.0f;  // weights below exp(-32) are never among the candidates
static_assert(kBuckets % kThreads == 0, "each thread of pass 2's last block counts whole buckets");

struct BestOfRowResult {  // what the host reads (bestOfRowResultBytes), in device or mapped host memory
  int count;  // entries in value/index, best first; -1: the row holds a NaN or +inf (or is empty)
  float max;
  double total;
  float value[kBestOfRowMax];
  int32_t index[kBestOfRowMax];
};
struct BestOfRowWork {  // zero between rows (each pass's last block restores what it used)
  unsigned ticket[3];
  unsigned gathered;
  int bad;
  float max;
  int cut;
  float blockMax[kMaxBlocks];
  int blockBad[kMaxBlocks];
  double blockSum[kMaxBlocks];
  unsigned hist[kBuckets];
  float candValue[kBestOfRowMax];
  int32_t candIndex[kBestOfRowMax];
};

// One 16-byte load (four entries) per thread and sweep step.
int blocksFor(int64_t n, int threads) {
  return int(std::min<int64_t>(kMaxBlocks, std::max<int64_t>(1, (n + 4 * threads - 1) / (4 * threads))));
}

// The bucket of an entry's distance below the top in temperature units, kBuckets past the range; the
// same arithmetic in passes 2 and 3, and monotone in x.
__device__ __forceinline__ int distanceBucket(float x, float m, float invTemperature) {
  const float d = (m - x) * invTemperature;
  return d < kRange ? min(int(d * (float(kBuckets) / kRange)), kBuckets - 1) : kBuckets;
}

// f(value, index) over this thread's share of x[0..n): 16-byte loads (four entries) where x is aligned,
// interleaved over the grid's threads.
template <typename F>
__device__ __forceinline__ void sweep(const float* __restrict__ x, int n, F&& f) {
  const bool aligned = (reinterpret_cast<uintptr_t>(x) & 15) == 0;
  const int n4 = aligned ? n / 4 : 0;
  const float4* x4 = reinterpret_cast<const float4*>(x);
  const int first = blockIdx.x * blockDim.x + threadIdx.x, step = gridDim.x * blockDim.x;
  for (int i = first; i < n4; i += step) {
    const float4 v = __ldg(x4 + i);
    f(v.x, 4 * i);
    f(v.y, 4 * i + 1);
    f(v.z, 4 * i + 2);
    f(v.w, 4 * i + 3);
  }
  for (int i = 4 * n4 + first; i < n; i += step) f(__ldg(x + i), i);
}

// After this block's results are stored: true in every thread of the block that finishes the pass last
// (whose reads then see every block's stores, through L2).
__device__ __forceinline__ bool lastBlock(unsigned* ticket) {
  __shared__ bool last;
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) last = atomicAdd(ticket, 1u) == gridDim.x - 1;
  __syncthreads();
  if (last) __threadfence();
  return last;
}

__global__ void __launch_bounds__(kThreads)
    bestMaxKernel(const float* __restrict__ x, int n, BestOfRowWork* w, BestOfRowResult* out) {
  __shared__ float redMax[kThreads / 32];
  __shared__ int redBad[kThreads / 32];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
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
  if (tid == 0) {
    for (int v = 1; v < kThreads / 32; ++v) {
      m = fmaxf(m, redMax[v]);
      bad |= redBad[v];
    }
    w->blockMax[blockIdx.x] = m;
    w->blockBad[blockIdx.x] = bad;
  }
  if (!lastBlock(&w->ticket[0])) return;
  // The blocks' results, read in parallel (a serial loop would be a chain of L2 round trips).
  m = -INFINITY;
  bad = 0;
  for (unsigned b = tid; b < gridDim.x; b += kThreads) {
    m = fmaxf(m, __ldcg(&w->blockMax[b]));
    bad |= __ldcg(&w->blockBad[b]);
  }
  m = warpMax(m);
  bad = __any_sync(0xffffffffu, bad);
  __syncthreads();  // redMax / redBad are reused
  if (lane == 0) {
    redMax[warp] = m;
    redBad[warp] = bad;
  }
  __syncthreads();
  if (tid != 0) return;
  for (int v = 1; v < kThreads / 32; ++v) {
    m = fmaxf(m, redMax[v]);
    bad |= redBad[v];
  }
  bad |= m == -INFINITY;  // an empty row, or all -inf
  w->max = m;
  w->bad = bad;
  w->ticket[0] = 0;
  if (bad) out->count = -1;
}

__global__ void __launch_bounds__(kThreads)
    bestSumKernel(const float* __restrict__ x, int n, int want, float invTemperature, BestOfRowWork* w,
                  BestOfRowResult* out) {
  __shared__ unsigned hist[kBuckets];
  __shared__ double redSum[kThreads / 32];
  if (w->bad) return;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const float m = w->max;
  for (int i = tid; i < kBuckets; i += kThreads) hist[i] = 0;
  __syncthreads();
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
  for (int i = tid; i < kBuckets; i += kThreads)
    if (hist[i]) atomicAdd(&w->hist[i], hist[i]);
  if (tid == 0) {
    double blockSum = 0.0;
    for (int v = 0; v < kThreads / 32; ++v) blockSum += redSum[v];
    w->blockSum[blockIdx.x] = blockSum;
  }
  if (!lastBlock(&w->ticket[1])) return;
  // The blocks' sums in a fixed tree (thread t adds blocks t, t + kThreads, ..., then the warps' and the
  // block's trees as above): the same total every time.
  sum = 0.0;
  for (unsigned b = tid; b < gridDim.x; b += kThreads) sum += __ldcg(&w->blockSum[b]);
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
  // The last bucket to take: the count reaches `want` there without passing the kBestOfRowMax. Each thread
  // counts kPer buckets; a scan over the threads finds the one whose buckets cross `want`.
  constexpr int kPer = kBuckets / kThreads;
  unsigned h[kPer], mine = 0;
#pragma unroll
  for (int j = 0; j < kPer; ++j) mine += h[j] = __ldcg(&w->hist[tid * kPer + j]);
  unsigned upTo = mine;  // inclusive scan within the warp
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    const unsigned v = __shfl_up_sync(0xffffffffu, upTo, o);
    if (lane >= o) upTo += v;
  }
  __shared__ unsigned warpCount[kThreads / 32];
  __syncthreads();  // redSum is reused
  if (lane == 31) warpCount[warp] = upTo;
  if (lane == 0) redSum[warp] = sum;
  __syncthreads();
  unsigned before = upTo - mine, all = 0;
  for (int v = 0; v < kThreads / 32; ++v) {
    before += v < warp ? warpCount[v] : 0u;
    all += warpCount[v];
  }
  const unsigned need = unsigned(want);
  if (before < need && before + mine >= need) {
    unsigned run = before;
#pragma unroll
    for (int j = 0; j < kPer; ++j) {
      if (run + h[j] >= need) {
        // Too many share this bucket: stop before it (fewer candidates, still the best ones).
        const int b = tid * kPer + j;
        w->cut = run + h[j] <= unsigned(kBestOfRowMax) ? b : b - 1;
        break;
      }
      run += h[j];
    }
  }
  if (tid == 0) {
    if (all < need) w->cut = kBuckets - 1;  // fewer than `want` within the range: all of them
    double total = 0.0;
    for (int v = 0; v < kThreads / 32; ++v) total += redSum[v];
    out->total = total;
    out->max = m;
    w->ticket[1] = 0;
  }
}

__global__ void __launch_bounds__(kGatherThreads)
    bestGatherKernel(const float* __restrict__ x, int n, float invTemperature, BestOfRowWork* w,
                     BestOfRowResult* out) {
  __shared__ float sv[kBestOfRowMax];
  __shared__ int si[kBestOfRowMax];
  if (w->bad) return;
  const int tid = threadIdx.x;
  const float m = w->max;
  const int cut = w->cut;
  sweep(x, n, [&](float v, int i) {
    if (distanceBucket(v, m, invTemperature) <= cut) {
      const unsigned slot = atomicAdd(&w->gathered, 1u);
      if (slot < unsigned(kBestOfRowMax)) {
        w->candValue[slot] = v;
        w->candIndex[slot] = i;
      }
    }
  });
  if (!lastBlock(&w->ticket[2])) return;
  const unsigned got = min(__ldcg(&w->gathered), unsigned(kBestOfRowMax));
  const bool used = unsigned(tid) < got;
  sv[tid] = used ? __ldcg(&w->candValue[tid]) : -INFINITY;
  si[tid] = used ? __ldcg(&w->candIndex[tid]) : INT_MAX;
  // Bitonic sort of the first `slots` (the power of two that holds what was gathered; the empty slots sort
  // last): "before" = larger value, then lower index; thread t owns slot t.
  int slots = 2;
  while (slots < int(got)) slots <<= 1;
  for (int size = 2; size <= slots; size <<= 1) {
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      __syncthreads();
      const int partner = tid ^ stride;
      if (partner > tid && partner < slots) {
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
  if (used) {
    out->value[tid] = sv[tid];
    out->index[tid] = si[tid];
  }
  for (int i = tid; i < kBuckets; i += kGatherThreads) w->hist[i] = 0;
  if (tid == 0) {
    out->count = int(got);
    w->gathered = 0;
    w->ticket[2] = 0;
  }
}

}  // namespace

int64_t bestOfRowScratchBytes() { return int64_t(sizeof(BestOfRowWork)); }
int64_t bestOfRowResultBytes() { return int64_t(sizeof(BestOfRowResult)); }

void bestOfRow(const float* x, int64_t n, int count, float invTemperature, void* scratch, void* result,
               cudaStream_t stream) {
  auto* w = static_cast<BestOfRowWork*>(scratch);
  auto* out = static_cast<BestOfRowResult*>(result);
  const int blocks = blocksFor(n, kThreads);
  bestMaxKernel<<<blocks, kThreads, 0, stream>>>(x, int(n), w, out);
  bestSumKernel<<<blocks, kThreads, 0, stream>>>(x, int(n), count, invTemperature, w, out);
  bestGatherKernel<<<blocksFor(n, kGatherThreads), kGatherThreads, 0, stream>>>(x, int(n), invTemperature, w, out);
}

int bestOfRowRead(const void* hostResult, std::vector<std::pair<float, int32_t>>& best, double* total) {
  const auto* s = static_cast<const BestOfRowResult*>(hostResult);
  best.clear();
  if (s->count <= 0) return s->count;
  best.reserve(size_t(s->count));
  for (int i = 0; i < s->count; ++i) best.emplace_back(s->value[i], s->index[i]);
  *total = s->total;
  return s->count;
}

}  // namespace glm::cuda
