// The providers' batch APIs, as requests to build and replies to read; the
// worker (src/pg/worker_batches.cpp) drives them and keeps their state in
// llmeval.provider_batches.
//
//   OpenAI (and compatible servers that implement it): the requests as a
//   JSONL file uploaded to {base}/files (multipart, purpose "batch"), a batch
//   created at {base}/batches over it, polled at {base}/batches/{id} until
//   completed, failed, expired or cancelled; answers in the output file and
//   per-line failures (expired and cancelled lines too) in the error file,
//   both read from {base}/files/{id}/content.
//   Anthropic: the requests posted to {base}/v1/messages/batches, polled
//   until "ended"; answers as JSONL at the batch's results_url.
//   Gemini: no batch here (submit_job refuses "execution": "batch").
//
// Every line carries the task id as its custom_id ("task-<id>"), and answers
// come back in any order. A line's answer is handed to the same parser as a
// synchronous reply (ParseChatResponse, ParseEmbeddingResponse) as the HTTP
// status and body it would have had.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/provider/protocol.hpp"

namespace llmeval::core::provider::batch {

// "task-<id>", and back (nullopt for a custom_id that is not one of ours).
std::string CustomId(int64_t task_id);
std::optional<int64_t> TaskOfCustomId(std::string_view custom_id);

// The batch endpoint of a synchronous request to url ("/v1/chat/completions",
// "/v1/responses", "/v1/embeddings" for OpenAI; "/v1/messages" for
// Anthropic); empty when the request has no batch form (Gemini, Azure's
// deployment URLs).
std::string EndpointOf(Kind kind, std::string_view url);

// One request as a line of the batch: body is the synchronous request's
// JSON body. OpenAI: {"custom_id", "method": "POST", "url": endpoint,
// "body"}; Anthropic: {"custom_id", "params": body} (one element of the
// create request's "requests").
std::string Line(Kind kind, int64_t task_id, std::string_view endpoint, std::string_view body);

// OpenAI: the file upload (multipart/form-data, purpose "batch", lines
// joined by newlines as "llmeval-batch-<batch_id>.jsonl").
HttpRequest Upload(std::string_view base_url, std::string_view api_key, int64_t batch_id,
                   const std::vector<std::string>& lines);
// The batch's creation. OpenAI: over the uploaded file, window "24h", our
// batch id in its metadata (llmeval_batch); Anthropic: the lines as its
// requests.
HttpRequest Create(Kind kind, std::string_view base_url, std::string_view api_key, int64_t batch_id,
                   std::string_view endpoint, std::string_view input_file_id,
                   const std::vector<std::string>& lines);
HttpRequest Status(Kind kind, std::string_view base_url, std::string_view api_key,
                   std::string_view remote_id);
HttpRequest Cancel(Kind kind, std::string_view base_url, std::string_view api_key,
                   std::string_view remote_id);
// The most recent batches (OpenAI: 100, Anthropic: 100), to find one whose
// creation was not recorded (a worker that died between the two).
HttpRequest List(Kind kind, std::string_view base_url, std::string_view api_key);
// OpenAI: a file's content; Anthropic: the results_url.
HttpRequest Download(Kind kind, std::string_view base_url, std::string_view api_key,
                     std::string_view file_id_or_url);

// A batch object (from create, status, cancel) as the engine keeps it.
struct Remote {
  bool ok = false;      // a batch object was read
  std::string error;    // otherwise: why (HTTP status and the API's message)
  bool retry = false;   // ... and whether asking again may help (429, 5xx, transport)
  std::string id;
  std::string status;   // the provider's own word: validating, in_progress, finalizing,
                        // completed, failed, expired, cancelling, cancelled; ended, canceling
  bool ended = false;   // no line will change any more: read the results
  std::string output_file_id, error_file_id, results_url;
  std::string request_counts;  // the provider's JSON object
  std::string errors;   // OpenAI "failed": the validation errors, one line
  std::string metadata_batch;  // OpenAI: metadata.llmeval_batch
  int64_t created_at = 0;      // Unix seconds
  int64_t total = 0;           // lines counted by the provider
};
Remote ParseRemote(Kind kind, long http_status, std::string_view body);
// A list reply: its batch objects.
std::vector<Remote> ParseList(Kind kind, long http_status, std::string_view body);
// An upload reply: the file id, or empty with error set.
std::string ParseUpload(long http_status, std::string_view body, std::string& error, bool& retry);

// One line of a result file.
struct Result {
  int64_t task_id = 0;
  // The answer as the synchronous API would have given it (status and
  // body); or, with status 0, a line that never ran (expired, cancelled):
  // error says which.
  long status = 0;
  std::string body;
  std::string error;
};
// The lines of a result file that carry one of our custom_ids (others, and
// lines that cannot be read, are skipped: malformed counts them).
std::vector<Result> ParseResults(Kind kind, std::string_view jsonl, int& malformed);

}  // namespace llmeval::core::provider::batch

#include "core/cpp_only.hpp"
