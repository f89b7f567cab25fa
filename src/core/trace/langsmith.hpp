// Export of provider calls as LangSmith runs (its REST API: POST
// {endpoint}/runs/batch with {"post": [run, ...]}, key in x-api-key). The
// workers batch the runs of the calls they have stored and send them with
// their other HTTP traffic; tracing is best-effort and never holds up a task.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/http/client.hpp"

namespace llmeval::core::trace {

struct Run {
  std::string id;        // a UUID (NewRunId)
  std::string name;      // e.g. "generate openai/gpt-4o-mini"
  std::string run_type;  // "llm" or "embedding"
  int64_t start_unix_ms = 0;
  int64_t end_unix_ms = 0;
  nlohmann::json inputs = nlohmann::json::object();
  nlohmann::json outputs = nlohmann::json::object();
  std::string error;     // empty when the call succeeded
  nlohmann::json metadata = nlohmann::json::object();  // job, task, correlation id, model...
  std::vector<std::string> tags;
};

// A version 4 UUID from 128 random bits.
std::string NewRunId(uint64_t high, uint64_t low);

// "2026-11-29T18:27:34.123Z"
std::string Iso8601(int64_t unix_ms);

// The request that posts runs to project (LangSmith's session_name).
// endpoint is the API's base URL (https://api.smith.langchain.com), with or
// without a trailing slash; the key goes only in the x-api-key header.
http::Request BuildBatchRequest(std::string_view endpoint, std::string_view api_key,
                                std::string_view project, const std::vector<Run>& runs);

}  // namespace llmeval::core::trace

#include "core/cpp_only.hpp"
