// The provider policy settings applied: ProviderPolicyProblem and
// ResolveApiKey for the workers, and llmeval._check_provider_policy(api_key_env, base_url), which
// the trigger on llmeval.providers and create_provider call, so that no
// administrator who is not a superuser can store a provider the workers
// would refuse.
#include "pg/provider_policy.hpp"

#include <cstdlib>

#include "core/provider/policy.hpp"
// Postgres headers after core headers (see core/cpp_only.hpp).
#include "pg/args.hpp"
#include "pg/settings.hpp"

namespace provider = llmeval::core::provider;

namespace llmeval::pg {

namespace {

provider::PolicyProblem Check(const std::string& api_key_env, const std::string& base_url) {
  provider::ProviderPolicy policy;
  // nullptr only before _PG_init defined the settings: the defaults.
  if (setting_api_key_env_names != nullptr) policy.api_key_env_names = setting_api_key_env_names;
  if (setting_provider_hosts != nullptr) policy.provider_hosts = setting_provider_hosts;
  return provider::CheckProviderPolicy(policy, api_key_env, base_url);
}

}  // namespace

std::string ProviderPolicyProblem(const std::string& api_key_env, const std::string& base_url) {
  return Check(api_key_env, base_url).message;
}

void CheckProviderPolicyOrRaise(const std::string& api_key_env, const std::string& base_url) {
  const provider::PolicyProblem problem = Check(api_key_env, base_url);
  if (!problem) return;
  const int sqlstate = problem.kind == provider::PolicyProblemKind::kInvalidUrl
                           ? ERRCODE_INVALID_PARAMETER_VALUE
                           : ERRCODE_INSUFFICIENT_PRIVILEGE;
  PgCall([&]() noexcept {
    ereport(ERROR, (errcode(sqlstate), errmsg("%s", problem.message.c_str()),
                    problem.hint.empty() ? 0 : errhint("%s", problem.hint.c_str())));
  });
}

std::string ResolveApiKey(bool has_secret, const std::string& secret, const std::string& api_key_env,
                          const std::string& base_url, std::string& api_key) {
  const std::string refused = ProviderPolicyProblem(has_secret ? "" : api_key_env, base_url);
  if (!refused.empty()) return refused;
  if (has_secret) {
    api_key = secret;
  } else if (!api_key_env.empty()) {
    const char* value = std::getenv(api_key_env.c_str());
    if (value == nullptr || *value == '\0')
      return "no API key: the server's environment variable " + api_key_env +
             " is not set (or use llmeval.set_provider_secret)";
    api_key = value;
  }
  return "";
}

}  // namespace llmeval::pg

// llmeval._check_provider_policy(api_key_env text, base_url text): nothing,
// or the policy's error. NULL api_key_env: the key is not read from the
// environment.
LLMEVAL_PG_FUNCTION(llmeval_check_provider_policy) {
  const std::string api_key_env =
      PG_ARGISNULL(0) ? std::string() : std::string(llmeval::pg::TextArg(fcinfo, 0));
  const std::string base_url =
      PG_ARGISNULL(1) ? std::string() : std::string(llmeval::pg::TextArg(fcinfo, 1));
  llmeval::pg::CheckProviderPolicyOrRaise(api_key_env, base_url);
  PG_RETURN_VOID();
}
