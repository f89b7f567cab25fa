#include "core/metrics/options_json.hpp"

#include <cmath>
#include <limits>

#include "core/error.hpp"

namespace llmeval::core::metrics {

nlohmann::json ParseOptionsObject(std::string_view json, const std::string& metric) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::kInvalidTextRepresentation, "invalid " + metric + " options", e.what());
  }
  if (!j.is_object())
    throw Error(ErrorKind::kInvalidParameterValue, metric + " options must be a JSON object");
  return j;
}

void ThrowUnknownOption(const std::string& metric, const std::string& key,
                        const std::string& valid) {
  throw Error(ErrorKind::kInvalidParameterValue, "unknown " + metric + " option \"" + key + "\"",
              {}, "Valid options are " + valid + ".");
}

void ThrowOptionType(const std::string& metric, const std::string& key,
                     const std::string& expected) {
  throw Error(ErrorKind::kInvalidParameterValue,
              metric + " option \"" + key + "\" must be " + expected);
}

int IntOption(const nlohmann::json& value, const std::string& metric, const std::string& key) {
  if (value.is_number_integer()) {
    const auto v = value.get<int64_t>();
    if (v >= std::numeric_limits<int>::min() && v <= std::numeric_limits<int>::max())
      return static_cast<int>(v);
  } else if (value.is_number_float()) {
    const double v = value.get<double>();
    if (std::nearbyint(v) == v && std::abs(v) < 1e9) return static_cast<int>(v);
  }
  ThrowOptionType(metric, key, "an integer");
}

bool BoolOption(const nlohmann::json& value, const std::string& metric, const std::string& key) {
  if (!value.is_boolean()) ThrowOptionType(metric, key, "a boolean");
  return value.get<bool>();
}

std::string StringOption(const nlohmann::json& value, const std::string& metric,
                         const std::string& key) {
  if (!value.is_string()) ThrowOptionType(metric, key, "a string");
  return value.get<std::string>();
}

}  // namespace llmeval::core::metrics
