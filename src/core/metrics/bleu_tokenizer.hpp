// sacrebleu's BLEU tokenizers: 13a (mteval-v13a), intl (mteval-v14
// international), zh, char and none.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace llmeval::core::metrics {

enum class BleuTokenizer { k13a, kIntl, kChar, kZh, kNone };

// Parses a tokenizer name as sacrebleu spells it; throws kInvalidParameterValue.
BleuTokenizer ParseBleuTokenizer(std::string_view name);
const char* BleuTokenizerName(BleuTokenizer tokenizer) noexcept;

// A tokenized segment: tokens are views into buffer, so the struct is reused
// across calls (thread_local) to avoid allocating per row. The buffer holds
// 16 zero bytes after the text, so every token has 16 readable bytes from
// its start (what TokenTable needs to load it as two words).
struct TokenizedText {
  std::string buffer;
  std::string lowered;
  std::vector<std::string_view> tokens;
  std::vector<uint8_t> flags;   // per byte, for the 13a/zh tokenizer
  std::vector<uint32_t> marks;   // positions the 13a/zh tokenizer examines
  std::vector<uint32_t> bounds;  // token starts and ends found by the 13a/zh tokenizer
  std::vector<uint64_t> masks;   // byte classes, 64 bytes a word, for the 13a/zh tokenizer
};

// sacrebleu's BLEU._preprocess_segment followed by str.split(): optional
// Python lowercasing, rstrip, then the tokenizer.
void TokenizeForBleu(std::string_view text, BleuTokenizer tokenizer, bool lowercase,
                     TokenizedText& out);

// The tokenizer alone, returning sacrebleu's space-joined string (for tests).
std::string BleuTokenizeString(std::string_view text, BleuTokenizer tokenizer);

}  // namespace llmeval::core::metrics

#include "core/cpp_only.hpp"
