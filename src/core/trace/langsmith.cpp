#include "core/trace/langsmith.hpp"

#include <cstdio>
#include <ctime>

namespace llmeval::core::trace {

std::string NewRunId(uint64_t high, uint64_t low) {
  high = (high & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  low = (low & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;    // RFC 4122 variant
  char text[37];
  std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(high >> 32), static_cast<unsigned>((high >> 16) & 0xFFFF),
                static_cast<unsigned>(high & 0xFFFF), static_cast<unsigned>(low >> 48),
                static_cast<unsigned long long>(low & 0xFFFFFFFFFFFFULL));
  return text;
}

namespace {

std::tm Utc(int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return utc;
}

// The time part of LangSmith's dotted_order, which orders runs in a trace:
// "20261129T184054123000Z" (microseconds).
std::string DottedTime(int64_t unix_ms) {
  const std::tm utc = Utc(unix_ms);
  char text[64];
  std::snprintf(text, sizeof text, "%04d%02d%02dT%02d%02d%02d%06dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(unix_ms % 1000) * 1000);
  return text;
}

}  // namespace

std::string Iso8601(int64_t unix_ms) {
  const std::tm utc = Utc(unix_ms);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return text;
}

http::Request BuildBatchRequest(std::string_view endpoint, std::string_view api_key,
                                std::string_view project, const std::vector<Run>& runs) {
  nlohmann::json post = nlohmann::json::array();
  for (const Run& run : runs) {
    nlohmann::json r = {{"id", run.id},
                        {"trace_id", run.id},
                        {"dotted_order", DottedTime(run.start_unix_ms) + run.id},
                        {"name", run.name},
                        {"run_type", run.run_type},
                        {"start_time", Iso8601(run.start_unix_ms)},
                        {"end_time", Iso8601(run.end_unix_ms)},
                        {"inputs", run.inputs},
                        {"outputs", run.outputs},
                        {"session_name", std::string(project)},
                        {"extra", {{"metadata", run.metadata}}},
                        {"tags", run.tags}};
    if (!run.error.empty()) r["error"] = run.error;
    post.push_back(std::move(r));
  }
  http::Request request;
  std::string url(endpoint);
  while (!url.empty() && url.back() == '/') url.pop_back();
  request.url = url + "/runs/batch";
  request.headers = {"Content-Type: application/json", "x-api-key: " + std::string(api_key)};
  // Invalid UTF-8 in an output is replaced, not an exception: a trace must
  // never fail the task it describes.
  request.body = nlohmann::json{{"post", post}, {"patch", nlohmann::json::array()}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  return request;
}

}  // namespace llmeval::core::trace
