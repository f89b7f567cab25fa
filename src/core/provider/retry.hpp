// When to try a provider call again: the server's Retry-After, Google's
// RetryInfo, and exponential backoff with full jitter.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace llmeval::core::provider {

// Retry-After as milliseconds: delta-seconds or an HTTP-date (RFC 9110);
// nullopt if unparsable. Negative delays are 0.
std::optional<int64_t> ParseRetryAfter(std::string_view value, int64_t now_unix);

// Google APIs send no Retry-After header on 429 but a RetryInfo detail in
// the error object ({"details": [{"@type": "...google.rpc.RetryInfo",
// "retryDelay": "35s"}]}): its delay in milliseconds, or nullopt.
std::optional<int64_t> RetryInfoDelay(const nlohmann::json& error);

// The delay before attempt number `attempt` + 1, after `attempt` failures:
// exponential from base_ms, capped at max_ms, with full jitter (unit_random
// in [0, 1) picks the point in [0, cap]); at least retry_after_ms when given.
int64_t BackoffMs(int attempt, double unit_random, std::optional<int64_t> retry_after_ms,
                  int64_t base_ms = 500, int64_t max_ms = 60000);

}  // namespace llmeval::core::provider

#include "core/cpp_only.hpp"
