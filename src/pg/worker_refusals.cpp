// Requests sent again without a parameter the model refused (see
// core/provider/refusal.hpp). OpenAI's reasoning models answer temperature,
// top_p, logprobs or max_tokens with a 400 that names the parameter; the
// request is sent once more without it, no attempt counted, and the model
// remembers the refusal (llmeval.models.refused_params), so that the tasks
// claimed next are built without it and do not pay for the failed call.
#include "core/provider/refusal.hpp"
#include "pg/worker.hpp"

namespace llmeval::pg::worker {

bool Worker::ResendWithout(Task& task, long http_status, std::string_view body) {
  if (task.task_kind == TaskKind::kEmbed || task.kind != provider::Kind::kOpenAI) return false;
  const std::string param = provider::RefusedParameter(http_status, body);
  if (param.empty() || provider::Refused(task.chat, param)) return false;
  provider::ChatRequest chat = task.chat;
  chat.refused_params.push_back(param);
  provider::HttpRequest request;
  try {
    request = provider::BuildChatRequest(task.kind, task.base_url, task.api_key, chat);
  } catch (const std::exception&) {
    return false;  // (built once already with the same key: cannot happen)
  }
  // The request did not send it (a server naming another): nothing to drop.
  if (request.body == task.request.body) return false;
  task.chat = std::move(chat);
  task.request = std::move(request);
  task.cache_key.clear();  // the reply cached would not be the one to this request
  task.in_flight = false;
  task.not_before_ms = 0;
  refusals_.emplace_back(task.model_id, param);
  Log(LOG, "pg_llmeval worker: model " + task.model + " refused parameter \"" + param +
               "\"; the request is sent again without it, and the model will not be sent it again");
  return true;
}

void Worker::RememberRefusals() {
  if (refusals_.empty()) return;
  std::vector<int32_t> models;
  std::vector<std::string> params;
  for (const auto& [model, param] : refusals_) {
    models.push_back(model);
    params.push_back(param);
  }
  refusals_.clear();
  try {
    spi::InExtensionTransaction([&] {
      static spi::Statement remember("SELECT llmeval._remember_refused_params($1, $2)",
                                     {INT4ARRAYOID, TEXTARRAYOID});
      remember.Execute({spi::Int32ArrayDatum(models), spi::TextArrayDatum(params)});
    });
  } catch (const llmeval::pg::PgError& e) {
    // Not remembered: the next task meets the refusal and resends in turn.
    if (!IsPerTaskError(e.sqlerrcode())) throw;
    Log(LOG, std::string("pg_llmeval worker: could not remember refused parameters: ") + e.what());
  }
}

}  // namespace llmeval::pg::worker
