// A literal transcription of sacrebleu's TokenizerRegexp (used by the 13a and
// zh tokenizers): four re.sub passes, each scanning left to right and
// resuming after every match, then str.split(). It is slow and obviously
// faithful; the production tokenizer (src/core/metrics/bleu_tokenizer.cpp)
// computes the same result in one pass and is tested against it.
#pragma once

#include <string>
#include <vector>

#include "core/text/utf8.hpp"

namespace llmeval::testing {

inline bool OracleSymbol(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= '{' && u <= '~') || (u >= '[' && u <= '`') || (u >= ' ' && u <= '&') ||
         (u >= '(' && u <= '+') || (u >= ':' && u <= '@') || u == '/';
}
inline bool OracleDigit(char c) { return c >= '0' && c <= '9'; }
inline bool OraclePeriodComma(char c) { return c == '.' || c == ','; }

// re.sub(r'(X)(Y)', ...) over bytes; replacement "\1 \2 " or " \1 \2".
template <typename X, typename Y>
std::string OraclePairPass(const std::string& in, X x, Y y, bool space_before) {
  std::string out;
  std::size_t i = 0;
  while (i < in.size()) {
    if (i + 1 < in.size() && x(in[i]) && y(in[i + 1])) {
      out += space_before ? std::string(" ") + in[i] + " " + in[i + 1]
                          : std::string(1, in[i]) + " " + in[i + 1] + " ";
      i += 2;
    } else {
      out += in[i++];
    }
  }
  return out;
}

// TokenizerRegexp()(line), returned space-joined.
inline std::string OracleRegexpTokenize(const std::string& line) {
  std::string s;
  for (char c : line) {
    if (OracleSymbol(c)) {
      s += ' ';
      s += c;
      s += ' ';
    } else {
      s += c;
    }
  }
  s = OraclePairPass(s, [](char c) { return !OracleDigit(c); }, OraclePeriodComma, false);
  s = OraclePairPass(s, OraclePeriodComma, [](char c) { return !OracleDigit(c); }, true);
  s = OraclePairPass(s, OracleDigit, [](char c) { return c == '-'; }, false);
  std::vector<std::string_view> tokens;
  core::text::SplitPythonWhitespace(s, tokens);
  std::string joined;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (i) joined += ' ';
    joined += tokens[i];
  }
  return joined;
}

}  // namespace llmeval::testing
