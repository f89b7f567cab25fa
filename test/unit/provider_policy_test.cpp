#include <gtest/gtest.h>

#include <string>

#include "core/provider/policy.hpp"

namespace llmeval::core::provider {
namespace {

PolicyProblemKind KindOf(const ProviderPolicy& policy, std::string_view env, std::string_view url) {
  return CheckProviderPolicy(policy, env, url).kind;
}

TEST(GlobTest, StarQuestionAndLiterals) {
  EXPECT_TRUE(GlobMatch("*_API_KEY", "OPENAI_API_KEY", false));
  EXPECT_TRUE(GlobMatch("*_API_KEY", "_API_KEY", false));
  EXPECT_FALSE(GlobMatch("*_API_KEY", "OPENAI_API_KEY_2", false));
  EXPECT_FALSE(GlobMatch("*_KEY", "LANG", false));
  EXPECT_TRUE(GlobMatch("?_KEY", "A_KEY", false));
  EXPECT_FALSE(GlobMatch("?_KEY", "AB_KEY", false));
  EXPECT_TRUE(GlobMatch("*", "", false));
  EXPECT_TRUE(GlobMatch("", "", false));
  EXPECT_FALSE(GlobMatch("", "x", false));
  EXPECT_TRUE(GlobMatch("a*b*c", "aXXbYYc", false));
  EXPECT_FALSE(GlobMatch("a*b*c", "aXXbYY", false));
  EXPECT_TRUE(GlobMatch("**a", "bbba", false));
  // Backtracking over many stars stays linear enough to be instant.
  EXPECT_FALSE(GlobMatch("*a*a*a*a*a*a*a*a*b", std::string(200, 'a'), false));
}

TEST(GlobTest, CaseFolding) {
  EXPECT_FALSE(GlobMatch("*_api_key", "OPENAI_API_KEY", false));
  EXPECT_TRUE(GlobMatch("*.OpenAI.com", "api.openai.com", true));
}

TEST(GlobTest, Lists) {
  EXPECT_TRUE(GlobListMatches("*_API_KEY,*_KEY", "MY_KEY", false));
  EXPECT_TRUE(GlobListMatches(" LANG , HOME ", "HOME", false));
  EXPECT_FALSE(GlobListMatches("", "X", false));
  EXPECT_FALSE(GlobListMatches(" , ,", "X", false));
  // An empty pattern matches nothing, not the empty name.
  EXPECT_FALSE(GlobListMatches("A,,B", "", false));
}

TEST(RequestHostTest, AsLibcurlConnects) {
  EXPECT_EQ(RequestHost("https://api.openai.com/v1"), "api.openai.com");
  EXPECT_EQ(RequestHost("HTTP://API.OpenAI.COM:443/v1"), "api.openai.com");
  EXPECT_EQ(RequestHost("http://127.0.0.1:8089/v1"), "127.0.0.1");
  EXPECT_EQ(RequestHost("http://metadata.google.internal./x"), "metadata.google.internal");
  EXPECT_EQ(RequestHost("http://[FD00:EC2::254]/"), "fd00:ec2::254");
  EXPECT_EQ(RequestHost("http://[fe80::1%25eth0]/"), "fe80::1");
  // User info, fragments and queries do not move the host.
  EXPECT_EQ(RequestHost("http://api.openai.com@169.254.169.254/"), "169.254.169.254");
  EXPECT_EQ(RequestHost("http://169.254.169.254#@api.openai.com"), "169.254.169.254");
  EXPECT_EQ(RequestHost("http://a.example:80?@169.254.169.254/"), "a.example");
  // IPv4 however written.
  EXPECT_EQ(RequestHost("http://2852039166/"), "169.254.169.254");
  EXPECT_EQ(RequestHost("http://0xa9.0xfe.0xa9.0xfe/"), "169.254.169.254");
  EXPECT_EQ(RequestHost("http://0251.0376.0251.0376/"), "169.254.169.254");
  EXPECT_EQ(RequestHost("http://169.254.43518/"), "169.254.169.254");
  EXPECT_EQ(RequestHost("http://%31%36%39.254.169.254/"), "169.254.169.254");
  // Not an http(s) URL.
  EXPECT_EQ(RequestHost("ftp://example.com/"), std::nullopt);
  EXPECT_EQ(RequestHost("file:///etc/passwd"), std::nullopt);
  EXPECT_EQ(RequestHost("http://a b/"), std::nullopt);
  EXPECT_EQ(RequestHost("http://x:99999/"), std::nullopt);
  EXPECT_EQ(RequestHost(""), std::nullopt);
  EXPECT_EQ(RequestHost(std::string("http://a\0b/", 11)), std::nullopt);
}

TEST(MetadataHostTest, AddressesAndNames) {
  for (const char* host :
       {"169.254.169.254", "169.254.170.2", "169.254.0.1", "100.100.100.200", "fd00:ec2::254",
        "fe80::1", "febf::1", "::ffff:169.254.169.254", "::ffff:a9fe:a9fe", "::a9fe:a9fe",
        "64:ff9b::a9fe:a9fe", "::ffff:100.100.100.200", "metadata.google.internal", "metadata",
        "metadata.goog", "metadata.azure.com", "instance-data", "instance-data.ec2.internal"}) {
    EXPECT_TRUE(IsMetadataHost(host)) << host;
  }
  for (const char* host : {"api.openai.com", "127.0.0.1", "10.0.0.1", "169.253.255.255",
                           "169.255.0.0", "100.100.100.201", "fd00:ec2::253", "fec0::1", "::1",
                           "metadata.example.com", "my-metadata", "localhost"}) {
    EXPECT_FALSE(IsMetadataHost(host)) << host;
  }
}

TEST(ProviderPolicyTest, KeyEnvNames) {
  const ProviderPolicy policy;  // the defaults
  EXPECT_EQ(KindOf(policy, "OPENAI_API_KEY", "https://api.openai.com/v1"),
            PolicyProblemKind::kNone);
  EXPECT_EQ(KindOf(policy, "LLMEVAL_MOCK_API_KEY", "http://127.0.0.1:8089/v1"),
            PolicyProblemKind::kNone);
  EXPECT_EQ(KindOf(policy, "", "https://api.openai.com/v1"), PolicyProblemKind::kNone);
  for (const char* env : {"LANG", "HOME", "PGPASSWORD", "openai_api_key", "AWS_ACCESS_KEY_ID"}) {
    EXPECT_EQ(KindOf(policy, env, "https://api.openai.com/v1"),
              PolicyProblemKind::kKeyEnvNotAllowed)
        << env;
  }
  // Cloud credentials are refused though *_KEY matches them, and even when
  // a superuser allows every name.
  ProviderPolicy everything;
  everything.api_key_env_names = "*";
  EXPECT_EQ(KindOf(everything, "LANG", "https://api.openai.com/v1"), PolicyProblemKind::kNone);
  for (const char* env : {"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AZURE_CLIENT_SECRET",
                          "AZURE_STORAGE_KEY", "ALICLOUD_SECRET_KEY"}) {
    EXPECT_EQ(KindOf(policy, env, "https://x.example"), PolicyProblemKind::kKeyEnvNotAllowed)
        << env;
    EXPECT_EQ(KindOf(everything, env, "https://x.example"), PolicyProblemKind::kKeyEnvNotAllowed)
        << env;
  }
  // Nothing allowed: only stored keys.
  ProviderPolicy none;
  none.api_key_env_names = "";
  EXPECT_EQ(KindOf(none, "OPENAI_API_KEY", "https://x.example"),
            PolicyProblemKind::kKeyEnvNotAllowed);
  EXPECT_EQ(KindOf(none, "", "https://x.example"), PolicyProblemKind::kNone);
}

TEST(ProviderPolicyTest, Hosts) {
  const ProviderPolicy any;
  EXPECT_EQ(KindOf(any, "", "https://own-host.example/v1"), PolicyProblemKind::kNone);
  for (const char* url :
       {"http://169.254.169.254/", "http://169.254.169.254/latest/meta-data", "http://2852039166/",
        "http://[fd00:ec2::254]/", "http://metadata.google.internal/computeMetadata/v1",
        "HTTP://Metadata.Google.Internal./", "http://metadata/", "http://metadata.azure.com/",
        "http://api.openai.com@169.254.169.254/", "http://[::ffff:169.254.169.254]/",
        "http://100.100.100.200/"}) {
    EXPECT_EQ(KindOf(any, "", url), PolicyProblemKind::kMetadataHost) << url;
  }
  EXPECT_EQ(KindOf(any, "", "ftp://example.com/"), PolicyProblemKind::kInvalidUrl);
  EXPECT_EQ(KindOf(any, "", "not a url"), PolicyProblemKind::kInvalidUrl);

  ProviderPolicy listed;
  listed.provider_hosts = "api.openai.com, *.openai.azure.com ,127.0.0.1,[::1]";
  EXPECT_EQ(KindOf(listed, "", "https://api.openai.com/v1"), PolicyProblemKind::kNone);
  EXPECT_EQ(KindOf(listed, "", "https://API.OPENAI.COM:443/v1"), PolicyProblemKind::kNone);
  EXPECT_EQ(KindOf(listed, "", "https://res.openai.azure.com/openai/deployments/d?api-version=1"),
            PolicyProblemKind::kNone);
  EXPECT_EQ(KindOf(listed, "", "http://127.0.0.1:8089/v1"), PolicyProblemKind::kNone);
  EXPECT_EQ(KindOf(listed, "", "http://[::1]:8089/v1"), PolicyProblemKind::kNone);
  EXPECT_EQ(KindOf(listed, "", "https://own-host.example/v1"), PolicyProblemKind::kHostNotAllowed);
  EXPECT_EQ(KindOf(listed, "", "https://api.openai.com.own-host.example/v1"),
            PolicyProblemKind::kHostNotAllowed);
  EXPECT_EQ(KindOf(listed, "", "https://api.openai.com@own-host.example/v1"),
            PolicyProblemKind::kHostNotAllowed);

  // A pattern cannot let a metadata endpoint through.
  ProviderPolicy star;
  star.provider_hosts = "*,169.254.169.254";
  EXPECT_EQ(KindOf(star, "", "http://169.254.169.254/"), PolicyProblemKind::kMetadataHost);
  EXPECT_EQ(KindOf(star, "", "https://own-host.example/v1"), PolicyProblemKind::kNone);
}

TEST(ProviderPolicyTest, MessagesNameTheSetting) {
  const ProviderPolicy policy;
  const PolicyProblem env = CheckProviderPolicy(policy, "LANG", "https://api.openai.com/v1");
  EXPECT_EQ(env.message, "environment variable \"LANG\" may not hold provider API keys");
  EXPECT_NE(env.hint.find("llmeval.api_key_env_names"), std::string::npos) << env.hint;
  EXPECT_NE(env.hint.find("*_API_KEY,*_KEY"), std::string::npos) << env.hint;

  ProviderPolicy listed;
  listed.provider_hosts = "api.openai.com";
  const PolicyProblem host = CheckProviderPolicy(listed, "", "https://own-host.example/v1");
  EXPECT_EQ(host.message, "provider host \"own-host.example\" is not allowed");
  EXPECT_NE(host.hint.find("llmeval.provider_hosts"), std::string::npos) << host.hint;

  const PolicyProblem metadata = CheckProviderPolicy(policy, "", "http://2852039166/");
  EXPECT_EQ(metadata.message, "provider host \"169.254.169.254\" is a cloud metadata endpoint");
  EXPECT_FALSE(metadata.hint.empty());

  // The key variable is checked first; no problem reads as false.
  EXPECT_EQ(CheckProviderPolicy(policy, "LANG", "http://169.254.169.254/").kind,
            PolicyProblemKind::kKeyEnvNotAllowed);
  EXPECT_FALSE(CheckProviderPolicy(policy, "X_API_KEY", "https://api.openai.com"));
}

}  // namespace
}  // namespace llmeval::core::provider
