#include "core/text/porter_stemmer.hpp"

#include <cstddef>

#include "core/text/unicode.hpp"
#include "core/text/utf8.hpp"

namespace llmeval::core::text {

namespace {

// The stemmer runs on a std::string for ASCII words (every ROUGE token) and on
// a std::u32string otherwise, so that positions and lengths are code points
// as in Python. Both are edited in place: a step only ever cuts a suffix and
// appends a short replacement.
inline char32_t At(const std::string& w, std::size_t i) { return static_cast<unsigned char>(w[i]); }
inline char32_t At(const std::u32string& w, std::size_t i) { return w[i]; }

inline void Append(std::string& w, std::string_view s) { w.append(s); }
inline void Append(std::u32string& w, std::string_view s) {
  for (char c : s) w.push_back(static_cast<unsigned char>(c));
}

inline bool IsVowel(char32_t c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

// NLTK's _is_consonant: a, e, i, o, u are vowels; y is a consonant at the
// start of a word and otherwise the opposite of the letter before it;
// everything else (digits and non-ASCII letters included) is a consonant.
// NLTK recurses over a run of y's; walking back over it instead keeps a word
// like "yyyy..." linear and off the stack.
template <typename S>
bool IsConsonant(const S& w, std::size_t i) {
  bool flip = false;
  while (i > 0 && At(w, i) == 'y') {
    --i;
    flip = !flip;
  }
  return !IsVowel(At(w, i)) != flip;
}

// NLTK's _measure of the prefix w[0, len): the number of vowel-to-consonant
// transitions in its c/v pattern, i.e. m in [C](VC){m}[V].
template <typename S>
std::size_t Measure(const S& w, std::size_t len) {
  std::size_t m = 0;
  bool prev_consonant = false;
  for (std::size_t i = 0; i < len; ++i) {
    const char32_t c = At(w, i);
    bool consonant;
    if (IsVowel(c)) {
      consonant = false;
    } else if (c == 'y') {
      consonant = i == 0 || !prev_consonant;
    } else {
      consonant = true;
    }
    if (i > 0 && !prev_consonant && consonant) ++m;
    prev_consonant = consonant;
  }
  return m;
}

template <typename S>
bool ContainsVowel(const S& w, std::size_t len) {
  bool prev_consonant = false;
  for (std::size_t i = 0; i < len; ++i) {
    const char32_t c = At(w, i);
    const bool consonant = IsVowel(c) ? false : c == 'y' ? (i == 0 || !prev_consonant) : true;
    if (!consonant) return true;
    prev_consonant = consonant;
  }
  return false;
}

// Condition *d on the prefix w[0, len).
template <typename S>
bool EndsDoubleConsonant(const S& w, std::size_t len) {
  return len >= 2 && At(w, len - 1) == At(w, len - 2) && IsConsonant(w, len - 1);
}

// Condition *o on the prefix w[0, len), with NLTK's extra case of a two-letter
// vowel-consonant stem.
template <typename S>
bool EndsCvc(const S& w, std::size_t len) {
  if (len >= 3 && IsConsonant(w, len - 3) && !IsConsonant(w, len - 2) && IsConsonant(w, len - 1)) {
    const char32_t last = At(w, len - 1);
    if (last != 'w' && last != 'x' && last != 'y') return true;
  }
  return len == 2 && !IsConsonant(w, 0) && IsConsonant(w, 1);
}

template <typename S>
bool EndsWith(const S& w, std::string_view suffix) {
  if (w.size() < suffix.size()) return false;
  const std::size_t base = w.size() - suffix.size();
  for (std::size_t i = 0; i < suffix.size(); ++i)
    if (At(w, base + i) != static_cast<unsigned char>(suffix[i])) return false;
  return true;
}

template <typename S>
void ReplaceSuffix(S& w, std::size_t suffix_len, std::string_view replacement) {
  w.resize(w.size() - suffix_len);
  Append(w, replacement);
}

// The conditions NLTK attaches to its suffix rules. Each looks at the stem
// (the word without the rule's suffix) unless noted.
enum class Cond {
  kNone,
  kMeasureGt0,
  kMeasureGt1,
  kIon,   // step 4: m > 1 and the stem ends in s or t
  kLogi,  // step 2: m > 0 of the word without "ogi" (the l stays with the stem)
  kLl,    // step 5b: m > 1 of the word without its last l
};

struct Rule {
  std::string_view suffix;
  std::string_view replacement;
  Cond cond;
};

template <typename S>
bool Holds(Cond cond, const S& w, std::size_t stem_len) {
  switch (cond) {
    case Cond::kNone:
      return true;
    case Cond::kMeasureGt0:
      return Measure(w, stem_len) > 0;
    case Cond::kMeasureGt1:
      return Measure(w, stem_len) > 1;
    case Cond::kIon: {
      if (Measure(w, stem_len) <= 1) return false;
      const char32_t last = At(w, stem_len - 1);
      return last == 's' || last == 't';
    }
    case Cond::kLogi:
      return Measure(w, w.size() - 3) > 0;
    case Cond::kLl:
      return Measure(w, w.size() - 1) > 1;
  }
  return false;
}

// NLTK's _apply_rule_list: the first rule whose suffix matches decides; if its
// condition fails the word is left as it is and later rules are not tried.
template <typename S, std::size_t N>
void ApplyRules(S& w, const Rule (&rules)[N]) {
  for (const Rule& rule : rules) {
    if (!EndsWith(w, rule.suffix)) continue;
    if (Holds(rule.cond, w, w.size() - rule.suffix.size()))
      ReplaceSuffix(w, rule.suffix.size(), rule.replacement);
    return;
  }
}

constexpr Rule kStep1aRules[] = {
    {"sses", "ss", Cond::kNone},
    {"ies", "i", Cond::kNone},
    {"ss", "ss", Cond::kNone},
    {"s", "", Cond::kNone},
};

template <typename S>
void Step1a(S& w) {
  // NLTK extension: "ties" -> "tie" rather than "ti".
  if (w.size() == 4 && EndsWith(w, "ies")) {
    ReplaceSuffix(w, 3, "ie");
    return;
  }
  ApplyRules(w, kStep1aRules);
}

template <typename S>
void Step1b(S& w) {
  // NLTK extension: "died" -> "die", "spied" -> "spi".
  if (EndsWith(w, "ied")) {
    ReplaceSuffix(w, 3, w.size() == 4 ? "ie" : "i");
    return;
  }
  if (EndsWith(w, "eed")) {
    if (Measure(w, w.size() - 3) > 0) w.pop_back();  // (m>0) EED -> EE
    return;
  }
  std::size_t cut = 0;
  if (EndsWith(w, "ed") && ContainsVowel(w, w.size() - 2)) {
    cut = 2;
  } else if (EndsWith(w, "ing") && ContainsVowel(w, w.size() - 3)) {
    cut = 3;
  }
  if (cut == 0) return;
  w.resize(w.size() - cut);
  // NLTK runs the follow-up rules through _apply_rule_list, in this order.
  if (EndsWith(w, "at") || EndsWith(w, "bl") || EndsWith(w, "iz")) {
    w.push_back('e');  // AT -> ATE, BL -> BLE, IZ -> IZE
    return;
  }
  const char32_t last = At(w, w.size() - 1);  // the stem has a vowel, so is not empty
  const bool keep_double = last == 'l' || last == 's' || last == 'z';
  if (EndsDoubleConsonant(w, w.size())) {
    if (!keep_double) w.pop_back();  // hopp(ing) -> hop, but fall(ing) -> fall
    return;
  }
  // NLTK encodes the double-consonant rule as the pseudo-suffix "*d" and,
  // when the word does not end in a double consonant, still tests it as a
  // literal suffix. Only a word containing '*' gets here (PorterStem accepts
  // any text); the rule then drops the '*'.
  if (EndsWith(w, "*d")) {
    w.erase(w.size() - 2, 1);
    return;
  }
  if (Measure(w, w.size()) == 1 && EndsCvc(w, w.size())) w.push_back('e');  // fil(ing) -> file
}

template <typename S>
void Step1c(S& w) {
  // NLTK's rule: y -> i only after a consonant that is not the first letter.
  if (!EndsWith(w, "y")) return;
  const std::size_t stem_len = w.size() - 1;
  if (stem_len > 1 && IsConsonant(w, stem_len - 1)) w.back() = 'i';
}

constexpr Rule kStep2Rules[] = {
    {"ational", "ate", Cond::kMeasureGt0}, {"tional", "tion", Cond::kMeasureGt0},
    {"enci", "ence", Cond::kMeasureGt0},   {"anci", "ance", Cond::kMeasureGt0},
    {"izer", "ize", Cond::kMeasureGt0},    {"bli", "ble", Cond::kMeasureGt0},
    {"alli", "al", Cond::kMeasureGt0},     {"entli", "ent", Cond::kMeasureGt0},
    {"eli", "e", Cond::kMeasureGt0},       {"ousli", "ous", Cond::kMeasureGt0},
    {"ization", "ize", Cond::kMeasureGt0}, {"ation", "ate", Cond::kMeasureGt0},
    {"ator", "ate", Cond::kMeasureGt0},    {"alism", "al", Cond::kMeasureGt0},
    {"iveness", "ive", Cond::kMeasureGt0}, {"fulness", "ful", Cond::kMeasureGt0},
    {"ousness", "ous", Cond::kMeasureGt0}, {"aliti", "al", Cond::kMeasureGt0},
    {"iviti", "ive", Cond::kMeasureGt0},   {"biliti", "ble", Cond::kMeasureGt0},
    {"fulli", "ful", Cond::kMeasureGt0},   {"logi", "log", Cond::kLogi},
};

template <typename S>
void Step2(S& w) {
  // NLTK extension: -alli -> -al is tried first and, when it applies, step 2
  // runs again on the result (which ends in -al, so at most once more).
  while (EndsWith(w, "alli") && Measure(w, w.size() - 4) > 0) w.resize(w.size() - 2);
  ApplyRules(w, kStep2Rules);
}

constexpr Rule kStep3Rules[] = {
    {"icate", "ic", Cond::kMeasureGt0}, {"ative", "", Cond::kMeasureGt0},
    {"alize", "al", Cond::kMeasureGt0}, {"iciti", "ic", Cond::kMeasureGt0},
    {"ical", "ic", Cond::kMeasureGt0},  {"ful", "", Cond::kMeasureGt0},
    {"ness", "", Cond::kMeasureGt0},
};

constexpr Rule kStep4Rules[] = {
    {"al", "", Cond::kMeasureGt1},    {"ance", "", Cond::kMeasureGt1},
    {"ence", "", Cond::kMeasureGt1},  {"er", "", Cond::kMeasureGt1},
    {"ic", "", Cond::kMeasureGt1},    {"able", "", Cond::kMeasureGt1},
    {"ible", "", Cond::kMeasureGt1},  {"ant", "", Cond::kMeasureGt1},
    {"ement", "", Cond::kMeasureGt1}, {"ment", "", Cond::kMeasureGt1},
    {"ent", "", Cond::kMeasureGt1},   {"ion", "", Cond::kIon},
    {"ou", "", Cond::kMeasureGt1},    {"ism", "", Cond::kMeasureGt1},
    {"ate", "", Cond::kMeasureGt1},   {"iti", "", Cond::kMeasureGt1},
    {"ous", "", Cond::kMeasureGt1},   {"ive", "", Cond::kMeasureGt1},
    {"ize", "", Cond::kMeasureGt1},
};

template <typename S>
void Step5a(S& w) {
  // Both E rules are tried (NLTK does not use _apply_rule_list here).
  if (!EndsWith(w, "e")) return;
  const std::size_t stem_len = w.size() - 1;
  const std::size_t m = Measure(w, stem_len);
  if (m > 1 || (m == 1 && !EndsCvc(w, stem_len))) w.resize(stem_len);
}

constexpr Rule kStep5bRules[] = {{"ll", "l", Cond::kLl}};

template <typename S>
void StemInPlace(S& w) {
  Step1a(w);
  Step1b(w);
  Step1c(w);
  Step2(w);
  ApplyRules(w, kStep3Rules);
  ApplyRules(w, kStep4Rules);
  Step5a(w);
  ApplyRules(w, kStep5bRules);
}

// NLTK_EXTENSIONS' irregular forms: form -> stem, bypassing the algorithm.
struct Irregular {
  std::string_view form;
  std::string_view stem;
};
constexpr Irregular kPool[] = {
    {"sky", "sky"},        {"skies", "sky"},       {"dying", "die"},        {"lying", "lie"},
    {"tying", "tie"},      {"news", "news"},       {"innings", "inning"},   {"inning", "inning"},
    {"outings", "outing"}, {"outing", "outing"},   {"cannings", "canning"}, {"canning", "canning"},
    {"howe", "howe"},      {"proceed", "proceed"}, {"exceed", "exceed"},    {"succeed", "succeed"},
};

const std::string_view* PoolLookup(std::string_view word) {
  if (word.size() < 3 || word.size() > 8) return nullptr;
  for (const Irregular& entry : kPool)
    if (entry.form == word) return &entry.stem;
  return nullptr;
}

}  // namespace

void PorterStemLowerAscii(std::string_view word, std::string& out) {
  if (const std::string_view* stem = PoolLookup(word)) {
    out.assign(*stem);
    return;
  }
  out.assign(word);
  if (word.size() <= 2) return;
  StemInPlace(out);
}

std::string PorterStem(std::string_view word) {
  // NLTK tests the pool with the word as given (so "Dying" is not found) and
  // its length before lowercasing ("İS" is two characters, lowered three).
  if (const std::string_view* stem = PoolLookup(word)) return std::string(*stem);
  std::string lowered;
  PyLowerInto(word, lowered);
  std::size_t length = 0;
  for (std::size_t pos = 0; pos < word.size() && length <= 2; ++length) DecodeUtf8(word, pos);
  if (length <= 2) return lowered;
  if (IsAscii(lowered)) {
    StemInPlace(lowered);
    return lowered;
  }
  std::u32string code_points;
  DecodeUtf8All(lowered, code_points);
  StemInPlace(code_points);
  std::string out;
  out.reserve(lowered.size());
  for (char32_t cp : code_points) AppendUtf8(out, cp);
  return out;
}

}  // namespace llmeval::core::text
