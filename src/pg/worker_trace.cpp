// LangSmith tracing: one run per call stored, sent in batches.
#include "pg/worker.hpp"

namespace llmeval::pg::worker {

const char* Worker::KindName(TaskKind kind) {
  return kind == TaskKind::kJudge ? "judge" : kind == TaskKind::kEmbed ? "embed" : "generate";
}

void Worker::Trace(const std::vector<Completion>& completions, const std::vector<Failure>& failures) {
  if (llmeval::pg::setting_langsmith_endpoint == nullptr ||
      *llmeval::pg::setting_langsmith_endpoint == '\0')
    return;
  const int64_t now = static_cast<int64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  auto run_of = [&](const Task& t, double latency_ms) {
    core::trace::Run run;
    run.id = core::trace::NewRunId(rng_(), rng_());
    run.name = std::string(KindName(t.task_kind)) + " " + t.model;
    run.run_type = t.task_kind == TaskKind::kEmbed ? "embedding" : "llm";
    run.end_unix_ms = now;
    run.start_unix_ms = now - static_cast<int64_t>(latency_ms);
    if (t.task_kind == TaskKind::kEmbed) {
      run.inputs = {{"texts", t.texts}};
    } else {
      run.inputs = {{"prompt", t.chat.prompt}, {"params", t.chat.params}};
      if (!t.chat.system.empty()) run.inputs["system"] = t.chat.system;
      if (!t.chat.history.empty()) run.inputs["history"] = t.chat.history;
    }
    run.metadata = {{"job_id", t.job_id}, {"task_id", t.id}, {"correlation_id", t.correlation_id},
                    {"model", t.model}, {"attempt", t.attempt}, {"kind", KindName(t.task_kind)}};
    if (!t.metric.empty()) run.metadata["metric"] = t.metric;
    run.tags = {"pg_llmeval", KindName(t.task_kind)};
    return run;
  };
  for (const Completion& c : completions) {
    core::trace::Run run = run_of(*c.task, c.latency_ms);
    run.outputs = {{"output", c.output}, {"cached", c.cached}};
    if (c.input_tokens) run.outputs["input_tokens"] = *c.input_tokens;
    if (c.output_tokens) run.outputs["output_tokens"] = *c.output_tokens;
    if (c.verdict && c.verdict->judgement.score) run.outputs["score"] = *c.verdict->judgement.score;
    traces_.push_back(std::move(run));
  }
  for (const Failure& f : failures) {
    core::trace::Run run = run_of(*f.task, f.latency_ms);
    run.error = f.error;
    run.outputs = {{"final", f.final}};
    traces_.push_back(std::move(run));
  }
  if (traces_.size() > kTraceBacklog) {
    traces_dropped_ += static_cast<int64_t>(traces_.size() - kTraceBacklog);
    traces_.erase(traces_.begin(), traces_.begin() + static_cast<std::ptrdiff_t>(traces_.size() - kTraceBacklog));
  }
}

void Worker::SendTraces() {
  if (traces_.empty()) return;
  const int64_t now = NowMs();
  if (traces_.size() < kTraceBatch && now < next_trace_send_ms_) return;
  next_trace_send_ms_ = now + kTraceWaitMs;
  const char* key_env = llmeval::pg::setting_langsmith_api_key_env;
  const char* key = key_env != nullptr && *key_env != '\0' ? std::getenv(key_env) : nullptr;
  if (key == nullptr || *key == '\0' || *llmeval::pg::setting_langsmith_endpoint == '\0') {
    if (!trace_key_warned_)
      Log(LOG, std::string("pg_llmeval: LangSmith tracing is on but the server's environment "
                           "variable ") + (key_env ? key_env : "") + " holding its key is not set");
    trace_key_warned_ = true;
    traces_dropped_ += static_cast<int64_t>(traces_.size());
    traces_.clear();
    return;
  }
  while (!traces_.empty() && static_cast<int>(client_.inflight()) < llmeval::pg::setting_max_inflight) {
    const std::size_t n = std::min(kTraceBatch, traces_.size());
    std::vector<core::trace::Run> batch(std::make_move_iterator(traces_.begin()),
                                        std::make_move_iterator(traces_.begin() + static_cast<std::ptrdiff_t>(n)));
    http::Request request = core::trace::BuildBatchRequest(
        llmeval::pg::setting_langsmith_endpoint, key, llmeval::pg::setting_langsmith_project, batch);
    request.tag = kTraceTag | ++trace_seq_;
    if (!client_.Submit(std::move(request))) break;
    traces_.erase(traces_.begin(), traces_.begin() + static_cast<std::ptrdiff_t>(n));
    if (traces_.size() < kTraceBatch) break;
  }
}

void Worker::TraceSent(const http::Response& response) {
  if (response.transport == http::Transport::kOk && response.status < 300) return;
  ++trace_failures_;
  const int64_t now = NowMs();
  if (now < next_trace_warning_ms_) return;
  next_trace_warning_ms_ = now + 60000;
  Log(LOG, "pg_llmeval: LangSmith export failed (" + std::to_string(trace_failures_) +
               " batches so far, " + std::to_string(traces_dropped_) +
               " runs dropped while it lagged): " +
               (response.transport == http::Transport::kOk
                    ? "HTTP " + std::to_string(response.status)
                    : http::TransportErrorText(response)));
}

}  // namespace llmeval::pg::worker
