// The one exception type the core throws. Its kind maps to an SQLSTATE at the
// Postgres boundary (src/pg/guard.cpp), so core code never needs errcodes.
#pragma once

#include <stdexcept>
#include <string>

namespace llmeval::core {

enum class ErrorKind {
  kInvalidParameterValue,     // an option such as tokenize => 'bogus'
  kInvalidTextRepresentation, // malformed text input (JSON, CSV, options)
  kNullValueNotAllowed,       // NULL inside an array that must not hold one
  kArraySubscriptError,       // arrays of mismatched shape or dimensions
  kProgramLimitExceeded,      // an input too large for the algorithm
  kDataException,             // a value outside what the computation accepts
  kBadFileFormat,             // malformed CSV, like COPY
  kInternal,                  // a bug: should never reach users
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message, std::string detail = {},
        std::string hint = {})
      : std::runtime_error(message), kind_(kind), detail_(std::move(detail)),
        hint_(std::move(hint)) {}

  ErrorKind kind() const noexcept { return kind_; }
  const std::string& detail() const noexcept { return detail_; }
  const std::string& hint() const noexcept { return hint_; }

 private:
  ErrorKind kind_;
  std::string detail_;
  std::string hint_;
};

}  // namespace llmeval::core

#include "core/cpp_only.hpp"
