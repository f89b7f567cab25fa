#include "core/trace/langsmith.hpp"

#include <regex>

#include <gtest/gtest.h>

namespace trace = llmeval::core::trace;

TEST(LangSmith, RunIdIsAVersion4Uuid) {
  const std::string id = trace::NewRunId(0xFFFFFFFFFFFFFFFFULL, 0);
  EXPECT_TRUE(std::regex_match(id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << id;
  EXPECT_EQ(trace::NewRunId(0, 0), "00000000-0000-4000-8000-000000000000");
  EXPECT_NE(trace::NewRunId(1, 2), trace::NewRunId(1, 3));
}

TEST(LangSmith, Iso8601InUtcWithMilliseconds) {
  EXPECT_EQ(trace::Iso8601(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(trace::Iso8601(1795977654123), "2026-11-29T18:40:54.123Z");
}

TEST(LangSmith, BatchRequestCarriesRunsAndKeyOnlyInHeader) {
  trace::Run run;
  run.id = trace::NewRunId(7, 9);
  run.name = "generate mock/gpt";
  run.run_type = "llm";
  run.start_unix_ms = 1000;
  run.end_unix_ms = 2500;
  run.inputs = {{"prompt", "hi"}};
  run.outputs = {{"output", std::string("bad \xff utf8")}};
  run.metadata = {{"job_id", 3}, {"correlation_id", "abc"}};
  run.error = "HTTP 500: boom";
  const auto request = trace::BuildBatchRequest("http://127.0.0.1:9/", "sk-secret", "proj", {run});
  EXPECT_EQ(request.url, "http://127.0.0.1:9/runs/batch");
  ASSERT_EQ(request.headers.size(), 2u);
  EXPECT_EQ(request.headers[1], "x-api-key: sk-secret");
  EXPECT_EQ(request.body.find("sk-secret"), std::string::npos);
  const auto body = nlohmann::json::parse(request.body);
  ASSERT_EQ(body["post"].size(), 1u);
  const auto& r = body["post"][0];
  EXPECT_EQ(r["id"], run.id);
  EXPECT_EQ(r["trace_id"], run.id);
  EXPECT_EQ(r["run_type"], "llm");
  EXPECT_EQ(r["session_name"], "proj");
  EXPECT_EQ(r["start_time"], "1970-01-01T00:00:01.000Z");
  EXPECT_EQ(r["end_time"], "1970-01-01T00:00:02.500Z");
  EXPECT_EQ(r["dotted_order"], "19700101T000001000000Z" + run.id);
  EXPECT_EQ(r["extra"]["metadata"]["correlation_id"], "abc");
  EXPECT_EQ(r["error"], "HTTP 500: boom");
  EXPECT_EQ(r["outputs"]["output"], "bad \xEF\xBF\xBD utf8");
  EXPECT_TRUE(body["patch"].empty());
}
