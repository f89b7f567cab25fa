#include "core/data/csv.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "core/error.hpp"

namespace llmeval::core::data {

namespace {

// The bytes with a meaning in CSV: they end an unquoted field's plain text,
// and a field holding one must be quoted.
constexpr std::array<bool, 256> MakeSpecialTable() {
  std::array<bool, 256> table{};
  table[','] = table['\n'] = table['\r'] = table['"'] = true;
  return table;
}
constexpr std::array<bool, 256> kSpecial = MakeSpecialTable();

std::size_t LineAt(std::string_view s, std::size_t offset) {
  return 1 + static_cast<std::size_t>(std::count(s.begin(), s.begin() + offset, '\n'));
}

// Length of the valid UTF-8 sequence at s[pos], or 0 if it is not one
// (truncated, overlong, surrogate, above U+10FFFF) or is a NUL byte, which
// Postgres text cannot hold. `want` gets the length the lead byte announces.
std::size_t Utf8SequenceLength(std::string_view s, std::size_t pos, std::size_t& want) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + pos;
  const std::size_t left = s.size() - pos;
  const unsigned char b0 = p[0];
  want = 1;
  if (b0 == 0) return 0;
  if (b0 < 0x80) return 1;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    want = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    want = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    want = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (left < want) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (std::size_t i = 2; i < want; ++i)
    if ((p[i] & 0xC0) != 0x80) return 0;
  return want;
}

// Throws if s is not valid UTF-8 or holds a NUL byte, naming the line and
// the bytes as Postgres does ("invalid byte sequence for encoding").
void CheckUtf8(std::string_view s) {
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  std::size_t pos = 0;
  const std::size_t n = s.size();
  while (pos < n) {
    // Eight ASCII bytes, none of them NUL, at a time.
    if (pos + 8 <= n) {
      uint64_t v;
      std::memcpy(&v, s.data() + pos, 8);
      if (((v & kHigh) | ((v - kOnes) & ~v & kHigh)) == 0) {
        pos += 8;
        continue;
      }
    }
    std::size_t want;
    const std::size_t len = Utf8SequenceLength(s, pos, want);
    if (len == 0) {
      std::string bytes;
      const std::size_t shown = std::min(want, n - pos);
      for (std::size_t i = 0; i < shown; ++i) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "%s0x%02x", i ? " " : "",
                      static_cast<unsigned char>(s[pos + i]));
        bytes += hex;
      }
      ThrowCsvError(LineAt(s, pos), "invalid byte sequence for encoding \"UTF8\"",
                    "The bytes " + bytes + " are not valid UTF-8 text.");
    }
    pos += len;
  }
}

}  // namespace

void ThrowCsvError(std::size_t line, const std::string& what, std::string detail,
                   std::string hint) {
  throw Error(ErrorKind::kBadFileFormat,
              "invalid CSV at line " + std::to_string(line) + ": " + what, std::move(detail),
              std::move(hint));
}

CsvReader::CsvReader(std::string_view input) : input_(input) {
  CheckUtf8(input_);
  if (input_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
}

bool CsvReader::ReadRecord(std::vector<CsvField>& fields) {
  fields.clear();
  const std::size_t n = input_.size();
  if (pos_ >= n) return false;
  const char* const data = input_.data();
  record_line_ = line_;
  scratch_.clear();
  scratch_values_.clear();

  for (;;) {
    CsvField field;
    field.line = line_;
    if (pos_ < n && data[pos_] == '"') {
      field.quoted = true;
      std::size_t start = ++pos_;
      bool unescaped = false;  // some of the value is in scratch_
      std::size_t scratch_start = 0;
      for (;;) {
        const void* found = std::memchr(data + pos_, '"', n - pos_);
        if (found == nullptr)
          ThrowCsvError(field.line, "unterminated quoted field",
                        "The quoted field has no closing quote before the end of the input.");
        const std::size_t quote = static_cast<std::size_t>(static_cast<const char*>(found) - data);
        line_ += static_cast<std::size_t>(std::count(data + pos_, data + quote, '\n'));
        if (quote + 1 < n && data[quote + 1] == '"') {
          // "" stands for one quote: keep the text up to and including it.
          if (!unescaped) scratch_start = scratch_.size();
          unescaped = true;
          scratch_.append(data + start, quote + 1 - start);
          pos_ = start = quote + 2;
          continue;
        }
        if (unescaped) {
          scratch_.append(data + start, quote - start);
          scratch_values_.push_back(
              {fields.size(), scratch_start, scratch_.size() - scratch_start});
        } else {
          field.value = std::string_view(data + start, quote - start);
        }
        pos_ = quote + 1;
        break;
      }
      if (pos_ < n && data[pos_] != ',' && data[pos_] != '\n' &&
          !(data[pos_] == '\r' && pos_ + 1 < n && data[pos_ + 1] == '\n'))
        ThrowCsvError(field.line, "unexpected character after a closing quote",
                      "A quoted field must be followed by a comma or a line end.",
                      "Write a quote inside a quoted field as two quotes (\"\").");
    } else {
      const std::size_t start = pos_;
      while (pos_ < n && !kSpecial[static_cast<unsigned char>(data[pos_])]) ++pos_;
      field.value = std::string_view(data + start, pos_ - start);
      if (pos_ < n && data[pos_] == '"')
        ThrowCsvError(
            field.line, "quote in an unquoted field", {},
            "Enclose a field that contains quotes in quotes, and double each quote inside it.");
      if (pos_ < n && data[pos_] == '\r' && !(pos_ + 1 < n && data[pos_ + 1] == '\n'))
        ThrowCsvError(field.line, "carriage return in an unquoted field",
                      "Lines must end with CRLF or LF.",
                      "Enclose a field that contains a carriage return in quotes.");
    }
    fields.push_back(field);
    // Here pos_ is at the end of the input, a comma or a line end.
    if (pos_ >= n) break;
    if (data[pos_] == ',') {
      ++pos_;
      continue;
    }
    pos_ += data[pos_] == '\r' ? 2 : 1;
    ++line_;
    break;
  }
  for (const ScratchValue& v : scratch_values_)
    fields[v.field].value = std::string_view(scratch_.data() + v.offset, v.length);
  return true;
}

void CsvWriter::Field(std::string_view value) {
  Separator();
  // A leading U+FEFF would be taken for a byte order mark at the start of
  // the file; quoted, it is text.
  bool quote = value.empty() || value.front() == ' ' || value.front() == '\t' ||
               value.back() == ' ' || value.back() == '\t' || value.substr(0, 3) == "\xEF\xBB\xBF";
  for (std::size_t i = 0; !quote && i < value.size(); ++i)
    quote = kSpecial[static_cast<unsigned char>(value[i])];
  if (!quote) {
    out_.append(value);
    return;
  }
  out_.push_back('"');
  for (;;) {
    const std::size_t q = value.find('"');
    if (q == std::string_view::npos) break;
    out_.append(value.substr(0, q + 1));
    out_.push_back('"');
    value.remove_prefix(q + 1);
  }
  out_.append(value);
  out_.push_back('"');
}

}  // namespace llmeval::core::data
