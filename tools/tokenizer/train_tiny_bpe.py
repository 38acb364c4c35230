#!/usr/bin/env python3
"""Trains the tiny byte-level BPE tokenizer used by the engine's tests (tests/data/tiny-tokenizer/).

Writes two files describing the same vocabulary:
  tokenizer.model  tiktoken format, one line per token "<base64 bytes> <rank>": ranks 0..255 are the
                   single bytes (rank = byte value), ranks 256..999 are 744 learned merges.
  tokenizer.json   Hugging Face byte-level BPE (GPT-2 byte-to-unicode vocab strings, merges derived from
                   the ranks, the 14 GLM-4 special tokens as added_tokens with ids 1000..1013).

Plain python3, no packages. Deterministic: the same corpus always gives the same files.
Usage: train_tiny_bpe.py [output_dir]   (default: tests/data/tiny-tokenizer next to this repo's tools/)
"""
import base64
import collections
import json
import os
import re
import sys

RANK_COUNT = 1000
SPECIAL_TOKENS = [
    "<|endoftext|>", "[MASK]", "[gMASK]", "[sMASK]", "<sop>", "<eop>", "<|system|>", "<|user|>",
    "<|assistant|>", "<|observation|>", "<|begin_of_image|>", "<|end_of_image|>",
    "<|begin_of_video|>", "<|end_of_video|>",
]
# The GLM-4 pre-tokenizer pattern, which the engine applies with PCRE2.
GLM4_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
# Python's re has no \p{L}; this approximation only shapes the training words, not the encoder.
LETTERS = r"[^\W\d_]"
PUNCT = r"(?:[^\s\w]|_)"
APPROX_PATTERN = re.compile(
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|(?:[^\r\n\w]|_)?" + LETTERS + r"+|\d{1,3}| ?" + PUNCT +
    r"+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

CHINESE_TEXT = """
今天天气很好，我们一起去公园散步吧。公园里有很多人，有的在跑步，有的在下棋，还有的在唱歌。
人工智能是计算机科学的一个分支，它试图理解智能的本质，并生产出一种新的能以人类智能相似的方式做出反应的智能机器。
语言模型通过学习大量文本来预测下一个词。模型越大，需要的计算资源就越多，推理的速度也越慢。
你好！请问有什么可以帮助你的吗？我是一个人工智能助手，可以回答问题、写代码、翻译文章。
中文分词是自然语言处理中的基础任务。一个好的分词器可以让模型更高效地理解文本。
北京是中国的首都，上海是中国最大的城市。长江是中国最长的河流，黄河是中华文明的摇篮。
学习编程需要耐心和练习。先从简单的程序开始，然后慢慢尝试更复杂的项目。
这个函数返回两个数的和。如果输入不是数字，就会抛出一个错误。请检查你的输入是否正确。
我们的应用程序在本地运行，不需要网络连接，所有的对话都保存在你的电脑上。
"""

CODE_TEXT = """
#include <vector>
#include <string>

int add(int a, int b) { return a + b; }

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::string current;
    for (char c : text) {
        if (c == '\\n') {
            lines.push_back(current);
            current.clear();
        } else {
            current += c;
        }
    }
    if (!current.empty()) lines.push_back(current);
    return lines;
}

def fibonacci(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a

class Conversation:
    def __init__(self, title):
        self.title = title
        self.messages = []

    def append_message(self, role, content):
        self.messages.append({"role": role, "content": content})

if __name__ == "__main__":
    for i in range(10):
        print(f"fib({i}) = {fibonacci(i)}")

const total = items.reduce((sum, item) => sum + item.price * item.count, 0);
console.log(`total: ${total.toFixed(2)}`);
"""

ENGLISH_TEXT = """
The quick brown fox jumps over the lazy dog. It's a sunny day, and we'll go for a walk in the park.
I'm sure you've heard that before; they're saying the model doesn't know what it can't see.
Hello, world! How are you today? The answer is 42, and the year is 2024.
A tokenizer splits text into pieces, and each piece becomes one or more token ids.
"""

LICENSE_FILES = ["GPL-3", "Apache-2.0", "MPL-2.0", "BSD"]


def build_corpus():
    parts = [ENGLISH_TEXT, CHINESE_TEXT * 3, CODE_TEXT * 2]
    for name in LICENSE_FILES:
        path = os.path.join("/usr/share/common-licenses", name)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                parts.append(f.read())
    return "".join(parts)


def train(corpus):
    """Classic byte-level BPE: repeatedly merge the most frequent adjacent pair inside words.

    Returns token byte strings indexed by rank. A merge whose bytes already exist as a token (reached
    through another pair) is applied to the words but adds no rank, so every rank stays unique.
    """
    tokens = [bytes([b]) for b in range(256)]
    rank_of = {t: i for i, t in enumerate(tokens)}
    word_counts = collections.Counter(m.group(0).encode("utf-8") for m in APPROX_PATTERN.finditer(corpus))
    words = {tuple(rank_of[bytes([b])] for b in w): c for w, c in word_counts.items()}

    while len(tokens) < RANK_COUNT:
        pair_counts = collections.Counter()
        for word, count in words.items():
            for pair in zip(word, word[1:]):
                pair_counts[pair] += count
        if not pair_counts:
            raise SystemExit("corpus too small: no pairs left to merge")
        # Most frequent pair; ties go to the smallest (left, right) ranks so the result is deterministic.
        best = min(pair_counts, key=lambda p: (-pair_counts[p], p))
        merged_bytes = tokens[best[0]] + tokens[best[1]]
        if merged_bytes not in rank_of:
            rank_of[merged_bytes] = len(tokens)
            tokens.append(merged_bytes)
        merged = rank_of[merged_bytes]
        new_words = {}
        for word, count in words.items():
            out = []
            i = 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(merged)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            key = tuple(out)
            new_words[key] = new_words.get(key, 0) + count
        words = new_words
    return tokens


def bpe_with_max_rank(rank_of, token, max_rank):
    """tiktoken's merge loop restricted to ranks below max_rank: the parts a token is built from."""
    parts = [bytes([b]) for b in token]
    while True:
        best_index, best_rank = None, None
        for i in range(len(parts) - 1):
            r = rank_of.get(parts[i] + parts[i + 1])
            if r is not None and r < max_rank and (best_rank is None or r < best_rank):
                best_index, best_rank = i, r
        if best_index is None:
            return parts
        parts[best_index:best_index + 2] = [parts[best_index] + parts[best_index + 1]]


def bytes_to_unicode():
    """GPT-2's reversible map from bytes to printable characters used by byte-level vocab strings."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    mapping = {}
    extra = 0
    for b in range(256):
        if b in printable:
            mapping[b] = chr(b)
        else:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


def derive_merges(tokens):
    rank_of = {t: i for i, t in enumerate(tokens)}
    to_unicode = bytes_to_unicode()
    as_text = lambda b: "".join(to_unicode[x] for x in b)
    merges = []
    for rank, token in enumerate(tokens):
        if len(token) < 2:
            continue
        parts = bpe_with_max_rank(rank_of, token, rank)
        if len(parts) != 2:
            raise SystemExit(f"token rank {rank} {token!r} is not reachable by one merge: {parts}")
        merges.append([as_text(parts[0]), as_text(parts[1])])
    return merges, as_text


def write_tiktoken(tokens, path):
    with open(path, "w", encoding="ascii", newline="\n") as f:
        for rank, token in enumerate(tokens):
            f.write(f"{base64.b64encode(token).decode('ascii')} {rank}\n")


def write_tokenizer_json(tokens, path):
    merges, as_text = derive_merges(tokens)
    vocab = {as_text(t): rank for rank, t in enumerate(tokens)}
    added = [{"id": RANK_COUNT + i, "content": s, "single_word": False, "lstrip": False,
              "rstrip": False, "normalized": False, "special": True}
             for i, s in enumerate(SPECIAL_TOKENS)]
    doc = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": GLM4_PATTERN}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
        ]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": True, "vocab": vocab, "merges": merges},
    }
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "tests", "data", "tiny-tokenizer")
    os.makedirs(out_dir, exist_ok=True)
    tokens = train(build_corpus())
    assert len(tokens) == RANK_COUNT and len(set(tokens)) == RANK_COUNT
    write_tiktoken(tokens, os.path.join(out_dir, "tokenizer.model"))
    write_tokenizer_json(tokens, os.path.join(out_dir, "tokenizer.json"))
    longest = max(tokens, key=len)
    print(f"wrote {RANK_COUNT} ranks + {len(SPECIAL_TOKENS)} specials to {out_dir}; "
          f"longest token {longest.decode('utf-8', 'replace')!r} ({len(longest)} bytes)")


if __name__ == "__main__":
    main()
