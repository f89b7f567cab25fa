// Which server environment variables may hold provider keys, and which hosts
// providers may be sent to.
//
// Providers are written by llmeval_admin, which need not be a superuser. The
// workers read a provider's key from the server environment variable it
// names and send it to its base URL, so without a policy an administrator
// could name any variable (a cloud credential) and point the URL at a host of
// their own, or at a cloud metadata endpoint. Two superuser settings bound
// that: llmeval.api_key_env_names and llmeval.provider_hosts, lists of glob
// patterns. Cloud metadata endpoints and well-known cloud credentials (such
// as AWS_SECRET_ACCESS_KEY, which *_KEY matches) are refused whatever the
// settings say: no LLM provider needs them. With provider_hosts empty (any
// host), an administrator can still send any allowed key to a host of their
// own: list the hosts where administrators are not trusted with the keys.
//
// Hosts are read with libcurl's own URL parser, the one the request is made
// with, so a URL cannot show one host here and reach another (user info,
// backslashes, percent-encoding, IPv4 written as one number or in octal).
// A name that resolves to a metadata address is not caught: set
// llmeval.provider_hosts to an allow list where that matters.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace llmeval::core::provider {

inline constexpr std::string_view kDefaultApiKeyEnvNames = "*_API_KEY,*_KEY";
inline constexpr std::string_view kDefaultProviderHosts = "";

struct ProviderPolicy {
  // Comma-separated glob patterns ('*' any run, '?' one character) of the
  // variable names that may hold keys; case-sensitive, as the environment.
  std::string api_key_env_names{kDefaultApiKeyEnvNames};
  // Comma-separated glob patterns of host names or addresses (no port),
  // case-insensitive; empty allows any host but the metadata endpoints.
  std::string provider_hosts{kDefaultProviderHosts};
};

enum class PolicyProblemKind {
  kNone,
  kKeyEnvNotAllowed,  // not in api_key_env_names, or a cloud credential
  kHostNotAllowed,    // the host is not in provider_hosts
  kMetadataHost,      // a cloud metadata endpoint (always refused)
  kInvalidUrl,        // not an http(s) URL libcurl can read
};

struct PolicyProblem {
  PolicyProblemKind kind = PolicyProblemKind::kNone;
  std::string message;  // errmsg style: lower case, no final period
  std::string hint;     // a full sentence naming the setting, if any

  explicit operator bool() const noexcept { return kind != PolicyProblemKind::kNone; }
};

// Whether a provider may read its key from api_key_env (empty: it reads
// none) and be sent to base_url (or any request URL made from it).
PolicyProblem CheckProviderPolicy(const ProviderPolicy& policy, std::string_view api_key_env,
                                  std::string_view base_url);

// Glob match of the whole text: '*' any run (empty included), '?' one byte.
bool GlobMatch(std::string_view pattern, std::string_view text, bool fold_case);

// Whether any pattern of a comma-separated list (blanks around patterns
// ignored, empty patterns skipped) matches text.
bool GlobListMatches(std::string_view patterns, std::string_view text, bool fold_case);

// The host libcurl would connect to for an http or https URL: lower case,
// without IPv6 brackets, zone or trailing dot, IPv4 in dotted decimal;
// nullopt for anything else.
std::optional<std::string> RequestHost(std::string_view url);

// Whether a host (as RequestHost gives it) is a cloud metadata endpoint:
// IPv4 link-local 169.254.0.0/16 (AWS, GCP, Azure, Oracle, ECS task
// metadata...), 100.100.100.200 (Alibaba), IPv6 link-local fe80::/10 and
// fd00:ec2::254 (AWS), those IPv4 addresses inside IPv6 (mapped,
// compatible, NAT64), and the metadata host names.
bool IsMetadataHost(std::string_view host);

}  // namespace llmeval::core::provider

#include "core/cpp_only.hpp"
