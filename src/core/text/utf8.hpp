// UTF-8 decoding and the whitespace rules of Python's str, which the reference
// tools (sacrebleu, rouge-score) use to split and strip text.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace llmeval::core::text {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Decodes the code point at s[pos] and advances pos. Malformed or truncated
// sequences, overlongs and surrogates decode as U+FFFD and consume one byte,
// so any byte string can be processed (Postgres only hands us valid text, the
// fuzzers do not).
char32_t DecodeUtf8(std::string_view s, std::size_t& pos) noexcept;

void AppendUtf8(std::string& out, char32_t cp);

// Decodes a whole string into code points (appending to out).
void DecodeUtf8All(std::string_view s, std::u32string& out);

bool IsAscii(std::string_view s) noexcept;

// str.isspace() in Python: what str.split() with no argument splits on.
bool IsPythonSpace(char32_t cp) noexcept;

// The same for a byte below 0x80, inline for the hot loops.
inline bool IsAsciiPythonSpace(unsigned char b) noexcept {
  return (b >= 0x09 && b <= 0x0D) || (b >= 0x1C && b <= 0x20);
}

// str.split() with no argument: appends the non-empty runs between whitespace.
void SplitPythonWhitespace(std::string_view s, std::vector<std::string_view>& out);

// str.rstrip() and str.strip() with no argument.
std::string_view RstripPython(std::string_view s) noexcept;
std::string_view StripPython(std::string_view s) noexcept;

// Number of code points (len() of a Python str).
std::size_t CodePointCount(std::string_view s) noexcept;

}  // namespace llmeval::core::text

#include "core/cpp_only.hpp"
