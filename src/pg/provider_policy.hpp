// The provider policy of this server (llmeval.api_key_env_names,
// llmeval.provider_hosts): the settings read into core::provider::
// CheckProviderPolicy. See src/core/provider/policy.hpp.
#pragma once

#include <string>

namespace llmeval::pg {

// Empty when a provider may read its key from the server environment
// variable api_key_env and be sent to base_url, else why not (an errmsg-style
// sentence, naming the variable or host, never a key). Pass an empty
// api_key_env when the key does not come from the environment (a stored
// secret, or none). base_url may be the final request URL as well. Reads
// this process's current settings; calls no Postgres function, so it is
// safe anywhere, in the worker's HTTP loop included (it throws only
// std::bad_alloc).
std::string ProviderPolicyProblem(const std::string& api_key_env, const std::string& base_url);

// The key a provider's requests carry: its stored secret (has_secret), else
// the server environment variable api_key_env (none when empty), checked
// against the policy first: the settings may have narrowed since the
// provider was created. Returns why the provider cannot be called ("" when
// it can, with api_key set). Safe anywhere, as ProviderPolicyProblem.
std::string ResolveApiKey(bool has_secret, const std::string& secret, const std::string& api_key_env,
                          const std::string& base_url, std::string& api_key);

// Raises ERROR when ProviderPolicyProblem is not empty: SQLSTATE 42501, or
// 22023 for a URL that is not http(s), with a hint naming the setting.
void CheckProviderPolicyOrRaise(const std::string& api_key_env, const std::string& base_url);

}  // namespace llmeval::pg
