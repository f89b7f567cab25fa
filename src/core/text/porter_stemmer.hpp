// NLTK 3.8's PorterStemmer in its default NLTK_EXTENSIONS mode, which is what
// rouge-score uses for use_stemmer=True. This is not Martin Porter's frozen
// algorithm: NLTK adds an irregular-forms pool (dying -> die, skies -> sky ...),
// leaves words of one or two characters alone, and changes steps 1a, 1b, 1c
// and 2 (ies/ied on four-letter words, y -> i only after a consonant, -alli
// before -bli, -fulli, -logi). Matching NLTK exactly matters more than
// matching the paper: ROUGE scores must equal rouge-score's.
#pragma once

#include <string>
#include <string_view>

namespace llmeval::core::text {

// PorterStemmer().stem(word): lowercases with Python's str.lower(), then
// stems. Works on code points, so any text is accepted (invalid UTF-8 decodes
// as U+FFFD); letters other than ASCII a-z are consonants, as in NLTK. Linear
// in the length of the word.
std::string PorterStem(std::string_view word);

// The same for a word known to be ASCII without uppercase letters (ROUGE's
// tokens are [a-z0-9]+), written into out. Skips the lowercasing and the
// UTF-8 handling of PorterStem.
void PorterStemLowerAscii(std::string_view word, std::string& out);

}  // namespace llmeval::core::text

#include "core/cpp_only.hpp"
