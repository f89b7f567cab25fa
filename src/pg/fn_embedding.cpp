// llmeval._embed(kind, base_url, api_key, api_key_env, api_model, texts):
// embeddings of texts by one provider request, made from the calling backend
// and waited for. Internal: EXECUTE is revoked from PUBLIC, and the
// extension's SECURITY DEFINER functions call it with the provider's key.
//
// Unlike the job engine, this blocks the backend for the call, so it must
// stay cancellable: the HTTP client is polled in short slices with
// CHECK_FOR_INTERRUPTS between them, and a cancel unwinds through the
// client's destructor, which abandons the request. Retryable failures are
// retried (at most kAttempts calls) after the usual backoff, also waited for
// in slices.
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/http/client.hpp"
#include "core/provider/chat.hpp"
#include "core/provider/embedding.hpp"
// Postgres headers after core headers (see core/cpp_only.hpp).
#include "pg/args.hpp"
#include "pg/provider_policy.hpp"
#include "pg/settings.hpp"

namespace core = llmeval::core;
namespace http = llmeval::core::http;
namespace provider = llmeval::core::provider;
using llmeval::pg::PgCall;

namespace {

constexpr int kAttempts = 3;
constexpr int kSliceMs = 100;  // how long a cancel may go unnoticed
// A provider asking for a longer pause than this gets an error instead: the
// caller's statement should not hang that long.
constexpr int64_t kMaxBackoffMs = 30000;

[[noreturn]] void Raise(int sqlstate, const std::string& message, const std::string& detail,
                        const std::string& hint = {}) {
  PgCall([&]() noexcept {
    ereport(ERROR, (errcode(sqlstate), errmsg("%s", message.c_str()),
                    detail.empty() ? 0 : errdetail("%s", detail.c_str()),
                    hint.empty() ? 0 : errhint("%s", hint.c_str())));
  });
  pg_unreachable();
}

std::string_view RequiredText(FunctionCallInfo fcinfo, int n, const char* name) {
  if (PG_ARGISNULL(n))
    throw core::Error(core::ErrorKind::kNullValueNotAllowed,
                      std::string(name) + " must not be NULL");
  return llmeval::pg::TextArg(fcinfo, n);
}

// The stored key, else the one in the server's environment variable, else
// none (a local server may need none). The variable's name is not secret;
// its value never appears in a message.
std::string ApiKey(FunctionCallInfo fcinfo) {
  if (!PG_ARGISNULL(2)) return std::string(llmeval::pg::TextArg(fcinfo, 2));
  if (PG_ARGISNULL(3)) return {};
  const std::string env(llmeval::pg::TextArg(fcinfo, 3));
  if (env.empty()) return {};
  const char* value = std::getenv(env.c_str());
  if (value == nullptr || *value == '\0') {
    Raise(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
          "no API key: environment variable \"" + env + "\" is not set in the server",
          "The provider's key is read from the environment of the PostgreSQL server process.",
          "Set the variable where the server starts, or store the key with "
          "llmeval.set_provider_secret().");
  }
  return value;
}

// Waits ms milliseconds on the latch, answering interrupts meanwhile.
void Sleep(int64_t ms) {
  while (ms > 0) {
    const long slice = static_cast<long>(ms < kSliceMs ? ms : kSliceMs);
    PgCall([&]() noexcept {
      (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, slice,
                      PG_WAIT_EXTENSION);
      ResetLatch(MyLatch);
    });
    llmeval::pg::CheckForInterrupts();
    ms -= slice;
  }
}

// One call: submitted, then polled in slices until it completes.
http::Response Call(http::Client& client, const provider::HttpRequest& request, uint64_t tag) {
  http::Request r;
  r.tag = tag;
  r.url = request.url;
  r.headers = request.headers;
  r.body = request.body;
  if (!client.Submit(std::move(r)))
    throw core::Error(core::ErrorKind::kInternal, "HTTP client refused the embedding request");
  std::vector<http::Response> done;
  while (done.empty()) {
    client.Poll(kSliceMs, done);
    llmeval::pg::CheckForInterrupts();
  }
  return std::move(done.front());
}

// Transport failures, rate limits and server errors are the connection's
// (08000); other 4xx mean the request is wrong (22023); a 2xx that could not
// be read is the provider's fault (38000).
int SqlStateFor(const http::Response& response) {
  if (response.transport != http::Transport::kOk) return ERRCODE_CONNECTION_EXCEPTION;
  const long status = response.status;
  if (status == 429 || status >= 500 || status == 408) return ERRCODE_CONNECTION_EXCEPTION;
  if (status >= 400) return ERRCODE_INVALID_PARAMETER_VALUE;
  return ERRCODE_EXTERNAL_ROUTINE_EXCEPTION;
}

}  // namespace

LLMEVAL_PG_FUNCTION(llmeval_embed) {
  const std::string kind_name(RequiredText(fcinfo, 0, "kind"));
  const std::string base_url(RequiredText(fcinfo, 1, "base_url"));
  // The superuser's provider policy, before anything is sent; the variable
  // counts only when the key would be read from it (see ApiKey).
  const std::string key_env =
      PG_ARGISNULL(2) && !PG_ARGISNULL(3) ? std::string(llmeval::pg::TextArg(fcinfo, 3)) : "";
  llmeval::pg::CheckProviderPolicyOrRaise(key_env, base_url);
  const std::string model(RequiredText(fcinfo, 4, "api_model"));
  if (PG_ARGISNULL(5))
    throw core::Error(core::ErrorKind::kNullValueNotAllowed, "texts must not be NULL");
  std::vector<std::string_view> views;
  llmeval::pg::TextArrayArg(fcinfo, 5, "texts", views);
  const std::vector<std::string> texts(views.begin(), views.end());

  const provider::Kind kind = provider::ParseKind(kind_name);
  // Nothing to embed costs no request (but a kind without embeddings is an error still).
  if (texts.empty() && kind != provider::Kind::kAnthropic) {
    return llmeval::pg::JsonbFromText(R"({"vectors": [], "input_tokens": 0})");
  }
  const std::string api_key = ApiKey(fcinfo);
  const provider::HttpRequest request =
      provider::BuildEmbeddingRequest(kind, base_url, api_key, model, texts);

  http::ClientOptions options;
  options.max_inflight = 1;
  options.connect_timeout_ms = llmeval::pg::setting_connect_timeout_ms;
  options.request_timeout_ms = llmeval::pg::setting_request_timeout_ms;
  http::Client client(options);
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> unit(0.0, 1.0);

  for (int attempt = 1;; ++attempt) {
    const http::Response response = Call(client, request, static_cast<uint64_t>(attempt));
    provider::EmbeddingResponse reply;
    if (response.transport == http::Transport::kOk) {
      reply = provider::ParseEmbeddingResponse(kind, response.status, response.body,
                                               response.retry_after,
                                               static_cast<int64_t>(std::time(nullptr)),
                                               texts.size());
    } else {
      reply.outcome = provider::Outcome::kRetry;
      reply.error = http::TransportErrorText(response);
    }

    if (reply.outcome == provider::Outcome::kOk) {
      nlohmann::json result = {{"vectors", reply.vectors}, {"input_tokens", nullptr}};
      if (reply.input_tokens) result["input_tokens"] = *reply.input_tokens;
      return llmeval::pg::JsonbFromText(result.dump());
    }

    const std::string error = provider::Redact(reply.error, api_key);
    const int64_t delay = provider::BackoffMs(attempt, unit(rng), reply.retry_after_ms);
    if (reply.outcome == provider::Outcome::kFail || attempt >= kAttempts ||
        delay > kMaxBackoffMs) {
      Raise(SqlStateFor(response), "embedding request failed: " + error,
            "Provider kind " + kind_name + ", model \"" + model + "\", " +
                std::to_string(attempt) + (attempt == 1 ? " attempt." : " attempts."));
    }
    Sleep(delay);
  }
}
