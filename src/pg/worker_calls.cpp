// Provider calls: starting them within the rate limits, polling them, and
// reading replies (chat, judge with its repair call, embeddings) into
// completions and failures.
#include "pg/worker.hpp"

namespace llmeval::pg::worker {

void Worker::PollCalls() {
  const std::size_t before = finished_.size();
  client_.Poll(kPollSliceMs, finished_);
  if (finished_.size() > before && before == 0) oldest_finished_ms_ = NowMs();
  FlushFinished(false);
}

void Worker::FlushFinished(bool force) {
  if (finished_.empty()) return;
  const bool due = force || client_.inflight() == 0 || finished_.size() >= kBatchSize ||
                   NowMs() - oldest_finished_ms_ >= kBatchWaitMs;
  if (!due) return;
  std::vector<http::Response> batch;
  batch.swap(finished_);
  WriteBack(batch);
}

void Worker::ReloadSettings() {
  client_.SetOptions(ClientOptions());
  next_renewal_ms_ = 0;  // the lease may have changed: renew on the new one
}

http::ClientOptions Worker::ClientOptions() {
  http::ClientOptions o;
  o.max_inflight = llmeval::pg::setting_max_inflight;
  o.connect_timeout_ms = llmeval::pg::setting_connect_timeout_ms;
  o.request_timeout_ms = llmeval::pg::setting_request_timeout_ms;
  return o;
}

Verdict Worker::CompareEmbeddings(const Task& t) {
  Verdict v;
  if (t.vectors.size() != 2 || !t.vectors[0] || !t.vectors[1] ||
      t.vectors[0]->size() != t.vectors[1]->size()) {
    v.judgement.error = "the two embeddings differ in dimension";
    return v;
  }
  const std::vector<float> a(t.vectors[0]->begin(), t.vectors[0]->end());
  const std::vector<float> b(t.vectors[1]->begin(), t.vectors[1]->end());
  v.judgement.score = core::metrics::CosineSimilarity(a.data(), b.data(), a.size());
  if (!v.judgement.score) v.judgement.error = "an embedding is all zeros";
  return v;
}

std::optional<Completion> Worker::JudgeReply(Task& task, std::string output, std::string_view body,
                                     double latency_ms, std::optional<int64_t> in_tokens,
                                     std::optional<int64_t> out_tokens, TokenParts parts, bool cached) {
  Verdict v;
  v.judgement = task.pairwise       ? judge::ParsePairwiseReply(output)
                : task.verdict_rule ? judge::ParseVerdictsReply(output, *task.verdict_rule, task.verdict_count)
                                    : judge::ParseScoreReply(output, task.scale);
  if (v.judgement.error.empty() && !task.pairwise && !task.verdict_rule && !body.empty())
    v.judgement.weighted_score = judge::WeightedScore(body, output, task.scale);
  if (!v.judgement.error.empty() && task.first_reply.empty()) {
    task.first_reply = output;
    task.cache_key.clear();  // the reply cached would not be the one to this request
    task.spent_latency_ms = latency_ms;
    task.spent_input_tokens = in_tokens.value_or(0);
    task.spent_output_tokens = out_tokens.value_or(0);
    task.spent_parts = parts;
    provider::ChatRequest repair = task.chat;
    repair.prompt = judge::RepairPrompt(task.chat.prompt, output, v.judgement.error);
    task.request = provider::BuildChatRequest(task.kind, task.base_url, task.api_key, repair);
    task.in_flight = false;
    task.from_batch = false;  // (the repair is a call of its own)
    task.not_before_ms = 0;
    return std::nullopt;
  }
  if (!task.first_reply.empty()) {
    v.repaired = true;
    v.first_reply = task.first_reply;
    latency_ms += task.spent_latency_ms;
    if (in_tokens || task.spent_input_tokens) in_tokens = in_tokens.value_or(0) + task.spent_input_tokens;
    if (out_tokens || task.spent_output_tokens)
      out_tokens = out_tokens.value_or(0) + task.spent_output_tokens;
    parts.Add(task.spent_parts);
  }
  return Completion{&task, std::move(output), latency_ms, in_tokens, out_tokens, cached, std::move(v), parts};
}

std::optional<Completion> Worker::EmbeddingReply(Task& task, const provider::EmbeddingResponse& reply,
                                                double latency_ms) {
  Verdict v;
  for (std::size_t k = 0; k < task.missing.size() && k < reply.vectors.size(); ++k) {
    task.vectors[task.missing[k]] = reply.vectors[k];
    v.new_embeddings.emplace_back(task.texts[task.missing[k]], reply.vectors[k]);
  }
  Verdict compared = CompareEmbeddings(task);
  v.judgement = std::move(compared.judgement);
  return Completion{&task, "", latency_ms, reply.input_tokens, std::nullopt, false, std::move(v), {}};
}

void Worker::StartDueCalls() {
  const int64_t now = NowMs();
  for (auto& [id, task] : tasks_) {
    if (task.in_flight || task.answered || task.not_before_ms > now) continue;
    if (static_cast<int>(client_.inflight()) >= llmeval::pg::setting_max_inflight) break;
    const int64_t wait = llmeval::pg::TryAcquireRate(task.model_id, task.requests_per_minute,
                                                     task.tokens_per_minute, task.estimated_tokens);
    if (wait > 0) {
      task.not_before_ms = now + wait;
      continue;
    }
    http::Request request;
    request.tag = static_cast<uint64_t>(id);
    request.url = task.request.url;
    request.headers = task.request.headers;
    request.body = task.request.body;
    if (!client_.Submit(std::move(request))) break;
    task.in_flight = true;
  }
}

void Worker::WriteBack(const std::vector<http::Response>& done) {
  std::vector<Completion> completions;
  std::vector<Failure> failures;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const int64_t now_unix = static_cast<int64_t>(std::time(nullptr));
  std::vector<const http::Response*> batch_replies;
  for (const http::Response& response : done) {
    if (response.tag & kTraceTag) {
      TraceSent(response);
      continue;
    }
    if (response.tag & kBatchTag) {
      batch_replies.push_back(&response);
      continue;
    }
    auto it = tasks_.find(static_cast<int64_t>(response.tag));
    if (it == tasks_.end()) continue;
    Task& task = it->second;
    provider::ChatResponse chat;
    std::optional<provider::EmbeddingResponse> embedding;
    if (response.transport == http::Transport::kOk && task.task_kind == TaskKind::kEmbed) {
      embedding = provider::ParseEmbeddingResponse(task.kind, response.status, response.body,
                                                   response.retry_after, now_unix,
                                                   task.missing.size());
      chat.outcome = embedding->outcome;
      chat.error = embedding->error;
      chat.retry_after_ms = embedding->retry_after_ms;
      chat.input_tokens = embedding->input_tokens;
    } else if (response.transport == http::Transport::kOk) {
      chat = provider::ParseChatResponse(task.kind, response.status, response.body,
                                         response.retry_after, now_unix, task.chat.api);
    } else {
      chat.outcome = provider::Outcome::kRetry;
      chat.error = http::TransportErrorText(response);
    }
    chat.error = provider::Redact(chat.error, task.api_key);
    if (chat.outcome == provider::Outcome::kOk) {
      if ((chat.input_tokens || chat.output_tokens) && !task.from_batch)
        llmeval::pg::ChargeTokens(task.model_id, chat.input_tokens.value_or(0) +
                                                     chat.output_tokens.value_or(0) -
                                                     task.estimated_tokens);
      std::optional<Completion> done_call;
      if (task.task_kind == TaskKind::kJudge) {
        done_call = JudgeReply(task, std::move(chat.output), response.body, response.elapsed_ms,
                               chat.input_tokens, chat.output_tokens, TokenParts::Of(chat), false);
      } else if (task.task_kind == TaskKind::kEmbed) {
        done_call = EmbeddingReply(task, *embedding, response.elapsed_ms);
      } else {
        done_call = Completion{&task, std::move(chat.output), response.elapsed_ms,
                               chat.input_tokens, chat.output_tokens, false, std::nullopt,
                               TokenParts::Of(chat), std::move(chat.tool_calls)};
      }
      if (done_call) completions.push_back(std::move(*done_call));
    } else if (response.transport == http::Transport::kOk &&
               chat.outcome == provider::Outcome::kFail &&
               ResendWithout(task, response.status, response.body)) {
      continue;
    } else {
      const bool final = chat.outcome == provider::Outcome::kFail ||
                         task.attempt >= task.max_attempts;
      const int64_t delay =
          final ? 0 : provider::BackoffMs(task.attempt, unit(rng_), chat.retry_after_ms);
      failures.push_back({&task, chat.error, delay, final, response.elapsed_ms});
    }
  }
  RememberRefusals();
  if (!completions.empty() || !failures.empty()) Settle(Store(completions, failures));
  // (after this write-back: storing a batch's results writes back in turn)
  for (const http::Response* reply : batch_replies) BatchResponse(*reply);
}

}  // namespace llmeval::pg::worker
