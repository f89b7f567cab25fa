// Retry-After (RFC 9110), Google's RetryInfo and backoff; see retry.hpp.
#include "core/provider/retry.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/provider/wire.hpp"

namespace llmeval::core::provider {

namespace {

using nlohmann::json;
using wire::EndsWith;
using wire::IEquals;

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil): no timegm, no TZ.
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int64_t YearOfUnix(int64_t unix_seconds) {
  int64_t z = unix_seconds / 86400;
  if (unix_seconds % 86400 < 0) --z;
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  return yoe + era * 400 + (m <= 2);
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// A cursor over an HTTP-date.
struct Scanner {
  std::string_view s;
  std::size_t i = 0;

  bool Done() const { return i == s.size(); }
  bool Char(char c) {
    if (i < s.size() && s[i] == c) return ++i, true;
    return false;
  }
  bool Spaces() {  // one or more
    const std::size_t start = i;
    while (i < s.size() && s[i] == ' ') ++i;
    return i > start;
  }
  std::string_view Word() {
    const std::size_t start = i;
    while (i < s.size() && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z'))) ++i;
    return s.substr(start, i - start);
  }
  // min_digits to max_digits digits.
  bool Number(int min_digits, int max_digits, int& out, int* digits = nullptr) {
    int n = 0;
    out = 0;
    while (n < max_digits && i < s.size() && s[i] >= '0' && s[i] <= '9') {
      out = out * 10 + (s[i] - '0');
      ++i, ++n;
    }
    if (digits) *digits = n;
    return n >= min_digits;
  }
  bool Month(int& out) {
    static constexpr std::string_view kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                                   "jul", "aug", "sep", "oct", "nov", "dec"};
    const std::string_view w = Word();
    for (int m = 0; m < 12; ++m) {
      if (IEquals(w, kMonths[m])) return out = m + 1, true;
    }
    return false;
  }
  bool Time(int& h, int& m, int& sec) {
    return Number(2, 2, h) && Char(':') && Number(2, 2, m) && Char(':') && Number(2, 2, sec);
  }
};

bool IsDayName(std::string_view w) {
  static constexpr std::string_view kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  static constexpr std::string_view kLong[] = {"monday", "tuesday", "wednesday", "thursday",
                                               "friday", "saturday", "sunday"};
  for (int i = 0; i < 7; ++i) {
    if (IEquals(w, kDays[i]) || IEquals(w, kLong[i])) return true;
  }
  return false;
}

// The three HTTP-date forms of RFC 9110 section 5.6.7, as Unix seconds:
//   IMF-fixdate  Sun, 06 Nov 1994 08:49:37 GMT
//   rfc850-date  Sunday, 06-Nov-94 08:49:37 GMT
//   asctime      Sun Nov  6 08:49:37 1994
std::optional<int64_t> ParseHttpDate(std::string_view value, int64_t now_unix) {
  Scanner sc{value};
  if (!IsDayName(sc.Word())) return std::nullopt;
  int day = 0, month = 0, hour = 0, minute = 0, second = 0, year = 0;
  int64_t full_year = 0;
  if (sc.Char(',')) {
    if (!sc.Spaces() || !sc.Number(1, 2, day)) return std::nullopt;
    if (sc.Char('-')) {
      // rfc850-date: a two-digit year more than 50 years ahead is last century's.
      int digits = 0;
      if (!sc.Month(month) || !sc.Char('-') || !sc.Number(2, 4, year, &digits)) return std::nullopt;
      if (digits == 2) {
        const int64_t now_year = YearOfUnix(now_unix);
        full_year = (now_year / 100) * 100 + year;
        if (full_year > now_year + 50) full_year -= 100;
      } else if (digits == 4) {
        full_year = year;
      } else {
        return std::nullopt;
      }
    } else {
      if (!sc.Spaces() || !sc.Month(month) || !sc.Spaces() || !sc.Number(4, 4, year)) {
        return std::nullopt;
      }
      full_year = year;
    }
    if (!sc.Spaces() || !sc.Time(hour, minute, second) || !sc.Spaces()) return std::nullopt;
    const std::string_view zone = sc.Word();
    if (!IEquals(zone, "GMT") && !IEquals(zone, "UTC")) return std::nullopt;
  } else {
    if (!sc.Spaces() || !sc.Month(month) || !sc.Spaces() || !sc.Number(1, 2, day) ||
        !sc.Spaces() || !sc.Time(hour, minute, second) || !sc.Spaces() ||
        !sc.Number(4, 4, year)) {
      return std::nullopt;
    }
    full_year = year;
  }
  if (!sc.Done()) return std::nullopt;
  if (month < 1 || day < 1 || day > DaysInMonth(full_year, month) || hour > 23 || minute > 59 ||
      second > 60) {
    return std::nullopt;
  }
  return DaysFromCivil(full_year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
}

constexpr int64_t kMaxDelaySeconds = std::numeric_limits<int64_t>::max() / 1000;

// Seconds with an optional fraction ("120", "1.5") as milliseconds; a leading
// '-' gives 0. nullopt unless all of s is such a number.
std::optional<int64_t> ParseSeconds(std::string_view s) {
  std::size_t i = 0;
  const bool negative = !s.empty() && s[0] == '-';
  if (negative || (!s.empty() && s[0] == '+')) ++i;
  const std::size_t int_begin = i;
  int64_t seconds = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    seconds = seconds >= kMaxDelaySeconds / 10 ? kMaxDelaySeconds : seconds * 10 + (s[i] - '0');
  }
  if (i == int_begin) return std::nullopt;
  int64_t millis = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const std::size_t frac_begin = i;
    for (int64_t scale = 100; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, scale /= 10) {
      millis += (s[i] - '0') * scale;
    }
    if (i == frac_begin) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  if (negative) return 0;
  return std::min(seconds, kMaxDelaySeconds - 1) * 1000 + millis;
}

}  // namespace

std::optional<int64_t> RetryInfoDelay(const json& error) {
  const json& details = wire::Member(error, "details");
  if (!details.is_array()) return std::nullopt;
  for (const json& d : details) {
    if (!EndsWith(wire::StringField(d, "@type"), "google.rpc.RetryInfo")) continue;
    const std::string delay = wire::StringField(d, "retryDelay");
    if (delay.size() < 2 || delay.back() != 's') return std::nullopt;
    return ParseSeconds(std::string_view(delay).substr(0, delay.size() - 1));
  }
  return std::nullopt;
}

std::optional<int64_t> ParseRetryAfter(std::string_view value, int64_t now_unix) {
  const std::string_view v = wire::TrimOws(value);
  if (v.empty()) return std::nullopt;

  // delta-seconds (leniently: a sign and a fraction, which some servers send).
  if ((v[0] >= '0' && v[0] <= '9') || v[0] == '-' || v[0] == '+') return ParseSeconds(v);

  const std::optional<int64_t> when = ParseHttpDate(v, now_unix);
  if (!when) return std::nullopt;
  // Dates are within years 0..9999, so only an absurd now_unix could overflow.
  if (now_unix < -kMaxDelaySeconds / 2 || now_unix > kMaxDelaySeconds / 2) return std::nullopt;
  const int64_t delta = *when - now_unix;
  return delta <= 0 ? 0 : std::min(delta, kMaxDelaySeconds) * 1000;
}

int64_t BackoffMs(int attempt, double unit_random, std::optional<int64_t> retry_after_ms,
                  int64_t base_ms, int64_t max_ms) {
  if (attempt < 1) attempt = 1;
  if (base_ms < 0) base_ms = 0;
  if (max_ms < 0) max_ms = 0;
  // base * 2^(attempt-1), doubling only while below the cap: no overflow.
  int64_t cap = std::min(base_ms, max_ms);
  for (int i = 1; i < attempt && cap < max_ms && cap > 0; ++i) {
    cap = cap > max_ms / 2 ? max_ms : cap * 2;
  }
  if (!(unit_random >= 0.0)) unit_random = 0.0;  // NaN too
  if (unit_random > 1.0) unit_random = 1.0;
  // Compared as doubles first: converting 2^63 to int64_t would be undefined.
  const double point = std::floor(unit_random * static_cast<double>(cap));
  int64_t delay = point >= static_cast<double>(cap) ? cap : static_cast<int64_t>(point);
  if (retry_after_ms && *retry_after_ms > delay) delay = *retry_after_ms;
  return delay;
}

}  // namespace llmeval::core::provider
