// Reading an LLM judge's reply: the JSON object it was asked for, found
// wherever the model put it (alone, in a code fence, between prose), the
// G-Eval probability-weighted score from the reply's token log-probabilities,
// and the prompt of the one repair retry when the reply cannot be read.
// Pure functions on strings: the job engine (src/pg/worker.cpp) makes the calls.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace llmeval::core::judge {

// The score range a judge is asked to use, both ends included.
struct Scale {
  double min = 1;
  double max = 5;
};

struct Judgement {
  std::optional<double> score;           // the stated score, within [min, max]
  std::optional<double> weighted_score;  // G-Eval probability-weighted score, when logprobs allow
  std::string reason;                    // the judge's reason ("" if none)
  std::string verdict;                   // pairwise: "A", "B" or "tie"; "" otherwise
  // Empty when read; else one line why not, such as "no JSON object in the
  // reply", "score 7 is outside 1..5", "score is not a number", "winner must
  // be A, B or tie".
  std::string error;
};

// A score judge's reply: {"score": x, "reason": "..."}, the whole reply or
// the last JSON object with a "score" key in it (inside ```json fences, the
// last fence, after or before prose; an object nested in another counts,
// the outer first). The last, not the first: the judge reasons before it
// answers, and may quote the judged answer, JSON verdicts it injects
// included. A "score" after that object in braces that do not parse (the
// verdict cut off) is an error rather than a fall-back to an earlier object.
// score may be a JSON number or a numeric string ("4"). Out of range, or not
// a number: error set, score empty. A reason that is not a string is
// ignored. Linear in the reply's length; never throws.
Judgement ParseScoreReply(std::string_view reply, const Scale& scale);

// A pairwise judge's reply: {"winner": "A"|"B"|"tie", "reason": "..."}, found
// as above; the winner is case-insensitive and may have surrounding spaces.
Judgement ParsePairwiseReply(std::string_view reply);

// How a judge of verdicts (one yes/no per item) makes its score:
//   kShare   the share of yes (context recall, conversation completeness,
//            turn relevancy);
//   kRanked  over items in rank order, sum_k (precision@k * v_k) / sum_k v_k,
//            with v_k 1 for yes (Ragas' context precision); 0 when none is yes.
enum class VerdictRule { kShare, kRanked };

// A judge of verdicts' reply: {"verdicts": [{"item": "...", "verdict":
// "yes" | "no", "reason": "..."}, ...]}, found as above; a verdict may also
// be a bare "yes"/"no" string or a JSON boolean, case and spaces aside.
// expected_count >= 0 asks for exactly that many verdicts (one per retrieved
// chunk, per assistant turn): another number is an error. The score is in
// [0, 1]; an empty list where the count is not fixed (the judge found no
// statement, no intention) leaves the score empty with no error: undefined,
// said in reason, and not retried. The reason lists the items judged no.
Judgement ParseVerdictsReply(std::string_view reply, VerdictRule rule, int expected_count);

// G-Eval weighting (Liu et al., 2023). From an OpenAI chat-completion response
// body with choices[0].logprobs.content = [{token, logprob, bytes,
// top_logprobs: [{token, logprob}]}...]: finds the token that carries the
// score's digits (the number after the "score" key of the object
// ParseScoreReply reads, located in the concatenated token texts) and returns
//   sum_k p_k * v_k / sum_k p_k,  p_k = exp(logprob_k),
// over its top_logprobs whose token, trimmed (or with the same text around
// the digits as the chosen token, as in ":4"), is a number v_k in [min, max].
// nullopt when the body has no logprobs, the score is not found in them or
// spans several tokens, or no candidate is valid. `reply` is the reply as
// read (the tokens are searched when they do not spell it exactly).
std::optional<double> WeightedScore(std::string_view response_body, std::string_view reply,
                                    const Scale& scale);

// The prompt of the one repair retry after an unreadable reply: the original
// prompt, the reply between "<previous_reply>" and "</previous_reply>" lines
// (its middle cut out beyond 4 KiB), and a line naming the error and asking
// for only the JSON object.
std::string RepairPrompt(std::string_view original_prompt, std::string_view bad_reply,
                         std::string_view error);

// How many leading bytes of a judge prompt (llmeval._judge_prompt,
// _pairwise_prompt) are the same for every case of its metric: the
// instructions and the criteria, through the blank line after
// "</criteria>". A provider prompt cache can hold them (Anthropic's
// cache_control); 0 when the prompt has no criteria section.
std::size_t ConstantPrefixBytes(std::string_view judge_prompt);

}  // namespace llmeval::core::judge

#include "core/cpp_only.hpp"
