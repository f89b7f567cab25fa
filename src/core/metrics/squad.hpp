// The official SQuAD v2.0 evaluation script's answer comparison
// (evaluate-v2.0.py: normalize_answer, compute_exact, compute_f1).
#pragma once

#include <string>
#include <string_view>

namespace llmeval::core::metrics {

// normalize_answer: Python str.lower(); remove the characters of
// string.punctuation (ASCII only); replace each article matched by
// re.sub(r'\b(a|an|the)\b', ' ', ..., flags=re.UNICODE) with a space; then
// ' '.join(text.split()). Python's \w (for str patterns) is taken as Unicode
// general categories L* and N* plus '_', so an article is a maximal run of
// such characters equal to "a", "an" or "the".
std::string NormalizeAnswer(std::string_view text);

// compute_exact: normalized strings equal. With normalize = false, plain byte
// equality of the two texts.
bool ExactMatch(std::string_view candidate, std::string_view reference, bool normalize = true);

// compute_f1(a_gold = reference, a_pred = candidate): bag-of-tokens F1 over the
// normalized whitespace tokens (Counter intersection). If either side has no
// token the result is 1.0 when both have none, else 0.0.
double TokenF1(std::string_view candidate, std::string_view reference);

}  // namespace llmeval::core::metrics

#include "core/cpp_only.hpp"
