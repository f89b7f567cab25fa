// The provider policy: key variable names and hosts; see policy.hpp.
#include "core/provider/policy.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <memory>
#include <new>

namespace llmeval::core::provider {

namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string LowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls fn on each non-empty, trimmed pattern of a comma-separated list
// until it returns true.
template <typename Fn>
bool AnyPattern(std::string_view list, Fn&& fn) {
  while (true) {
    const std::size_t comma = list.find(',');
    const std::string_view pattern = Trim(list.substr(0, comma));
    if (!pattern.empty() && fn(pattern)) return true;
    if (comma == std::string_view::npos) return false;
    list.remove_prefix(comma + 1);
  }
}

// A host or host pattern as RequestHost gives hosts: lower case, without
// IPv6 brackets or a trailing dot.
std::string NormalizeHost(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.size() > 1 && host.back() == '.') host.remove_suffix(1);
  return LowerCopy(host);
}

// Credentials of the clouds a server runs in. *_KEY matches some of them,
// and none is ever an LLM provider's key, so no setting lets them through.
constexpr std::array<std::string_view, 12> kCloudCredentials = {
    "AWS_SECRET_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AZURE_CLIENT_SECRET",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "ARM_CLIENT_SECRET",
    "ARM_ACCESS_KEY",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "ALICLOUD_SECRET_KEY",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
};

// Host names of metadata services (on their clouds they resolve to the
// link-local addresses refused below, but a name is refused before any
// lookup).
constexpr std::array<std::string_view, 6> kMetadataNames = {
    "metadata.google.internal", "metadata.goog", "metadata",
    "metadata.azure.com",       "instance-data", "instance-data.ec2.internal",
};

// IPv4 link-local (every major cloud's metadata service) and Alibaba's.
bool IsMetadataV4(const unsigned char* a) {
  if (a[0] == 169 && a[1] == 254) return true;
  return a[0] == 100 && a[1] == 100 && a[2] == 100 && a[3] == 200;
}

bool IsMetadataV6(const unsigned char* a) {
  // fe80::/10, link-local
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return true;
  // fd00:ec2::254, the AWS instance metadata service over IPv6
  static constexpr unsigned char kAwsV6[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0,    0,
                                               0,    0,    0,    0,    0, 0, 0x02, 0x54};
  if (std::equal(a, a + 16, kAwsV6)) return true;
  // An IPv4 address inside IPv6: mapped ::ffff:0:0/96, compatible ::/96,
  // NAT64 64:ff9b::/96.
  static constexpr unsigned char kZero[12] = {};
  static constexpr unsigned char kNat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  const bool mapped = std::equal(a, a + 10, kZero) && a[10] == 0xff && a[11] == 0xff;
  const bool compatible = std::equal(a, a + 12, kZero);
  const bool nat64 = std::equal(a, a + 12, kNat64);
  return (mapped || compatible || nat64) && IsMetadataV4(a + 12);
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

struct CurlUrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

// A part of a parsed URL, or "" if absent.
std::string UrlPart(CURLU* u, CURLUPart part) {
  char* value = nullptr;
  if (curl_url_get(u, part, &value, 0) != CURLUE_OK || value == nullptr) return {};
  std::string out(value);
  curl_free(value);
  return out;
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view text, bool fold_case) {
  // The classic backtracking matcher: on a mismatch, retry from the last
  // '*' with it taking one more byte. O(pattern x text) at worst.
  std::size_t p = 0, t = 0;
  std::size_t star = std::string_view::npos, star_text = 0;
  auto same = [fold_case](char a, char b) { return fold_case ? Lower(a) == Lower(b) : a == b; };
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (p < pattern.size() && (pattern[p] == '?' || same(pattern[p], text[t]))) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool GlobListMatches(std::string_view patterns, std::string_view text, bool fold_case) {
  return AnyPattern(patterns,
                    [&](std::string_view pattern) { return GlobMatch(pattern, text, fold_case); });
}

std::optional<std::string> RequestHost(std::string_view url) {
  // libcurl takes a C string: an embedded NUL would cut the URL short.
  if (url.empty() || url.find('\0') != std::string_view::npos) return std::nullopt;
  const std::unique_ptr<CURLU, CurlUrlDeleter> u(curl_url());
  if (!u) throw std::bad_alloc();
  const std::string text(url);
  if (curl_url_set(u.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) return std::nullopt;
  const std::string scheme = LowerCopy(UrlPart(u.get(), CURLUPART_SCHEME));
  if (scheme != "http" && scheme != "https") return std::nullopt;
  std::string host = UrlPart(u.get(), CURLUPART_HOST);
  // An IPv6 zone ("%25eth0"), should this libcurl leave it in the host.
  const std::size_t zone = host.find('%');
  if (zone != std::string::npos && !host.empty() && host.front() == '[') {
    host = host.substr(0, zone) + "]";
  }
  host = NormalizeHost(host);
  if (host.empty()) return std::nullopt;
  // IPv4 as the resolver reads it (one number, octal, hex, short forms), in
  // case this libcurl does not normalise it as 7.88 does.
  in_addr v4{};
  if (host.find_first_not_of("0123456789abcdefx.") == std::string::npos &&
      inet_aton(host.c_str(), &v4) != 0) {
    char buffer[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, &v4, buffer, sizeof buffer) != nullptr) host = buffer;
  }
  return host;
}

bool IsMetadataHost(std::string_view host_text) {
  const std::string host = NormalizeHost(host_text);
  unsigned char address[16];
  if (inet_pton(AF_INET, host.c_str(), address) == 1) return IsMetadataV4(address);
  if (inet_pton(AF_INET6, host.c_str(), address) == 1) return IsMetadataV6(address);
  for (const std::string_view name : kMetadataNames) {
    if (host == name) return true;
  }
  return false;
}

PolicyProblem CheckProviderPolicy(const ProviderPolicy& policy, std::string_view api_key_env,
                                  std::string_view base_url) {
  PolicyProblem problem;
  if (!api_key_env.empty()) {
    const std::string variable = "environment variable " + Quoted(api_key_env);
    for (const std::string_view credential : kCloudCredentials) {
      if (api_key_env == credential) {
        problem.kind = PolicyProblemKind::kKeyEnvNotAllowed;
        problem.message = variable + " holds a cloud credential, not a provider API key";
        problem.hint =
            "Cloud credentials are never sent to providers, whatever "
            "llmeval.api_key_env_names allows.";
        return problem;
      }
    }
    if (!GlobListMatches(policy.api_key_env_names, api_key_env, false)) {
      problem.kind = PolicyProblemKind::kKeyEnvNotAllowed;
      problem.message = variable + " may not hold provider API keys";
      problem.hint = "Only variables matching llmeval.api_key_env_names (" +
                     Quoted(policy.api_key_env_names) +
                     ") may; a superuser can change that setting, or store the key with "
                     "llmeval.set_provider_secret().";
      return problem;
    }
  }

  const std::optional<std::string> host = RequestHost(base_url);
  if (!host) {
    problem.kind = PolicyProblemKind::kInvalidUrl;
    problem.message = "invalid provider URL " + Quoted(base_url);
    problem.hint = "Give an http or https URL, such as https://api.openai.com/v1.";
    return problem;
  }
  if (IsMetadataHost(*host)) {
    problem.kind = PolicyProblemKind::kMetadataHost;
    problem.message = "provider host " + Quoted(*host) + " is a cloud metadata endpoint";
    problem.hint =
        "Cloud metadata endpoints are always refused, whatever llmeval.provider_hosts allows.";
    return problem;
  }
  const bool any_host = !AnyPattern(policy.provider_hosts, [](std::string_view) { return true; });
  const bool listed = AnyPattern(policy.provider_hosts, [&](std::string_view pattern) {
    return GlobMatch(NormalizeHost(pattern), *host, true);
  });
  if (!any_host && !listed) {
    problem.kind = PolicyProblemKind::kHostNotAllowed;
    problem.message = "provider host " + Quoted(*host) + " is not allowed";
    problem.hint = "Only hosts matching llmeval.provider_hosts (" + Quoted(policy.provider_hosts) +
                   ") may be used; a superuser can change that setting.";
  }
  return problem;
}

}  // namespace llmeval::core::provider
