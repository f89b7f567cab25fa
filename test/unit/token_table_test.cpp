#include "core/metrics/token_table.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

namespace llmeval::core::metrics {
namespace {

// Tokens of 1..40 bytes, many sharing their first 16 bytes (told apart only
// by the bytes compared with memcmp) or differing only in length, some with
// NUL bytes, interned through several growths of the table: ids follow
// first appearance, Find agrees, and Clear starts over.
TEST(TokenTable, InternsLikeAMap) {
  std::mt19937 rng(7);
  const std::string prefix = "abcdefghijklmnopqrstuvwxyz0123456789ABCD";
  std::vector<std::string> tokens;
  for (int i = 0; i < 3000; ++i) {
    std::string t;
    switch (rng() % 4) {
      case 0: t = prefix.substr(0, 1 + rng() % 40); break;           // lengths only
      case 1: t = prefix.substr(0, 17 + rng() % 20) + char('a' + rng() % 26); break;
      case 2: t = std::string(1 + rng() % 3, '\0') + char('a' + rng() % 3); break;
      default:
        for (std::size_t k = 1 + rng() % 12; k > 0; --k) t += char('a' + rng() % 4);
    }
    tokens.push_back(t);
  }
  // One padded buffer, as TokenTable requires (kTokenPad readable bytes).
  std::string buffer;
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  for (const std::string& t : tokens) {
    spans.emplace_back(buffer.size(), t.size());
    buffer += t;
  }
  buffer.append(kTokenPad, '\0');
  TokenTable table;
  for (int round = 0; round < 2; ++round) {
    std::map<std::string, uint32_t> want;
    const std::size_t half = tokens.size() / 2;
    for (std::size_t i = 0; i < half; ++i) {
      const auto [at, len] = spans[i];
      const uint32_t id = table.Intern(buffer.data() + at, len);
      const auto inserted = want.emplace(tokens[i], static_cast<uint32_t>(want.size()));
      ASSERT_EQ(id, inserted.first->second) << i;
    }
    ASSERT_EQ(table.size(), want.size());
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      const auto [at, len] = spans[i];
      const auto it = want.find(tokens[i]);
      EXPECT_EQ(table.Find(buffer.data() + at, len),
                it == want.end() ? TokenTable::kNotFound : it->second)
          << i;
    }
    table.Clear();
    EXPECT_EQ(table.size(), 0u);
    EXPECT_EQ(table.Find(buffer.data() + spans[0].first, spans[0].second), TokenTable::kNotFound);
  }
}

}  // namespace
}  // namespace llmeval::core::metrics
