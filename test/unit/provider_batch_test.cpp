// The providers' batch APIs as requests and replies (core/provider/batch):
// lines, the multipart upload, creation, and every shape of result line the
// OpenAI Batch API and Anthropic's Message Batches document.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "core/provider/batch.hpp"
#include "core/provider/chat.hpp"

namespace llmeval::core::provider::batch {
namespace {

using nlohmann::json;

TEST(ProviderBatch, CustomIdsRoundTripAndRejectOthers) {
  EXPECT_EQ(CustomId(42), "task-42");
  EXPECT_EQ(TaskOfCustomId("task-42"), 42);
  EXPECT_EQ(TaskOfCustomId("task-"), std::nullopt);
  EXPECT_EQ(TaskOfCustomId("task-4x"), std::nullopt);
  EXPECT_EQ(TaskOfCustomId("task--1"), std::nullopt);
  EXPECT_EQ(TaskOfCustomId("task-0"), std::nullopt);
  EXPECT_EQ(TaskOfCustomId("request-1"), std::nullopt);
  EXPECT_EQ(TaskOfCustomId("task-99999999999999999999"), std::nullopt);  // overflow
}

TEST(ProviderBatch, EndpointsOfSynchronousRequests) {
  EXPECT_EQ(EndpointOf(Kind::kOpenAI, "https://api.openai.com/v1/chat/completions"), "/v1/chat/completions");
  EXPECT_EQ(EndpointOf(Kind::kOpenAI, "http://127.0.0.1:8000/v1/responses"), "/v1/responses");
  EXPECT_EQ(EndpointOf(Kind::kOpenAI, "http://h/v1/embeddings?x=1"), "/v1/embeddings");
  EXPECT_EQ(EndpointOf(Kind::kAnthropic, "https://api.anthropic.com/v1/messages"), "/v1/messages");
  // Azure's deployment URLs and Gemini have no batch form here
  EXPECT_EQ(EndpointOf(Kind::kOpenAI, "https://x.openai.azure.com/openai/deployments/d/chat/completions?api-version=1"), "");
  EXPECT_EQ(EndpointOf(Kind::kGemini, "https://g/v1beta/models/m:generateContent"), "");
}

TEST(ProviderBatch, LinesCarryTheSynchronousBody) {
  const std::string body = R"({"model":"gpt-x","messages":[{"role":"user","content":"hi \"there\"\n"}]})";
  const json openai = json::parse(Line(Kind::kOpenAI, 7, "/v1/chat/completions", body));
  EXPECT_EQ(openai["custom_id"], "task-7");
  EXPECT_EQ(openai["method"], "POST");
  EXPECT_EQ(openai["url"], "/v1/chat/completions");
  EXPECT_EQ(openai["body"], json::parse(body));
  const std::string line = Line(Kind::kOpenAI, 7, "/v1/chat/completions", body);
  EXPECT_EQ(line.find('\n'), std::string::npos) << "a JSONL line holds no raw line break";
  const json anthropic = json::parse(Line(Kind::kAnthropic, 8, "/v1/messages", body));
  EXPECT_EQ(anthropic["custom_id"], "task-8");
  EXPECT_EQ(anthropic["params"], json::parse(body));
  EXPECT_FALSE(anthropic.contains("url"));
}

TEST(ProviderBatch, UploadIsMultipartWithPurposeBatch) {
  const HttpRequest r = Upload("https://api.openai.com/v1", "sk-1", 5, {"{\"a\":1}", "{\"b\":2}"});
  EXPECT_EQ(r.url, "https://api.openai.com/v1/files");
  EXPECT_FALSE(r.get);
  std::string content_type;
  for (const std::string& h : r.headers)
    if (h.rfind("Content-Type:", 0) == 0) content_type = h;
  ASSERT_NE(content_type.find("multipart/form-data; boundary="), std::string::npos);
  const std::string boundary = content_type.substr(content_type.find("boundary=") + 9);
  EXPECT_NE(r.body.find("--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n"),
            std::string::npos);
  EXPECT_NE(r.body.find("filename=\"llmeval-batch-5.jsonl\""), std::string::npos);
  EXPECT_NE(r.body.find("{\"a\":1}\n{\"b\":2}\n"), std::string::npos);
  EXPECT_EQ(r.body.substr(r.body.size() - boundary.size() - 6), "--" + boundary + "--\r\n");
  bool bearer = false;
  for (const std::string& h : r.headers) bearer |= h == "Authorization: Bearer sk-1";
  EXPECT_TRUE(bearer);
}

TEST(ProviderBatch, CreateStatusCancelListDownload) {
  const HttpRequest openai = Create(Kind::kOpenAI, "https://api.openai.com/v1", "k", 9, "/v1/chat/completions",
                                    "file-abc", {});
  EXPECT_EQ(openai.url, "https://api.openai.com/v1/batches");
  const json body = json::parse(openai.body);
  EXPECT_EQ(body["input_file_id"], "file-abc");
  EXPECT_EQ(body["completion_window"], "24h");
  EXPECT_EQ(body["endpoint"], "/v1/chat/completions");
  EXPECT_EQ(body["metadata"]["llmeval_batch"], "9");  // metadata values are strings

  const HttpRequest anthropic = Create(Kind::kAnthropic, "https://api.anthropic.com", "k", 9, "/v1/messages", "",
                                       {"{\"custom_id\":\"task-1\",\"params\":{}}", "{\"custom_id\":\"task-2\",\"params\":{}}"});
  EXPECT_EQ(anthropic.url, "https://api.anthropic.com/v1/messages/batches");
  EXPECT_EQ(json::parse(anthropic.body)["requests"].size(), 2u);

  EXPECT_EQ(Status(Kind::kOpenAI, "https://api.openai.com/v1", "k", "batch_1").url,
            "https://api.openai.com/v1/batches/batch_1");
  EXPECT_TRUE(Status(Kind::kOpenAI, "https://api.openai.com/v1", "k", "batch_1").get);
  EXPECT_EQ(Status(Kind::kAnthropic, "https://api.anthropic.com", "k", "msgbatch_1").url,
            "https://api.anthropic.com/v1/messages/batches/msgbatch_1");
  EXPECT_EQ(Cancel(Kind::kOpenAI, "https://api.openai.com/v1", "k", "batch_1").url,
            "https://api.openai.com/v1/batches/batch_1/cancel");
  EXPECT_FALSE(Cancel(Kind::kOpenAI, "https://api.openai.com/v1", "k", "batch_1").get);
  EXPECT_EQ(Cancel(Kind::kAnthropic, "https://api.anthropic.com", "k", "msgbatch_1").url,
            "https://api.anthropic.com/v1/messages/batches/msgbatch_1/cancel");
  EXPECT_TRUE(List(Kind::kOpenAI, "https://api.openai.com/v1", "k").get);
  EXPECT_EQ(Download(Kind::kOpenAI, "https://api.openai.com/v1", "k", "file-out").url,
            "https://api.openai.com/v1/files/file-out/content");
  const HttpRequest results = Download(Kind::kAnthropic, "https://api.anthropic.com", "k",
                                       "https://api.anthropic.com/v1/messages/batches/msgbatch_1/results");
  EXPECT_EQ(results.url, "https://api.anthropic.com/v1/messages/batches/msgbatch_1/results");
  bool keyed = false;
  for (const std::string& h : results.headers) keyed |= h == "x-api-key: k";
  EXPECT_TRUE(keyed) << "results_url is read with the key, like every other request";
}

TEST(ProviderBatch, ParsesOpenAIBatchObjects) {
  const Remote running = ParseRemote(Kind::kOpenAI, 200, R"({
    "id": "batch_abc", "object": "batch", "endpoint": "/v1/chat/completions", "status": "in_progress",
    "created_at": 1765000000, "output_file_id": null, "error_file_id": null,
    "request_counts": {"total": 10, "completed": 4, "failed": 1}, "metadata": {"llmeval_batch": "12"}})");
  ASSERT_TRUE(running.ok);
  EXPECT_EQ(running.id, "batch_abc");
  EXPECT_EQ(running.status, "in_progress");
  EXPECT_FALSE(running.ended);
  EXPECT_EQ(running.total, 10);
  EXPECT_EQ(running.metadata_batch, "12");
  EXPECT_EQ(running.created_at, 1765000000);
  for (const char* status : {"completed", "failed", "expired", "cancelled"}) {
    const Remote r = ParseRemote(Kind::kOpenAI, 200, std::string(R"({"id":"b","status":")") + status + "\"}");
    EXPECT_TRUE(r.ended) << status;
  }
  EXPECT_FALSE(ParseRemote(Kind::kOpenAI, 200, R"({"id":"b","status":"cancelling"})").ended);
  const Remote failed = ParseRemote(Kind::kOpenAI, 200, R"({"id":"b","status":"failed","errors":{"object":"list",
    "data":[{"code":"duplicate_custom_id","line":3,"message":"The custom_id is not unique.","param":null}]}})");
  EXPECT_EQ(failed.errors, "duplicate_custom_id (line 3): The custom_id is not unique.");
  const Remote refused = ParseRemote(Kind::kOpenAI, 400, R"({"error":{"message":"Invalid completion_window","type":"invalid_request_error","param":"completion_window","code":null}})");
  EXPECT_FALSE(refused.ok);
  EXPECT_FALSE(refused.retry);
  EXPECT_EQ(refused.error, "HTTP 400: Invalid completion_window");
  EXPECT_TRUE(ParseRemote(Kind::kOpenAI, 503, "upstream").retry);
  EXPECT_TRUE(ParseRemote(Kind::kOpenAI, 200, "not json").retry);
}

TEST(ProviderBatch, ParsesAnthropicBatchObjects) {
  const Remote ended = ParseRemote(Kind::kAnthropic, 200, R"({"id":"msgbatch_1","type":"message_batch",
    "processing_status":"ended","request_counts":{"processing":0,"succeeded":3,"errored":1,"canceled":0,"expired":1},
    "created_at":"2026-12-07T14:00:00.123456Z","results_url":"https://x/v1/messages/batches/msgbatch_1/results"})");
  ASSERT_TRUE(ended.ok);
  EXPECT_TRUE(ended.ended);
  EXPECT_EQ(ended.total, 5);
  EXPECT_EQ(ended.results_url, "https://x/v1/messages/batches/msgbatch_1/results");
  EXPECT_EQ(ended.created_at, 1796652000);
  EXPECT_FALSE(ParseRemote(Kind::kAnthropic, 200, R"({"id":"m","processing_status":"canceling"})").ended);
  const auto list = ParseList(Kind::kAnthropic, 200, R"({"data":[{"id":"msgbatch_1","processing_status":"in_progress"},
    {"no_id":true}],"has_more":false})");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].id, "msgbatch_1");
  EXPECT_TRUE(ParseList(Kind::kOpenAI, 500, "{}").empty());
}

TEST(ProviderBatch, ParsesUploads) {
  std::string error;
  bool retry = false;
  EXPECT_EQ(ParseUpload(200, R"({"id":"file-1","object":"file","purpose":"batch"})", error, retry), "file-1");
  EXPECT_EQ(ParseUpload(400, R"({"error":{"message":"File is too large."}})", error, retry), "");
  EXPECT_EQ(error, "HTTP 400: File is too large.");
  EXPECT_FALSE(retry);
  EXPECT_EQ(ParseUpload(429, "{}", error, retry), "");
  EXPECT_TRUE(retry);
}

TEST(ProviderBatch, OpenAIResultLinesBecomeSynchronousReplies) {
  int malformed = 0;
  const std::string jsonl =
      R"({"id":"batch_req_1","custom_id":"task-2","response":{"status_code":200,"request_id":"r","body":{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"Paris"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}},"error":null})"
      "\n"
      R"({"id":"batch_req_2","custom_id":"task-1","response":{"status_code":400,"request_id":"r","body":{"error":{"message":"bad","type":"invalid_request_error"}}},"error":null})"
      "\n"
      R"({"id":"batch_req_3","custom_id":"task-3","response":null,"error":{"code":"batch_expired","message":"This request could not be executed before the completion window expired."}})"
      "\n"
      R"({"id":"batch_req_4","custom_id":"task-4","response":null,"error":{"code":"batch_cancelled","message":"x"}})"
      "\n"
      R"({"custom_id":"someone-else","response":{"status_code":200,"body":{}}})"
      "\nnot json\n\n";
  const std::vector<Result> results = ParseResults(Kind::kOpenAI, jsonl, malformed);
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(malformed, 2);
  EXPECT_EQ(results[0].task_id, 2);
  EXPECT_EQ(results[0].status, 200);
  const ChatResponse chat = ParseChatResponse(Kind::kOpenAI, results[0].status, results[0].body, "", 0);
  EXPECT_EQ(chat.outcome, Outcome::kOk);
  EXPECT_EQ(chat.output, "Paris");
  EXPECT_EQ(chat.input_tokens, 5);
  EXPECT_EQ(results[1].status, 400);
  EXPECT_EQ(ParseChatResponse(Kind::kOpenAI, results[1].status, results[1].body, "", 0).outcome, Outcome::kFail);
  EXPECT_EQ(results[2].status, 0);
  EXPECT_EQ(results[2].error, "the batch expired before this request ran");
  EXPECT_EQ(results[3].error, "the batch was cancelled before this request ran");
}

TEST(ProviderBatch, AnthropicResultLinesBecomeSynchronousReplies) {
  int malformed = 0;
  const std::string jsonl =
      R"({"custom_id":"task-1","result":{"type":"succeeded","message":{"id":"msg","type":"message","role":"assistant","content":[{"type":"text","text":"Paris"}],"stop_reason":"end_turn","usage":{"input_tokens":5,"output_tokens":1}}}})"
      "\n"
      R"({"custom_id":"task-2","result":{"type":"errored","error":{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}}})"
      "\n"
      R"({"custom_id":"task-3","result":{"type":"errored","error":{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}}})"
      "\n"
      R"({"custom_id":"task-4","result":{"type":"expired"}})"
      "\n"
      R"({"custom_id":"task-5","result":{"type":"canceled"}})"
      "\n"
      R"({"custom_id":"task-6","result":{"type":"mystery"}})";
  const std::vector<Result> results = ParseResults(Kind::kAnthropic, jsonl, malformed);
  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(malformed, 1);
  const ChatResponse ok = ParseChatResponse(Kind::kAnthropic, results[0].status, results[0].body, "", 0);
  EXPECT_EQ(ok.outcome, Outcome::kOk);
  EXPECT_EQ(ok.output, "Paris");
  EXPECT_EQ(results[1].status, 400);
  const ChatResponse refused = ParseChatResponse(Kind::kAnthropic, results[1].status, results[1].body, "", 0);
  EXPECT_EQ(refused.outcome, Outcome::kFail);
  EXPECT_NE(refused.error.find("max_tokens: Field required"), std::string::npos);
  EXPECT_EQ(results[2].status, 529);
  EXPECT_EQ(ParseChatResponse(Kind::kAnthropic, results[2].status, results[2].body, "", 0).outcome, Outcome::kRetry);
  EXPECT_EQ(results[3].error, "the batch expired before this request ran");
  EXPECT_EQ(results[4].error, "the batch was cancelled before this request ran");
}

}  // namespace
}  // namespace llmeval::core::provider::batch
