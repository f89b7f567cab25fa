// Claims and what holds them: claiming due tasks (and isolating a task
// whose request cannot be built), reading a claim into a Task, the cache
// lookup, lease renewal, reclaim of abandoned claims, lost claims and
// releases.
#include "pg/worker.hpp"

namespace llmeval::pg::worker {

void Worker::HeldClaims(std::vector<int64_t>& ids, std::vector<spi::Uuid>& tokens) const {
  for (const auto& [id, task] : tasks_) {
    ids.push_back(id);
    tokens.push_back(task.token);
  }
}

void Worker::ReleaseAll(bool count_attempt) {
  client_.CancelAll();
  finished_.clear();
  deferred_completions_.clear();
  deferred_failures_.clear();
  if (tasks_.empty()) return;
  std::vector<int64_t> ids, jobs;
  std::vector<spi::Uuid> tokens;
  HeldClaims(ids, tokens);
  for (const auto& entry : tasks_) jobs.push_back(entry.second.job_id);
  tasks_.clear();
  spi::InExtensionTransaction([&] {
    static spi::Statement release("SELECT llmeval._release_tasks($1, $2, 0, $3)",
                                  {INT8ARRAYOID, UUIDARRAYOID, BOOLOID});
    release.Execute({spi::Int64ArrayDatum(ids), spi::UuidArrayDatum(tokens),
                     BoolGetDatum(count_attempt)});
    FoldJobCounters(jobs);
  });
}

void Worker::ResetAfterError(bool extension_gone) {
  try {
    // The attempt counts: an error that comes back with the same tasks
    // (tenant code, a bad row) must end in their failure, not loop.
    // (Without the extension there is nothing to give them back to.)
    if (!extension_gone) ReleaseAll(true);
  } catch (const std::exception& e) {
    spi::AbortQuietly();
    Log(LOG, std::string("pg_llmeval worker: could not release its tasks: ") + e.what());
  }
  client_.CancelAll();
  finished_.clear();
  deferred_completions_.clear();
  deferred_failures_.clear();
  tasks_.clear();
  if (extension_gone) {
    batch_steps_.clear();
    batch_waiting_.clear();
  } else {
    ForgetBatchSteps();
  }
  extension_ready_ = false;
  next_extension_check_ms_ = NowMs() + 1000;
}

void Worker::CheckExtension() {
  spi::InTransaction([&] { extension_ready_ = spi::LockExtension(); });
}

void Worker::ReclaimExpiredLeases() {
  int64_t n = 0;
  spi::InExtensionTransaction([&] {
    static spi::Statement reclaim("SELECT llmeval._reclaim_expired_leases()", {});
    reclaim.Execute({});
    n = spi::Int64(0, 1);
  });
  // Jobs of tenants at their daily budget paused, and resumed when the day
  // turns or the budget is raised.
  spi::InExtensionTransaction([&] {
    static spi::Statement budgets("SELECT llmeval._apply_tenant_budgets()", {});
    budgets.Execute({});
  });
  if (n > 0) Log(LOG, "pg_llmeval: reclaimed " + std::to_string(n) + " tasks whose lease expired");
  // Every job's counter changes too: a worker that died may have left some.
  FoldPendingJobCounters(true);
}

int Worker::Claim(int max_tasks) {
  // The claim itself: ids and tokens.
  std::vector<int64_t> ids, jobs;
  std::vector<spi::Uuid> tokens;
  spi::InExtensionTransaction([&] {
    static spi::Statement claim("SELECT task_id, claim_token, job_id FROM llmeval._claim_tasks($1, $2)",
                                {INT4OID, INT4OID});
    const uint64_t n = claim.Execute(
        {Int32GetDatum(max_tasks), Int32GetDatum(llmeval::pg::setting_lease_seconds)});
    for (uint64_t r = 0; r < n; ++r) {
      ids.push_back(spi::Int64(r, 1));
      tokens.push_back(spi::UuidValue(r, 2));
      jobs.push_back(spi::Int64(r, 3));
    }
    FoldJobCounters(std::move(jobs));
  });
  if (ids.empty()) return 0;
  std::vector<Task> claimed;
  std::vector<std::optional<CachedReply>> cached;
  BuildClaimed(ids, tokens, claimed, cached, true);
  if (claimed.empty()) return 0;
  return Answer(claimed, cached);
}

void Worker::BuildClaimed(const std::vector<int64_t>& ids, const std::vector<spi::Uuid>& tokens,
                          std::vector<Task>& claimed, std::vector<std::optional<CachedReply>>& cached,
                          bool look_up_cache) {
  // (in a transaction of their own)
  try {
    BuildRequests(ids, claimed, cached, look_up_cache);
  } catch (const llmeval::pg::PgError& e) {
    if (!IsPerTaskError(e.sqlerrcode())) throw;
    Log(LOG, std::string("pg_llmeval worker: building requests failed (") + e.what() +
                 "); building them one by one");
    claimed.clear();
    cached.clear();
    for (std::size_t i = 0; i < ids.size(); ++i) {
      std::vector<Task> one;
      std::vector<std::optional<CachedReply>> one_cached;
      try {
        BuildRequests({ids[i]}, one, one_cached, look_up_cache);
      } catch (const llmeval::pg::PgError& single) {
        if (!IsPerTaskError(single.sqlerrcode())) throw;
        Task bad;
        bad.id = ids[i];
        bad.token = tokens[i];
        bad.problem = std::string("cannot build the request: ") + single.what();
        one.assign(1, std::move(bad));
        one_cached.assign(1, std::nullopt);
      }
      for (Task& t : one) claimed.push_back(std::move(t));
      for (auto& c : one_cached) cached.push_back(std::move(c));
    }
  }
}

void Worker::BuildRequests(const std::vector<int64_t>& ids, std::vector<Task>& claimed,
                           std::vector<std::optional<CachedReply>>& cached, bool look_up_cache) {
  spi::InExtensionTransaction([&] {
    static spi::Statement requests(
        "SELECT task_id, claim_token, attempt, job_id, correlation_id::text, model_id, model,"
        " provider_kind, base_url, api_key, api_key_env, api_model, params, template, system,"
        " input, expected, metrics, use_cache, requests_per_minute, tokens_per_minute,"
        " task_kind, metric, scale_min, scale_max, pairwise, api_options, max_attempts,"
        " expected_tool_calls, messages, verdicts, verdict_count"
        " FROM llmeval._task_requests($1)",
        {INT8ARRAYOID});
    const uint64_t n = requests.Execute({spi::Int64ArrayDatum(ids)});
    for (uint64_t r = 0; r < n; ++r) claimed.push_back(ReadClaim(r));
    cached.assign(claimed.size(), std::nullopt);
    if (!claimed.empty() && look_up_cache) LookUpCache(claimed, cached);
  });
}

int Worker::Answer(std::vector<Task>& claimed, std::vector<std::optional<CachedReply>>& cached) {

  std::vector<Completion> completions;
  std::vector<Failure> failures;
  std::vector<int64_t> answered;
  for (std::size_t i = 0; i < claimed.size(); ++i) {
    const int64_t id = claimed[i].id;
    Task& task = tasks_.insert_or_assign(id, std::move(claimed[i])).first->second;
    if (!task.problem.empty()) {
      failures.push_back({&task, task.problem, 0, true, 0});
    } else if (task.attempt > task.max_attempts) {
      failures.push_back({&task, "gave up after " + std::to_string(task.attempt - 1) +
                                     " attempts; the last did not finish",
                          0, true, 0});
    } else if (task.task_kind == TaskKind::kEmbed && task.missing.empty()) {
      // every vector cached: no call at all
      completions.push_back({&task, "", 0, std::nullopt, std::nullopt, true, CompareEmbeddings(task), {}});
    } else if (cached[i]) {
      CachedReply& hit = *cached[i];
      if (task.task_kind == TaskKind::kJudge) {
        // read like a fresh reply, with the weighted score the original had
        std::optional<Completion> done = JudgeReply(task, std::move(hit.output), "", 0,
                                                    hit.input_tokens, hit.output_tokens, {}, true);
        if (!done) continue;
        if (done->verdict && done->verdict->judgement.score)
          done->verdict->judgement.weighted_score = hit.weighted_score;
        completions.push_back(std::move(*done));
      } else {
        completions.push_back({&task, std::move(hit.output), 0, hit.input_tokens,
                               hit.output_tokens, true, std::nullopt, {}});
      }
    } else {
      continue;
    }
    task.answered = true;
    answered.push_back(id);
  }
  if (!answered.empty()) Settle(Store(completions, failures));
  return static_cast<int>(claimed.size());
}

namespace {

// A conversation's messages to send (llmeval._task_requests): a last user
// message of text alone goes as the prompt, the others as the history; a
// conversation ending with tool results is all history, answered as it is.
void SetConversation(provider::ChatRequest& chat, nlohmann::json messages) {
  if (!messages.is_array()) throw std::invalid_argument("a conversation's messages are not a list");
  if (!messages.empty()) {
    const nlohmann::json& last = messages.back();
    if (last.is_object() && last.value("role", "") == "user" && last.size() == 2 &&
        last.contains("content") && last.at("content").is_string() &&
        !last.at("content").get_ref<const std::string&>().empty()) {
      chat.prompt = last.at("content").get<std::string>();
      messages.erase(messages.size() - 1);
    }
  }
  chat.history = std::move(messages);
}

}  // namespace

Task Worker::ReadClaim(uint64_t r) {
  Task t;
  // columns of llmeval._task_requests
  t.id = spi::Int64(r, 1);
  t.token = spi::UuidValue(r, 2);
  t.attempt = static_cast<int>(spi::Int64(r, 3));
  t.job_id = spi::Int64(r, 4);
  t.correlation_id = spi::Text(r, 5);
  t.model_id = static_cast<int32_t>(spi::Int64(r, 6));
  t.model = spi::Text(r, 7);
  const std::string kind = spi::Text(r, 8);
  const std::string base_url = spi::Text(r, 9);
  const bool has_secret = !spi::IsNull(r, 10);
  const std::string key_env = spi::Text(r, 11);
  const std::string api_model = spi::Text(r, 12);
  const std::string params = spi::JsonText(r, 13);
  const std::string tmpl = spi::Text(r, 14);
  const std::string system = spi::Text(r, 15);
  const std::string input = spi::JsonText(r, 16);
  t.has_expected = !spi::IsNull(r, 17);
  t.expected = spi::Text(r, 17);
  t.metrics = spi::TextArray(r, 18);
  t.use_cache = spi::Bool(r, 19);
  t.requests_per_minute = static_cast<int>(spi::Int64(r, 20));
  t.tokens_per_minute = static_cast<int>(spi::Int64(r, 21));
  const std::string task_kind = spi::Text(r, 22);
  t.task_kind = task_kind == "judge"   ? TaskKind::kJudge
                : task_kind == "embed" ? TaskKind::kEmbed
                                       : TaskKind::kGenerate;
  t.metric = spi::Text(r, 23);
  if (!spi::IsNull(r, 24)) t.scale.min = spi::Float8(r, 24);
  if (!spi::IsNull(r, 25)) t.scale.max = spi::Float8(r, 25);
  t.pairwise = spi::Bool(r, 26);
  const std::string api_options = spi::JsonText(r, 27);
  // (a job may ask for fewer calls than the operator allows, never more)
  t.max_attempts = spi::IsNull(r, 28) ? llmeval::pg::setting_max_attempts
                                      : std::min(static_cast<int>(spi::Int64(r, 28)),
                                                 llmeval::pg::setting_max_attempts);
  if (!spi::IsNull(r, 29)) t.expected_tool_calls = spi::JsonText(r, 29);
  const std::string messages = spi::IsNull(r, 30) ? std::string() : spi::JsonText(r, 30);
  if (!spi::IsNull(r, 31)) {
    t.verdict_rule = spi::Text(r, 31) == "ranked" ? judge::VerdictRule::kRanked : judge::VerdictRule::kShare;
    if (!spi::IsNull(r, 32)) t.verdict_count = static_cast<int>(spi::Int64(r, 32));
  }
  // Checked again here (not only at create_provider): the settings may have
  // narrowed since, and a row may have been written before they existed.
  t.problem = llmeval::pg::ResolveApiKey(has_secret, spi::Text(r, 10), key_env, base_url, t.api_key);
  if (!t.problem.empty()) return t;
  t.base_url = base_url;
  try {
    t.kind = provider::ParseKind(kind);
    const nlohmann::json input_json = nlohmann::json::parse(input);
    if (t.task_kind == TaskKind::kEmbed) {
      PrepareEmbedding(t, base_url, api_model, input_json);
      return t;
    }
    provider::ChatRequest chat;
    chat.model = api_model;
    if (messages.empty()) {
      chat.prompt = core::prompt::RenderTemplate(tmpl, input_json);
    } else {
      SetConversation(chat, nlohmann::json::parse(messages));
    }
    if (!system.empty()) chat.system = core::prompt::RenderTemplate(system, input_json);
    chat.params = nlohmann::json::parse(params);
    provider::ApplyApiOptions(chat, nlohmann::json::parse(api_options));
    if (t.task_kind == TaskKind::kJudge) chat.cacheable_prompt_bytes = judge::ConstantPrefixBytes(chat.prompt);
    t.request = provider::BuildChatRequest(t.kind, base_url, t.api_key, chat);
    // About four bytes a token, for the token rate limit until usage is known.
    const auto max_tokens = chat.params.find("max_tokens");
    // (a conversation's messages hold its prompt: counted once)
    t.estimated_tokens = static_cast<int64_t>(((messages.empty() ? chat.prompt.size() : messages.size()) +
                                               chat.system.size()) / 4) +
                         (max_tokens != chat.params.end() && max_tokens->is_number_integer()
                              ? max_tokens->get<int64_t>()
                              : 256);
    // kept for a judge's repair call and for tracing
    t.chat = std::move(chat);
  } catch (const std::exception& e) {
    t.problem = std::string("cannot build the request: ") + e.what();
  }
  return t;
}

void Worker::PrepareEmbedding(Task& t, const std::string& base_url, const std::string& api_model,
                             const nlohmann::json& input) {
  const nlohmann::json& texts = input.at("texts");
  const nlohmann::json& vectors = input.at("vectors");
  std::vector<std::string> to_embed;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    t.texts.push_back(texts[i].is_string() ? texts[i].get<std::string>() : std::string());
    if (i < vectors.size() && vectors[i].is_array()) {
      t.vectors.emplace_back(vectors[i].get<std::vector<double>>());
    } else {
      t.vectors.emplace_back(std::nullopt);
      t.missing.push_back(i);
      to_embed.push_back(t.texts.back());
    }
  }
  t.use_cache = false;  // the embedding cache is by text, not by request
  if (!to_embed.empty())
    t.request = provider::BuildEmbeddingRequest(t.kind, base_url, t.api_key, api_model, to_embed);
  int64_t bytes = 0;
  for (const std::string& text : to_embed) bytes += static_cast<int64_t>(text.size());
  t.estimated_tokens = bytes / 4 + 1;
}

void Worker::LookUpCache(std::vector<Task>& claimed, std::vector<std::optional<CachedReply>>& cached) {
  std::vector<int64_t> ids;
  std::vector<int32_t> models;
  std::vector<std::string> bodies;
  for (const Task& t : claimed) {
    ids.push_back(t.id);
    models.push_back(t.model_id);
    bodies.push_back(t.request.body);
  }
  static spi::Statement lookup("SELECT * FROM llmeval._cached_responses($1, $2, $3)",
                               {INT8ARRAYOID, INT4ARRAYOID, TEXTARRAYOID});
  const uint64_t n = lookup.Execute({spi::Int64ArrayDatum(ids), spi::Int32ArrayDatum(models),
                                     spi::TextArrayDatum(bodies)});
  for (uint64_t r = 0; r < n && r < claimed.size(); ++r) {
    const std::size_t i = static_cast<std::size_t>(spi::Int64(r, 1) - 1);
    Task& t = claimed[i];
    if (!t.use_cache || !t.problem.empty()) continue;
    t.cache_key = spi::Text(r, 2);
    if (spi::IsNull(r, 3)) continue;
    CachedReply hit;
    hit.output = spi::Text(r, 3);
    if (!spi::IsNull(r, 4)) hit.input_tokens = spi::Int64(r, 4);
    if (!spi::IsNull(r, 5)) hit.output_tokens = spi::Int64(r, 5);
    if (!spi::IsNull(r, 6)) hit.weighted_score = spi::Float8(r, 6);
    cached[i] = std::move(hit);
  }
}

void Worker::DropLostClaims() {
  std::vector<int64_t> ids;
  std::vector<spi::Uuid> tokens;
  HeldClaims(ids, tokens);
  std::vector<int64_t> lost;
  spi::InExtensionTransaction([&] {
    static spi::Statement check("SELECT llmeval._lost_claims($1, $2)", {INT8ARRAYOID, UUIDARRAYOID});
    check.Execute({spi::Int64ArrayDatum(ids), spi::UuidArrayDatum(tokens)});
    lost = spi::Int64Array(0, 1);
  });
  if (lost.empty()) return;
  const std::unordered_set<int64_t> gone(lost.begin(), lost.end());
  auto lost_task = [&](const auto& item) { return gone.count(item.task->id) > 0; };
  deferred_completions_.erase(std::remove_if(deferred_completions_.begin(), deferred_completions_.end(), lost_task),
                              deferred_completions_.end());
  deferred_failures_.erase(std::remove_if(deferred_failures_.begin(), deferred_failures_.end(), lost_task),
                           deferred_failures_.end());
  for (int64_t id : lost) {
    client_.Cancel(static_cast<uint64_t>(id));
    tasks_.erase(id);
  }
}

void Worker::RenewLeases() {
  std::vector<int64_t> ids;
  std::vector<spi::Uuid> tokens;
  HeldClaims(ids, tokens);
  spi::InExtensionTransaction([&] {
    static spi::Statement renew("SELECT llmeval._renew_leases($1, $2, $3)",
                                {INT8ARRAYOID, UUIDARRAYOID, INT4OID});
    renew.Execute({spi::Int64ArrayDatum(ids), spi::UuidArrayDatum(tokens),
                   Int32GetDatum(llmeval::pg::setting_lease_seconds)});
  });
}

}  // namespace llmeval::pg::worker
