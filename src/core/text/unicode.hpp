// Unicode properties and case mapping through ICU, matching what the Python
// reference tools get from str.lower() and the `regex` module's \p{..} classes.
#pragma once

#include <string>
#include <string_view>

namespace llmeval::core::text {

// Python's str.lower(): full Unicode lowercase mapping, locale-independent,
// including the final-sigma rule ("ΟΔΟΣ" -> "οδος"). ASCII input takes a
// fast path that never touches ICU.
std::string PyLower(std::string_view s);

// Same, written into out (cleared first), so hot loops can reuse a buffer.
void PyLowerInto(std::string_view s, std::string& out);

// PyLower(s) with every non-ASCII code point of the result (and every byte
// of s that is not valid UTF-8) replaced by one space, without ICU: only
// U+0130 (İ, lowercased to i + U+0307) and U+212A (the Kelvin sign, to k)
// lowercase to anything ASCII, which unicode_test checks over every code
// point. For tokenizers that keep runs of ASCII letters and digits only
// (rouge-score's), where ICU and UTF-16 conversion were 10% of rougeL.
void PyLowerAsciiOnly(std::string_view s, std::string& out);

// Unicode general categories used by sacrebleu's intl tokenizer.
bool IsPunctuation(char32_t cp) noexcept;  // \p{P}: Pc Pd Ps Pe Pi Pf Po
bool IsSymbol(char32_t cp) noexcept;       // \p{S}: Sm Sc Sk So
bool IsNumber(char32_t cp) noexcept;       // \p{N}: Nd Nl No

// Unicode full case folding followed by NFC, for caseless comparisons.
std::string CaseFold(std::string_view s);

}  // namespace llmeval::core::text

#include "core/cpp_only.hpp"
