// Byte-pair merging shared by the tiktoken and tokenizer.json tokenizers.
//
// A piece starts as one symbol per byte. While some adjacent pair has a merge, the pair with the
// lowest priority is merged (ties: the leftmost pair). tiktoken's priority is the rank of the merged
// bytes; a tokenizer.json's is the index of the merge rule. A min-heap of candidate pairs with lazy
// invalidation makes this O(n log n) in the piece length instead of tiktoken's O(n^2) rescans; the
// order of merges, and so the result, is the same.
#pragma once
#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

namespace glm::tokenizer_detail {

struct BpeSymbol {
  uint32_t start;   // byte offset in the piece
  uint32_t length;  // bytes; 0 marks a symbol merged into its left neighbour
  int32_t id;
};

struct BpeMerge {
  uint32_t priority;  // lower merges first
  int32_t id;         // id of the merged symbol
};

// Holds scratch buffers so that encoding many pieces does not allocate per piece.
class BytePairMerger {
 public:
  // symbols: the piece's initial symbols, contiguous and in order; replaced by the merged ones.
  // pairMerge(const BpeSymbol& left, const BpeSymbol& right) -> std::optional<BpeMerge>.
  template <class PairMerge>
  void merge(std::vector<BpeSymbol>& symbols, PairMerge&& pairMerge);

 private:
  // A pair is identified by its left symbol's index and both lengths: symbols are contiguous, so
  // the same (index, lengths) always denotes the same bytes, and a changed length means stale.
  struct Candidate {
    uint32_t priority;
    uint32_t start;
    uint32_t left;
    uint32_t leftLength;
    uint32_t rightLength;
    int32_t id;
    bool operator>(const Candidate& o) const {
      return priority != o.priority ? priority > o.priority : start > o.start;
    }
  };
  std::vector<Candidate> heap_;
  std::vector<uint32_t> next_;
  std::vector<uint32_t> prev_;
};

template <class PairMerge>
void BytePairMerger::merge(std::vector<BpeSymbol>& symbols, PairMerge&& pairMerge) {
  const auto count = static_cast<uint32_t>(symbols.size());
  if (count < 2) return;
  constexpr uint32_t kNone = UINT32_MAX;
  next_.resize(count);
  prev_.resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    next_[i] = i + 1 < count ? i + 1 : kNone;
    prev_[i] = i > 0 ? i - 1 : kNone;
  }
  heap_.clear();
  const auto byPriority = [](const Candidate& a, const Candidate& b) { return a > b; };
  const auto consider = [&](uint32_t left) {
    const uint32_t right = next_[left];
    if (right == kNone) return;
    if (std::optional<BpeMerge> m = pairMerge(symbols[left], symbols[right])) {
      heap_.push_back({m->priority, symbols[left].start, left, symbols[left].length,
                       symbols[right].length, m->id});
      std::push_heap(heap_.begin(), heap_.end(), byPriority);
    }
  };
  for (uint32_t i = 0; i + 1 < count; ++i) consider(i);

  while (!heap_.empty()) {
    std::pop_heap(heap_.begin(), heap_.end(), byPriority);
    const Candidate c = heap_.back();
    heap_.pop_back();
    const uint32_t left = c.left;
    if (symbols[left].length != c.leftLength) continue;
    const uint32_t right = next_[left];
    if (right == kNone || symbols[right].length != c.rightLength) continue;

    symbols[left].length += symbols[right].length;
    symbols[left].id = c.id;
    symbols[right].length = 0;
    next_[left] = next_[right];
    if (next_[right] != kNone) prev_[next_[right]] = left;
    if (prev_[left] != kNone) consider(prev_[left]);
    consider(left);
  }
  std::erase_if(symbols, [](const BpeSymbol& s) { return s.length == 0; });
}

}  // namespace glm::tokenizer_detail
