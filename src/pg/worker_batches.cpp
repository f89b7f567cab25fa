// Provider batches (jobs with "execution": "batch"; src/sql/78_batches.sql
// has their life and its durable state): gathering a job's due tasks into a
// batch, its submission, polls, remote cancel, recovery of a submission cut
// short, and its results stored as if they had come from synchronous calls.
//
// Every HTTP exchange goes through the worker's one client, tagged
// kBatchTag: no batch step waits on the network, and a slow provider holds
// no worker. One exchange is in flight per batch, under a lease on its row.
#include "pg/worker.hpp"

#include "core/provider/batch.hpp"

namespace llmeval::pg::worker {

namespace batch = llmeval::core::provider::batch;

namespace {

// "scheme://host:port" of a URL, to compare where two URLs go.
std::string Origin(const std::string& url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  return url.substr(0, url.find_first_of("/?#", scheme + 3));
}

void UpdateBatch(int64_t batch_id, const nlohmann::json& change, int poll_ms) {
  spi::InExtensionTransaction([&] {
    static spi::Statement update("SELECT llmeval._batch_update($1, $2::jsonb, $3)",
                                 {INT8OID, TEXTOID, INT4OID});
    update.Execute({Int64GetDatum(batch_id), spi::TextDatum(change.dump()), Int32GetDatum(poll_ms)});
  });
}

}  // namespace

void Worker::DriveBatches(bool woken) {
  const int64_t now = NowMs();
  if (!woken && now < next_batch_ms_) return;
  next_batch_ms_ = now + kBatchStepMs;
  // Steps of batches already known: polls, cancels, downloads, recoveries.
  const int room = kBatchStepsInFlight - static_cast<int>(batch_steps_.size());
  if (room > 0) {
    std::vector<BatchStep> due;
    spi::InExtensionTransaction([&] {
      static spi::Statement work(
          "SELECT batch_id, status, provider_kind, base_url, api_key, api_key_env, remote_id,"
          " input_file_id, output_file_id, error_file_id, results_url, lines, cancel,"
          " extract(epoch FROM created_at)::bigint, failures FROM llmeval._batch_work($1, $2)",
          {INT4OID, INT4OID});
      const uint64_t n = work.Execute({Int32GetDatum(room), Int32GetDatum(kBatchLeaseSeconds)});
      for (uint64_t r = 0; r < n; ++r) {
        BatchStep s;
        s.batch_id = spi::Int64(r, 1);
        s.status = spi::Text(r, 2);
        s.kind = provider::ParseKind(spi::Text(r, 3));
        s.base_url = spi::Text(r, 4);
        // (the settings may have narrowed since the batch was sent)
        s.key_problem = llmeval::pg::ResolveApiKey(!spi::IsNull(r, 5), spi::Text(r, 5), spi::Text(r, 6),
                                                   s.base_url, s.api_key);
        s.remote_id = spi::Text(r, 7);
        s.input_file_id = spi::Text(r, 8);
        s.output_file_id = spi::Text(r, 9);
        s.error_file_id = spi::Text(r, 10);
        s.results_url = spi::Text(r, 11);
        s.lines_count = spi::Int64(r, 12);
        s.cancel = spi::Bool(r, 13);
        s.created_at = spi::Int64(r, 14);
        s.failures = static_cast<int>(spi::Int64(r, 15));
        due.push_back(std::move(s));
      }
    });
    for (BatchStep& step : due) StartBatchStep(std::move(step));
  }
  // New batches from due tasks of batch jobs, one (job, model, kind) at a time.
  if (batch_steps_.size() < static_cast<std::size_t>(kBatchStepsInFlight)) SubmitNewBatch();
}

void Worker::StartBatchStep(BatchStep step) {
  if (!step.key_problem.empty()) {
    UpdateBatch(step.batch_id, {{"error", step.key_problem}, {"failure", true}},
                llmeval::pg::setting_batch_poll_interval_ms);
    return;
  }
  if (step.status == "submitting") {
    // Its worker stopped before the provider's answer was recorded: is the
    // batch there?
    step.op = BatchOp::kList;
    const provider::HttpRequest request = batch::List(step.kind, step.base_url, step.api_key);
    SendBatchRequest(std::move(step), request);
  } else if (step.status == "submitted") {
    step.op = step.cancel ? BatchOp::kCancel : BatchOp::kStatus;
    const provider::HttpRequest request =
        step.cancel ? batch::Cancel(step.kind, step.base_url, step.api_key, step.remote_id)
                    : batch::Status(step.kind, step.base_url, step.api_key, step.remote_id);
    SendBatchRequest(std::move(step), request);
  } else {  // ended: read its results
    DownloadNext(std::move(step));
  }
}

void Worker::DownloadNext(BatchStep step) {
  if (step.kind == provider::Kind::kAnthropic) {
    // (the key goes only where the batch was sent)
    if (!step.results_url.empty() && Origin(step.results_url) != Origin(step.base_url)) {
      UpdateBatch(step.batch_id, {{"error", "results_url " + step.results_url + " is not on the provider's host"},
                                  {"failure", true}},
                  llmeval::pg::setting_batch_poll_interval_ms);
      return;
    }
    if (step.op != BatchOp::kDownload && !step.results_url.empty()) {
      step.op = BatchOp::kDownload;
      const provider::HttpRequest request =
          batch::Download(step.kind, step.base_url, step.api_key, step.results_url);
      SendBatchRequest(std::move(step), request);
      return;
    }
  } else {
    // OpenAI: the output file, then the error file, each read once
    for (std::string* file : {&step.output_file_id, &step.error_file_id}) {
      if (file->empty()) continue;
      const provider::HttpRequest request = batch::Download(step.kind, step.base_url, step.api_key, *file);
      file->clear();
      step.op = BatchOp::kDownload;
      SendBatchRequest(std::move(step), request);
      return;
    }
  }
  StoreBatchResults(step);
}

void Worker::SendBatchRequest(BatchStep step, const provider::HttpRequest& request) {
  http::Request r;
  r.tag = kBatchTag | ++batch_seq_;
  r.url = request.url;
  r.headers = request.headers;
  r.body = request.body;
  r.get = request.get;
  // (result files hold every answer of the batch)
  if (step.op == BatchOp::kDownload) r.max_response_bytes = kBatchMaxResultBytes;
  const uint64_t tag = r.tag;
  batch_steps_.emplace(tag, std::move(step));
  // Every slot busy with calls: it goes first when one frees (SendWaitingBatchRequests).
  if (!client_.Submit(r)) batch_waiting_.push_back(std::move(r));
}

void Worker::SendWaitingBatchRequests() {
  while (!batch_waiting_.empty() && client_.Submit(batch_waiting_.front())) batch_waiting_.pop_front();
}

void Worker::SubmitNewBatch() {
  std::vector<int64_t> ids, jobs;
  std::vector<spi::Uuid> tokens;
  spi::InExtensionTransaction([&] {
    static spi::Statement claim("SELECT task_id, claim_token, job_id FROM llmeval._claim_batch_tasks($1, $2)",
                                {INT4OID, INT4OID});
    const uint64_t n = claim.Execute({Int32GetDatum(llmeval::pg::setting_batch_max_lines),
                                      Int32GetDatum(llmeval::pg::setting_lease_seconds)});
    for (uint64_t r = 0; r < n; ++r) {
      ids.push_back(spi::Int64(r, 1));
      tokens.push_back(spi::UuidValue(r, 2));
      jobs.push_back(spi::Int64(r, 3));
    }
    FoldJobCounters(std::move(jobs));
  });
  if (ids.empty()) return;
  std::vector<Task> claimed;
  std::vector<std::optional<CachedReply>> cached;
  BuildClaimed(ids, tokens, claimed, cached, true);
  // Cache hits and tasks that cannot be called are answered now, as in a
  // synchronous job; the others go to the batch, as many as its size allows.
  Answer(claimed, cached);
  std::vector<int64_t> send_ids, left_ids;
  std::vector<spi::Uuid> send_tokens, left_tokens;
  std::vector<std::string> lines;
  std::size_t bytes = 0;
  std::string endpoint;
  BatchStep step;
  for (int64_t id : ids) {
    auto it = tasks_.find(id);
    if (it == tasks_.end() || it->second.answered) continue;
    const Task& task = it->second;
    const std::string task_endpoint = batch::EndpointOf(task.kind, task.request.url);
    // (submit_job refuses models without a batch form; a provider changed
    // since is called synchronously, like any task the worker holds)
    if (task_endpoint.empty() || (!endpoint.empty() && task_endpoint != endpoint)) continue;
    std::string line = batch::Line(task.kind, id, task_endpoint, task.request.body);
    // Within what the providers take (OpenAI 200 MB a file, Anthropic 256 MB
    // a batch) and what the results of embeddings (two vectors a line) fill:
    // the rest go back to the queue for the next batch.
    const std::size_t max_lines = task.task_kind == TaskKind::kEmbed ? kBatchMaxEmbedLines : SIZE_MAX;
    if (bytes + line.size() + 1 > kBatchMaxRequestBytes || send_ids.size() >= max_lines) {
      left_ids.push_back(id);
      left_tokens.push_back(task.token);
      continue;
    }
    endpoint = task_endpoint;
    step.kind = task.kind;
    step.base_url = task.base_url;
    step.api_key = task.api_key;
    bytes += line.size() + 1;
    lines.push_back(std::move(line));
    send_ids.push_back(id);
    send_tokens.push_back(task.token);
  }
  if (!left_ids.empty()) {
    for (int64_t id : left_ids) tasks_.erase(id);
    spi::InExtensionTransaction([&] {
      static spi::Statement release("SELECT llmeval._release_tasks($1, $2, 0, false)", {INT8ARRAYOID, UUIDARRAYOID});
      release.Execute({spi::Int64ArrayDatum(left_ids), spi::UuidArrayDatum(left_tokens)});
    });
  }
  if (send_ids.empty()) return;
  // The tasks go to the batch row before anything is sent: from here on the
  // batch holds them, whatever happens to this worker.
  std::vector<int64_t> attached;
  spi::InExtensionTransaction([&] {
    static spi::Statement begin("SELECT batch_id, task_id FROM llmeval._begin_batch($1, $2, $3)",
                                {INT8ARRAYOID, UUIDARRAYOID, TEXTOID});
    const uint64_t n = begin.Execute(
        {spi::Int64ArrayDatum(send_ids), spi::UuidArrayDatum(send_tokens), spi::TextDatum(endpoint)});
    for (uint64_t r = 0; r < n; ++r) {
      step.batch_id = spi::Int64(r, 1);
      attached.push_back(spi::Int64(r, 2));
    }
  });
  for (std::size_t i = 0; i < send_ids.size(); ++i) {
    // the batch has it now (or the claim was lost, or a tenant held its row:
    // cancelled, or back in the queue when its lease ends)
    tasks_.erase(send_ids[i]);
    if (std::binary_search(attached.begin(), attached.end(), send_ids[i])) step.lines.push_back(std::move(lines[i]));
  }
  if (step.lines.empty()) return;
  step.endpoint = endpoint;
  step.lines_count = static_cast<int64_t>(step.lines.size());
  step.status = "submitting";
  step.created_at = static_cast<int64_t>(std::time(nullptr));
  Log(LOG, "pg_llmeval: provider batch " + std::to_string(step.batch_id) + ": sending " +
               std::to_string(step.lines.size()) + " requests to " + endpoint);
  if (step.kind == provider::Kind::kAnthropic) {
    step.op = BatchOp::kCreate;
    const provider::HttpRequest request = batch::Create(step.kind, step.base_url, step.api_key, step.batch_id,
                                                        endpoint, "", step.lines);
    SendBatchRequest(std::move(step), request);
  } else {
    step.op = BatchOp::kUpload;
    const provider::HttpRequest request = batch::Upload(step.base_url, step.api_key, step.batch_id, step.lines);
    SendBatchRequest(std::move(step), request);
  }
}

void Worker::BatchResponse(const http::Response& response) {
  auto it = batch_steps_.find(response.tag);
  if (it == batch_steps_.end()) return;
  BatchStep step = std::move(it->second);
  batch_steps_.erase(it);
  const int poll_ms = llmeval::pg::setting_batch_poll_interval_ms;
  const bool answered = response.transport == http::Transport::kOk;
  const std::string transport_error =
      answered ? "" : provider::Redact(http::TransportErrorText(response), step.api_key);
  // A failed exchange: tried again later, each time after longer.
  auto failed = [&](const std::string& what) {
    UpdateBatch(step.batch_id, {{"error", provider::Redact(what, step.api_key)}, {"failure", true}}, poll_ms);
  };
  switch (step.op) {
    case BatchOp::kUpload: {
      std::string error = transport_error;
      bool retry = !answered;
      const std::string file = answered ? batch::ParseUpload(response.status, response.body, error, retry) : "";
      if (file.empty()) {
        // Nothing was created: the tasks go back to the queue, the attempt
        // counted (an upload that never succeeds ends in their failure).
        AbandonBatch(step.batch_id, "the batch file could not be uploaded: " + provider::Redact(error, step.api_key),
                     true);
        return;
      }
      UpdateBatch(step.batch_id, {{"input_file_id", file}, {"keep_lease", true}}, 0);
      step.input_file_id = file;
      step.op = BatchOp::kCreate;
      const provider::HttpRequest request = batch::Create(step.kind, step.base_url, step.api_key, step.batch_id,
                                                          step.endpoint, file, {});
      SendBatchRequest(std::move(step), request);
      return;
    }
    case BatchOp::kCreate: {
      if (!answered) {
        // The provider may or may not have it: the recovery looks (kList).
        failed("creating the batch: " + transport_error);
        return;
      }
      const batch::Remote remote = batch::ParseRemote(step.kind, response.status, response.body);
      if (!remote.ok) {
        const std::string error = "the provider refused the batch: " + remote.error;
        if (remote.retry) {
          failed(error);
        } else {
          AbandonBatch(step.batch_id, provider::Redact(error, step.api_key), true);
        }
        return;
      }
      RecordRemote(step.batch_id, remote, true);
      return;
    }
    case BatchOp::kList: {
      if (!answered || response.status != 200) {
        failed("looking for the batch at the provider: " +
               (answered ? "HTTP " + std::to_string(response.status) : transport_error));
        return;
      }
      // Ours: OpenAI's by the metadata we gave it; Anthropic keeps none, so
      // one created near our row's time with as many requests, closest first.
      std::vector<std::pair<int64_t, std::string>> candidates;
      for (const batch::Remote& remote : batch::ParseList(step.kind, response.status, response.body)) {
        if (step.kind == provider::Kind::kAnthropic) {
          if (remote.created_at >= step.created_at - 60 && remote.created_at <= step.created_at + 600 &&
              remote.total == step.lines_count)
            candidates.emplace_back(std::llabs(remote.created_at - step.created_at), remote.id);
        } else if (remote.metadata_batch == std::to_string(step.batch_id)) {
          candidates.emplace_back(0, remote.id);
        }
      }
      std::sort(candidates.begin(), candidates.end());
      std::vector<std::string> ids;
      for (auto& c : candidates) ids.push_back(std::move(c.second));
      AdoptOrAbandon(step, ids);
      return;
    }
    case BatchOp::kStatus:
    case BatchOp::kCancel: {
      if (!answered) {
        failed("asking the provider about the batch: " + transport_error);
        return;
      }
      batch::Remote remote = batch::ParseRemote(step.kind, response.status, response.body);
      if (!remote.ok && response.status == 404 && step.op == BatchOp::kStatus) {
        // Gone at the provider (deleted, or another account's key): its
        // tasks are asked for again.
        UpdateBatch(step.batch_id, {{"status", "ended"}, {"error", "the provider no longer has batch " + step.remote_id}},
                    0);
        return;
      }
      if (!remote.ok) {
        if (step.op == BatchOp::kCancel && !remote.retry) {
          // (already ended: nothing left to cancel)
          UpdateBatch(step.batch_id, {{"cancel_sent", true}, {"error", remote.error}}, 0);
        } else {
          failed("asking the provider about the batch: " + remote.error);
        }
        return;
      }
      if (step.op == BatchOp::kCancel) {
        UpdateBatch(step.batch_id, {{"cancel_sent", true}, {"remote_status", remote.status}}, 0);
        return;
      }
      RecordRemote(step.batch_id, remote, false);
      return;
    }
    case BatchOp::kDownload: {
      if (!answered || response.status != 200) {
        const std::string why = "downloading the results: " +
                                (answered ? "HTTP " + std::to_string(response.status) : transport_error);
        if (step.failures + 1 < kBatchMaxFailures) {
          failed(why);
          return;
        }
        // Given up after failing for hours: its tasks are asked for again.
        Log(LOG, "pg_llmeval: provider batch " + std::to_string(step.batch_id) + ": " + why + "; given up after " +
                     std::to_string(kBatchMaxFailures) + " tries");
        step.results.clear();
        StoreBatchResults(step);
        return;
      }
      step.results += response.body;
      if (!step.results.empty() && step.results.back() != '\n') step.results += '\n';
      DownloadNext(std::move(step));
      return;
    }
  }
}

void Worker::RecordRemote(int64_t batch_id, const batch::Remote& remote, bool created) {
  nlohmann::json change = {{"remote_status", remote.status}, {"error", nullptr}};
  if (created) change["remote_id"] = remote.id;
  if (created || !remote.ended) change["status"] = "submitted";
  if (!remote.request_counts.empty()) change["request_counts"] = nlohmann::json::parse(remote.request_counts);
  if (remote.ended) {
    change["status"] = "ended";
    if (!remote.output_file_id.empty()) change["output_file_id"] = remote.output_file_id;
    if (!remote.error_file_id.empty()) change["error_file_id"] = remote.error_file_id;
    if (!remote.results_url.empty()) change["results_url"] = remote.results_url;
    if (!remote.errors.empty()) change["error"] = remote.errors;
  }
  UpdateBatch(batch_id, change, remote.ended ? 0 : llmeval::pg::setting_batch_poll_interval_ms);
  if (created) Log(LOG, "pg_llmeval: provider batch " + std::to_string(batch_id) + " is " + remote.id);
}

void Worker::AdoptOrAbandon(const BatchStep& step, const std::vector<std::string>& candidates) {
  std::string adopted;
  spi::InExtensionTransaction([&] {
    static spi::Statement durable("SELECT set_config('synchronous_commit', 'on', true)", {});
    durable.Execute({});
    // (a remote batch another row already has is not this one)
    static spi::Statement adopt(
        "UPDATE llmeval.provider_batches b SET remote_id = c.id, status = 'submitted', submitted_at = now(),"
        " error = NULL, failures = 0, lease_until = NULL, worker_pid = NULL, next_poll_at = now()"
        " FROM (SELECT x.id FROM unnest($2::text[]) WITH ORDINALITY x(id, n)"
        "       WHERE NOT EXISTS (SELECT 1 FROM llmeval.provider_batches o"
        "                         WHERE o.remote_id = x.id AND o.id <> $1) ORDER BY x.n LIMIT 1) c"
        " WHERE b.id = $1 AND b.status = 'submitting' AND b.worker_pid = pg_backend_pid() RETURNING b.remote_id",
        {INT8OID, TEXTARRAYOID});
    if (adopt.Execute({Int64GetDatum(step.batch_id), spi::TextArrayDatum(candidates)}) == 1) adopted = spi::Text(0, 1);
  });
  if (!adopted.empty()) {
    Log(LOG, "pg_llmeval: provider batch " + std::to_string(step.batch_id) + " found at the provider as " + adopted);
    return;
  }
  // Not there. A creation may still be on its way (a slow provider, a worker
  // that stalled): only a batch begun minutes ago is given up; otherwise the
  // provider is asked again later.
  if (!candidates.empty() ||
      static_cast<int64_t>(std::time(nullptr)) - step.created_at < kBatchCreationGraceSeconds) {
    UpdateBatch(step.batch_id, {{"error", "not found at the provider yet"}, {"failure", true}},
                llmeval::pg::setting_batch_poll_interval_ms);
    return;
  }
  AbandonBatch(step.batch_id, "its submission was interrupted before the provider had it", false);
}

void Worker::AbandonBatch(int64_t batch_id, const std::string& reason, bool counted) {
  spi::InExtensionTransaction([&] {
    static spi::Statement abandon("SELECT llmeval._abandon_batch($1, $2, $3)", {INT8OID, TEXTOID, BOOLOID});
    abandon.Execute({Int64GetDatum(batch_id), spi::TextDatum(reason), BoolGetDatum(counted)});
    if (!spi::IsNull(0, 1)) FoldJobCounters({spi::Int64(0, 1)});
  });
  Log(LOG, "pg_llmeval: provider batch " + std::to_string(batch_id) + " abandoned: " + reason);
}

void Worker::StoreBatchResults(const BatchStep& step) {
  int malformed = 0;
  std::unordered_map<int64_t, batch::Result> answers;
  for (batch::Result& r : batch::ParseResults(step.kind, step.results, malformed))
    answers[r.task_id] = std::move(r);
  std::vector<int64_t> ids, jobs;
  std::vector<spi::Uuid> tokens;
  spi::InExtensionTransaction([&] {
    static spi::Statement claim("SELECT task_id, claim_token, job_id FROM llmeval._claim_batch_results($1, $2)",
                                {INT8OID, INT4OID});
    const uint64_t n = claim.Execute({Int64GetDatum(step.batch_id), Int32GetDatum(llmeval::pg::setting_lease_seconds)});
    for (uint64_t r = 0; r < n; ++r) {
      ids.push_back(spi::Int64(r, 1));
      tokens.push_back(spi::UuidValue(r, 2));
      jobs.push_back(spi::Int64(r, 3));
    }
  });
  if (!ids.empty()) {
    std::vector<Task> claimed;
    std::vector<std::optional<CachedReply>> cached;
    BuildClaimed(ids, tokens, claimed, cached, false);
    std::vector<Failure> failures;
    const std::string missing = "the provider batch " + step.remote_id + " ended without an answer to this request";
    for (Task& t : claimed) {
      const int64_t id = t.id;
      Task& task = tasks_.insert_or_assign(id, std::move(t)).first->second;
      if (!task.problem.empty()) {
        task.answered = true;
        failures.push_back({&task, task.problem, 0, true, 0});
        continue;
      }
      // The line's answer, handed to the synchronous path as its reply.
      http::Response reply;
      reply.tag = static_cast<uint64_t>(id);
      auto found = answers.find(id);
      if (found != answers.end() && found->second.status != 0) {
        reply.transport = http::Transport::kOk;
        reply.status = found->second.status;
        reply.body = std::move(found->second.body);
      } else {
        reply.transport = http::Transport::kOther;
        reply.error = found != answers.end() ? found->second.error : missing;
      }
      task.in_flight = true;
      task.from_batch = true;
      finished_.push_back(std::move(reply));
    }
    if (!failures.empty()) Settle(Store({}, failures));
    if (!finished_.empty()) oldest_finished_ms_ = NowMs();
    FlushFinished(true);
  }
  nlohmann::json change = {{"status", "stored"}};
  if (malformed > 0) change["error"] = std::to_string(malformed) + " result lines could not be read";
  UpdateBatch(step.batch_id, change, 0);
  Log(LOG, "pg_llmeval: provider batch " + std::to_string(step.batch_id) + ": " + std::to_string(answers.size()) +
               " answers read for " + std::to_string(ids.size()) + " tasks");
}

void Worker::ForgetBatchSteps() {
  batch_steps_.clear();
  batch_waiting_.clear();
  try {
    spi::InExtensionTransaction([&] {
      static spi::Statement release(
          "UPDATE llmeval.provider_batches SET lease_until = NULL, worker_pid = NULL"
          " WHERE worker_pid = pg_backend_pid() AND status IN ('submitted', 'ended')",
          {});
      release.Execute({});
    });
  } catch (const std::exception&) {
    spi::AbortQuietly();  // (their leases run out instead)
  }
}

}  // namespace llmeval::pg::worker
