#include "core/text/unicode.hpp"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include <vector>

#include "core/error.hpp"
#include "core/text/utf8.hpp"

namespace llmeval::core::text {

namespace {

std::u16string ToUtf16(std::string_view s) {
  std::u16string out;
  out.reserve(s.size());
  for (std::size_t pos = 0; pos < s.size();) {
    const char32_t cp = DecodeUtf8(s, pos);
    if (cp < 0x10000) {
      out.push_back(static_cast<char16_t>(cp));
    } else {
      out.push_back(static_cast<char16_t>(U16_LEAD(cp)));
      out.push_back(static_cast<char16_t>(U16_TRAIL(cp)));
    }
  }
  return out;
}

void AppendFromUtf16(const char16_t* s, std::size_t n, std::string& out) {
  for (std::size_t i = 0; i < n;) {
    UChar32 cp;
    U16_NEXT(s, i, n, cp);
    AppendUtf8(out, static_cast<char32_t>(cp));
  }
}

[[noreturn]] void ThrowIcu(const char* what, UErrorCode status) {
  throw Error(ErrorKind::kInternal, std::string("ICU ") + what + " failed: " + u_errorName(status));
}

// Runs an ICU string transform that may need a second pass with a larger buffer.
template <typename Fn>
std::u16string IcuTransform(const std::u16string& src, Fn fn, const char* what) {
  std::u16string dst(src.size() + 16, u'\0');
  UErrorCode status = U_ZERO_ERROR;
  int32_t len = fn(reinterpret_cast<UChar*>(dst.data()), static_cast<int32_t>(dst.size()),
                   reinterpret_cast<const UChar*>(src.data()), static_cast<int32_t>(src.size()),
                   &status);
  if (status == U_BUFFER_OVERFLOW_ERROR) {
    dst.assign(static_cast<std::size_t>(len), u'\0');
    status = U_ZERO_ERROR;
    len = fn(reinterpret_cast<UChar*>(dst.data()), static_cast<int32_t>(dst.size()),
             reinterpret_cast<const UChar*>(src.data()), static_cast<int32_t>(src.size()),
             &status);
  }
  if (U_FAILURE(status)) ThrowIcu(what, status);
  dst.resize(static_cast<std::size_t>(len));
  return dst;
}

constexpr uint32_t kPunctuationMask = U_GC_P_MASK;
constexpr uint32_t kSymbolMask = U_GC_S_MASK;
constexpr uint32_t kNumberMask = U_GC_N_MASK;

inline bool InCategory(char32_t cp, uint32_t mask) noexcept {
  return (U_GET_GC_MASK(static_cast<UChar32>(cp)) & mask) != 0;
}

}  // namespace

void PyLowerInto(std::string_view s, std::string& out) {
  out.clear();
  if (IsAscii(s)) {
    out.assign(s);
    for (char& c : out)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
    return;
  }
  const std::u16string lowered = IcuTransform(
      ToUtf16(s),
      [](UChar* dst, int32_t cap, const UChar* src, int32_t n, UErrorCode* st) {
        // The root locale ("") gives the language-independent mapping that
        // Python uses; "tr" or "lt" would apply their special rules.
        return u_strToLower(dst, cap, src, n, "", st);
      },
      "u_strToLower");
  out.reserve(s.size());
  AppendFromUtf16(lowered.data(), lowered.size(), out);
}

void PyLowerAsciiOnly(std::string_view s, std::string& out) {
  // One byte out per code point, two for U+0130 (two bytes in): never longer.
  out.resize(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  char* o = out.data();
  for (std::size_t pos = 0; pos < s.size();) {
    const unsigned char b = p[pos];
    if (b < 0x80) {
      *o++ = static_cast<char>(b >= 'A' && b <= 'Z' ? b + ('a' - 'A') : b);
      ++pos;
      continue;
    }
    const char32_t cp = DecodeUtf8(s, pos);
    if (cp == 0x0130) {
      *o++ = 'i';
      *o++ = ' ';  // U+0307
    } else if (cp == 0x212A) {
      *o++ = 'k';
    } else {
      *o++ = ' ';
    }
  }
  out.resize(static_cast<std::size_t>(o - out.data()));
}

std::string PyLower(std::string_view s) {
  std::string out;
  PyLowerInto(s, out);
  return out;
}

bool IsPunctuation(char32_t cp) noexcept { return InCategory(cp, kPunctuationMask); }
bool IsSymbol(char32_t cp) noexcept { return InCategory(cp, kSymbolMask); }
bool IsNumber(char32_t cp) noexcept { return InCategory(cp, kNumberMask); }

std::string CaseFold(std::string_view s) {
  const std::u16string folded = IcuTransform(
      ToUtf16(s),
      [](UChar* dst, int32_t cap, const UChar* src, int32_t n, UErrorCode* st) {
        return u_strFoldCase(dst, cap, src, n, U_FOLD_CASE_DEFAULT, st);
      },
      "u_strFoldCase");
  UErrorCode status = U_ZERO_ERROR;
  const UNormalizer2* nfc = unorm2_getNFCInstance(&status);
  if (U_FAILURE(status)) ThrowIcu("unorm2_getNFCInstance", status);
  const std::u16string normalized = IcuTransform(
      folded,
      [nfc](UChar* dst, int32_t cap, const UChar* src, int32_t n, UErrorCode* st) {
        return unorm2_normalize(nfc, src, n, dst, cap, st);
      },
      "unorm2_normalize");
  std::string out;
  AppendFromUtf16(normalized.data(), normalized.size(), out);
  return out;
}

}  // namespace llmeval::core::text
