// Provider responses recorded under test/unit/recorded/<api>/ (see the
// README there), read by the provider tests.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace llmeval::test {

inline std::string Recorded(const std::string& name) {
  const std::string path = std::string(LLMEVAL_TEST_DATA) + "/../unit/recorded/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot read " << path;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace llmeval::test
