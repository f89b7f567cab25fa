// SQL entry points for the tool-call metrics: tool_call_f1, tool_call_scores,
// tool_call_accuracy, tool_args_match, tool_call_valid and tool_call_errors.
//
// They are CALLED ON NULL INPUT so that a NULL option means its default; a
// NULL call list, call or tool list gives NULL. jsonb reaches the core as
// JSON text (nlohmann::json).
//
// tool_call_valid and tool_call_errors compile the tools' parameter schemas
// once per query, not per row, as json_schema_valid does: the ToolSet is
// kept in fn_extra with the jsonb bytes it came from, and a reset callback on
// fn_mcxt deletes it (the memory context cannot run its destructor).
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/metrics/tool_calls.hpp"
// Postgres headers after core headers (see core/cpp_only.hpp).
#include "pg/aggregate.hpp"
#include "pg/args.hpp"
#include "pg/options_cache.hpp"

namespace metrics = llmeval::core::metrics;

namespace {

nlohmann::json JsonArg(FunctionCallInfo fcinfo, int n, const std::string& what) {
  return metrics::ParseJsonArgument(llmeval::pg::JsonbArgAsText(fcinfo, n), what);
}

std::vector<metrics::ToolCall> CallsArg(FunctionCallInfo fcinfo, int n, const std::string& what) {
  return metrics::ParseToolCalls(JsonArg(fcinfo, n, what), what);
}

metrics::ToolCall CallArg(FunctionCallInfo fcinfo, int n, const std::string& what) {
  return metrics::ParseToolCall(JsonArg(fcinfo, n, what), what);
}

metrics::ToolCallMatch MatchArg(FunctionCallInfo fcinfo, int n, metrics::ToolCallMatch fallback) {
  const auto text = llmeval::pg::OptionalTextArg(fcinfo, n);
  return text ? metrics::ParseToolCallMatch(*text) : fallback;
}

metrics::ToolCallScores Scores(FunctionCallInfo fcinfo) {
  const metrics::ToolCallMatch match = MatchArg(fcinfo, 2, metrics::ToolCallMatch::kName);
  const auto actual = CallsArg(fcinfo, 0, "actual");
  const auto expected = CallsArg(fcinfo, 1, "expected");
  return metrics::ToolCallF1(actual, expected, match);
}

struct ToolSetCache {
  llmeval::pg::CompiledCache<metrics::ToolSet> tools;
  TupleDesc result_type;  // tool_call_scores' blessed result descriptor
};

const metrics::ToolSet& CachedToolSet(FunctionCallInfo fcinfo, int n) {
  auto* cache = llmeval::pg::FnCache<ToolSetCache>(fcinfo);
  return llmeval::pg::CachedCompiled(fcinfo, n, &cache->tools, [&] {
    return std::make_unique<metrics::ToolSet>(JsonArg(fcinfo, n, "tools"));
  });
}

}  // namespace

// tool_call_f1(actual jsonb, expected jsonb, match text DEFAULT 'name') -> float8
LLMEVAL_PG_FUNCTION(llmeval_tool_call_f1) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) PG_RETURN_NULL();
  PG_RETURN_FLOAT8(Scores(fcinfo).f1);
}

// tool_call_scores(actual, expected, match, OUT precision, OUT recall, OUT f1)
LLMEVAL_PG_FUNCTION(llmeval_tool_call_scores) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) PG_RETURN_NULL();
  const metrics::ToolCallScores scores = Scores(fcinfo);
  auto* cache = llmeval::pg::FnCache<ToolSetCache>(fcinfo);
  if (cache->result_type == nullptr) {
    cache->result_type = llmeval::pg::PgCall([&]() noexcept -> TupleDesc {
      TupleDesc desc;
      if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("llmeval.tool_call_scores must return a composite type")));
      MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
      TupleDesc blessed = BlessTupleDesc(CreateTupleDescCopy(desc));
      MemoryContextSwitchTo(old);
      return blessed;
    });
  }
  TupleDesc desc = cache->result_type;
  return llmeval::pg::PgCall([&]() noexcept {
    Datum values[3] = {Float8GetDatum(scores.precision), Float8GetDatum(scores.recall),
                       Float8GetDatum(scores.f1)};
    bool nulls[3] = {false, false, false};
    return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
  });
}

// tool_call_accuracy(actual, expected, ordered DEFAULT true, match DEFAULT 'name_args')
LLMEVAL_PG_FUNCTION(llmeval_tool_call_accuracy) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) PG_RETURN_NULL();
  const bool ordered = llmeval::pg::BoolArgOr(fcinfo, 2, true);
  const metrics::ToolCallMatch match = MatchArg(fcinfo, 3, metrics::ToolCallMatch::kNameArgs);
  const auto actual = CallsArg(fcinfo, 0, "actual");
  const auto expected = CallsArg(fcinfo, 1, "expected");
  PG_RETURN_FLOAT8(metrics::ToolCallsMatch(actual, expected, ordered, match) ? 1.0 : 0.0);
}

// tool_args_match(call, expected, mode DEFAULT 'exact', ignore DEFAULT '{}')
LLMEVAL_PG_FUNCTION(llmeval_tool_args_match) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) PG_RETURN_NULL();
  const auto mode_text = llmeval::pg::OptionalTextArg(fcinfo, 2);
  const metrics::ArgsMatchMode mode =
      mode_text ? metrics::ParseArgsMatchMode(*mode_text) : metrics::ArgsMatchMode::kExact;
  std::vector<std::string_view> ignore;
  if (!PG_ARGISNULL(3)) llmeval::pg::TextArrayArg(fcinfo, 3, "ignore", ignore);
  const metrics::ToolCall call = CallArg(fcinfo, 0, "call");
  const metrics::ToolCall expected = CallArg(fcinfo, 1, "expected");
  PG_RETURN_BOOL(metrics::ToolArgsMatch(call, expected, mode, ignore));
}

// The tools are read before the call, so bad definitions are an error
// whatever the call.
LLMEVAL_PG_FUNCTION(llmeval_tool_call_errors) {
  const metrics::ToolSet& tools = CachedToolSet(fcinfo, 1);
  return llmeval::pg::TextArrayResult(tools.Errors(CallArg(fcinfo, 0, "call")));
}

LLMEVAL_PG_FUNCTION(llmeval_tool_call_valid) {
  const metrics::ToolSet& tools = CachedToolSet(fcinfo, 1);
  PG_RETURN_BOOL(tools.Errors(CallArg(fcinfo, 0, "call"), 1).empty());
}
