#include "core/provider/batch.hpp"

#include <charconv>
#include <ctime>

#include <nlohmann/json.hpp>

#include "core/provider/endpoint.hpp"

namespace llmeval::core::provider::batch {

namespace {

using nlohmann::json;

constexpr std::string_view kCustomIdPrefix = "task-";

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string Str(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// "HTTP 400: <the API's message>" from an error reply of either API.
std::string ApiError(long status, std::string_view body) {
  std::string message;
  const json parsed = json::parse(body, nullptr, false);
  if (parsed.is_object()) {
    auto it = parsed.find("error");
    if (it != parsed.end() && it->is_object()) message = Str(*it, "message");
  }
  if (message.empty()) message = std::string(body.substr(0, 200));
  return "HTTP " + std::to_string(status) + ": " + message;
}

bool Retryable(long status) { return status == 408 || status == 409 || status == 429 || status >= 500; }

// RFC 3339 ("2026-12-07T14:00:00Z", fractions and offsets ignored) as Unix seconds.
int64_t Rfc3339Seconds(const std::string& text) {
  std::tm tm{};
  if (text.size() < 19 || sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                                 &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm));
}

Remote ReadRemote(Kind kind, const json& object) {
  Remote r;
  if (!object.is_object()) {
    r.error = "the batch reply is not a JSON object";
    r.retry = true;
    return r;
  }
  r.id = Str(object, "id");
  if (r.id.empty()) {
    r.error = "the batch reply has no id";
    r.retry = true;
    return r;
  }
  r.ok = true;
  auto counts = object.find("request_counts");
  if (counts != object.end() && counts->is_object()) {
    r.request_counts = counts->dump();
    for (const auto& [name, value] : counts->items())
      if (value.is_number_integer() && name != "total") r.total += value.get<int64_t>();
    if (counts->contains("total") && (*counts)["total"].is_number_integer())
      r.total = (*counts)["total"].get<int64_t>();
  }
  if (kind == Kind::kAnthropic) {
    r.status = Str(object, "processing_status");
    r.ended = r.status == "ended";
    r.results_url = Str(object, "results_url");
    r.created_at = Rfc3339Seconds(Str(object, "created_at"));
    return r;
  }
  r.status = Str(object, "status");
  r.ended = r.status == "completed" || r.status == "failed" || r.status == "expired" ||
            r.status == "cancelled";
  r.output_file_id = Str(object, "output_file_id");
  r.error_file_id = Str(object, "error_file_id");
  if (object.contains("created_at") && object["created_at"].is_number_integer())
    r.created_at = object["created_at"].get<int64_t>();
  auto metadata = object.find("metadata");
  if (metadata != object.end() && metadata->is_object()) r.metadata_batch = Str(*metadata, "llmeval_batch");
  auto errors = object.find("errors");
  if (errors != object.end() && errors->is_object() && errors->contains("data") &&
      (*errors)["data"].is_array()) {
    for (const json& e : (*errors)["data"]) {
      if (!r.errors.empty()) r.errors += "; ";
      if (e.is_object()) {
        r.errors += Str(e, "code");
        if (e.contains("line") && e["line"].is_number_integer())
          r.errors += " (line " + std::to_string(e["line"].get<int64_t>()) + ")";
        r.errors += ": " + Str(e, "message");
      }
      if (r.errors.size() > 1000) break;
    }
  }
  return r;
}

}  // namespace

std::string CustomId(int64_t task_id) { return std::string(kCustomIdPrefix) + std::to_string(task_id); }

std::optional<int64_t> TaskOfCustomId(std::string_view custom_id) {
  if (custom_id.substr(0, kCustomIdPrefix.size()) != kCustomIdPrefix) return std::nullopt;
  const std::string_view digits = custom_id.substr(kCustomIdPrefix.size());
  int64_t id = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (ec != std::errc() || end != digits.data() + digits.size() || id <= 0) return std::nullopt;
  return id;
}

std::string EndpointOf(Kind kind, std::string_view url) {
  const std::string_view path = url.substr(0, url.find('?'));
  if (kind == Kind::kAnthropic) return EndsWith(path, "/v1/messages") ? "/v1/messages" : "";
  if (kind != Kind::kOpenAI || path.find("/deployments/") != std::string_view::npos) return "";
  for (std::string_view endpoint : {"/chat/completions", "/responses", "/embeddings"})
    if (EndsWith(path, endpoint)) return "/v1" + std::string(endpoint);
  return "";
}

std::string Line(Kind kind, int64_t task_id, std::string_view endpoint, std::string_view body) {
  json line;
  line["custom_id"] = CustomId(task_id);
  json parsed = json::parse(body);
  if (kind == Kind::kAnthropic) {
    line["params"] = std::move(parsed);
  } else {
    line["method"] = "POST";
    line["url"] = std::string(endpoint);
    line["body"] = std::move(parsed);
  }
  return line.dump();
}

HttpRequest Upload(std::string_view base_url, std::string_view api_key, int64_t batch_id,
                   const std::vector<std::string>& lines) {
  HttpRequest http = wire::OpenAIEndpoint(base_url, api_key, "/files");
  // JSON lines hold no raw line break, so no line can be the boundary.
  const std::string boundary = "----llmeval-batch-" + std::to_string(batch_id) + "-7f3a9c";
  for (std::string& header : http.headers)
    if (header.rfind("Content-Type:", 0) == 0) header = "Content-Type: multipart/form-data; boundary=" + boundary;
  std::string& body = http.body;
  body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n";
  body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"llmeval-batch-" +
          std::to_string(batch_id) + ".jsonl\"\r\nContent-Type: application/jsonl\r\n\r\n";
  for (const std::string& line : lines) {
    body += line;
    body += '\n';
  }
  body += "\r\n--" + boundary + "--\r\n";
  return http;
}

HttpRequest Create(Kind kind, std::string_view base_url, std::string_view api_key, int64_t batch_id,
                   std::string_view endpoint, std::string_view input_file_id,
                   const std::vector<std::string>& lines) {
  if (kind == Kind::kAnthropic) {
    HttpRequest http = wire::AnthropicEndpoint(base_url, api_key, "/messages/batches");
    http.body = "{\"requests\":[";
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (i > 0) http.body += ',';
      http.body += lines[i];
    }
    http.body += "]}";
    return http;
  }
  HttpRequest http = wire::OpenAIEndpoint(base_url, api_key, "/batches");
  json body = {{"input_file_id", std::string(input_file_id)},
               {"endpoint", std::string(endpoint)},
               {"completion_window", "24h"},
               {"metadata", {{"llmeval_batch", std::to_string(batch_id)}}}};
  http.body = body.dump();
  return http;
}

HttpRequest Status(Kind kind, std::string_view base_url, std::string_view api_key,
                   std::string_view remote_id) {
  HttpRequest http = kind == Kind::kAnthropic
                         ? wire::AnthropicEndpoint(base_url, api_key, "/messages/batches/" + std::string(remote_id))
                         : wire::OpenAIEndpoint(base_url, api_key, "/batches/" + std::string(remote_id));
  http.get = true;
  return http;
}

HttpRequest Cancel(Kind kind, std::string_view base_url, std::string_view api_key,
                   std::string_view remote_id) {
  HttpRequest http =
      kind == Kind::kAnthropic
          ? wire::AnthropicEndpoint(base_url, api_key, "/messages/batches/" + std::string(remote_id) + "/cancel")
          : wire::OpenAIEndpoint(base_url, api_key, "/batches/" + std::string(remote_id) + "/cancel");
  http.body = kind == Kind::kAnthropic ? "" : "{}";
  return http;
}

HttpRequest List(Kind kind, std::string_view base_url, std::string_view api_key) {
  HttpRequest http = kind == Kind::kAnthropic
                         ? wire::AnthropicEndpoint(base_url, api_key, "/messages/batches?limit=100")
                         : wire::OpenAIEndpoint(base_url, api_key, "/batches?limit=100");
  http.get = true;
  return http;
}

HttpRequest Download(Kind kind, std::string_view base_url, std::string_view api_key,
                     std::string_view file_id_or_url) {
  HttpRequest http;
  if (kind == Kind::kAnthropic) {
    // results_url is absolute; authenticated like every other request
    http = wire::AnthropicEndpoint(base_url, api_key, "/messages/batches");
    http.url = std::string(file_id_or_url);
  } else {
    http = wire::OpenAIEndpoint(base_url, api_key, "/files/" + std::string(file_id_or_url) + "/content");
  }
  http.get = true;
  return http;
}

Remote ParseRemote(Kind kind, long http_status, std::string_view body) {
  if (http_status < 200 || http_status >= 300) {
    Remote r;
    r.error = ApiError(http_status, body);
    r.retry = Retryable(http_status);
    return r;
  }
  return ReadRemote(kind, json::parse(body, nullptr, false));
}

std::vector<Remote> ParseList(Kind kind, long http_status, std::string_view body) {
  std::vector<Remote> found;
  if (http_status < 200 || http_status >= 300) return found;
  const json parsed = json::parse(body, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("data") || !parsed["data"].is_array()) return found;
  for (const json& object : parsed["data"]) {
    Remote r = ReadRemote(kind, object);
    if (r.ok) found.push_back(std::move(r));
  }
  return found;
}

std::string ParseUpload(long http_status, std::string_view body, std::string& error, bool& retry) {
  if (http_status < 200 || http_status >= 300) {
    error = ApiError(http_status, body);
    retry = Retryable(http_status);
    return "";
  }
  const json parsed = json::parse(body, nullptr, false);
  const std::string id = parsed.is_object() ? Str(parsed, "id") : "";
  if (id.empty()) {
    error = "the file upload's reply has no id";
    retry = true;
  }
  return id;
}

std::vector<Result> ParseResults(Kind kind, std::string_view jsonl, int& malformed) {
  std::vector<Result> results;
  malformed = 0;
  std::size_t start = 0;
  while (start < jsonl.size()) {
    std::size_t end = jsonl.find('\n', start);
    if (end == std::string_view::npos) end = jsonl.size();
    const std::string_view text = jsonl.substr(start, end - start);
    start = end + 1;
    if (text.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const json line = json::parse(text, nullptr, false);
    const std::optional<int64_t> task =
        line.is_object() ? TaskOfCustomId(Str(line, "custom_id")) : std::nullopt;
    if (!task) {
      ++malformed;
      continue;
    }
    Result r;
    r.task_id = *task;
    if (kind == Kind::kAnthropic) {
      const json& result = line.contains("result") ? line["result"] : json();
      const std::string type = result.is_object() ? Str(result, "type") : "";
      if (type == "succeeded" && result.contains("message")) {
        r.status = 200;
        r.body = result["message"].dump();
      } else if (type == "errored" && result.contains("error")) {
        // the error object is the synchronous API's error body
        const json& error = result["error"];
        const std::string error_type =
            error.is_object() && error.contains("error") && error["error"].is_object() ? Str(error["error"], "type") : "";
        r.status = error_type == "invalid_request_error"   ? 400
                   : error_type == "authentication_error"  ? 401
                   : error_type == "permission_error"      ? 403
                   : error_type == "not_found_error"       ? 404
                   : error_type == "request_too_large"     ? 413
                   : error_type == "rate_limit_error"      ? 429
                   : error_type == "overloaded_error"      ? 529
                                                           : 500;
        r.body = error.dump();
      } else if (type == "expired" || type == "canceled") {
        r.error = "the batch " + std::string(type == "expired" ? "expired" : "was cancelled") +
                  " before this request ran";
      } else {
        ++malformed;
        continue;
      }
    } else {
      const json& response = line.contains("response") ? line["response"] : json();
      if (response.is_object() && response.contains("status_code") && response["status_code"].is_number_integer()) {
        r.status = response["status_code"].get<long>();
        if (r.status < 100 || r.status > 599) {
          ++malformed;
          continue;
        }
        r.body = response.contains("body") ? response["body"].dump() : "";
      } else if (line.contains("error") && line["error"].is_object()) {
        const std::string code = Str(line["error"], "code");
        r.error = code == "batch_expired"     ? "the batch expired before this request ran"
                  : code == "batch_cancelled" ? "the batch was cancelled before this request ran"
                                              : "the batch did not run this request: " + code + ": " +
                                                    Str(line["error"], "message");
      } else {
        ++malformed;
        continue;
      }
    }
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace llmeval::core::provider::batch
