// TER as sacrebleu 2.6.0 computes it.
//
// sacrebleu's lib_ter follows Tercom: repeatedly find the block shift of the
// hypothesis that lowers the word edit distance to the reference the most,
// apply it, and stop when no shift helps; TER counts the shifts plus the final
// edit distance. Its results depend on details that look incidental but must
// be reproduced exactly:
//
// - The edit distance only fills a band of each matrix row around a
//   "pseudo-diagonal" (row i, column floor(i * m / n)), BEAM_WIDTH cells to each
//   side, widened for very unequal lengths; the last row is filled completely.
//   Cells outside the band count as infinite.
// - Ties between operations are broken match/substitution first, then
//   deletion of a hypothesis word, then insertion of a reference word; the
//   trace of the chosen path decides which words count as errors and how
//   reference positions align to hypothesis positions, and so which shifts
//   are tried at all.
// - Shift candidates are enumerated in a fixed order (hypothesis start,
//   reference start, length), filtered, and ranked by (gain, length, earliest
//   start, earliest target). At most MAX_SHIFT_CANDIDATES candidates are
//   evaluated over the whole search; the round that reaches the budget throws
//   its best shift away.
// - _perform_shift measures a target inside or just after the moved block in
//   coordinates after removing the block, and other targets before removing it.
//
// Speed. sacrebleu memoises matrix rows in a trie keyed by hypothesis
// prefixes; that only saves time, and we do something else. A candidate shift
// changes the current hypothesis only in a window of rows [p, q). Its rows up
// to p are the current ones. Below q both hypotheses have the same words, and
// the banded matrix is a shortest-path problem on a grid DAG, so the
// candidate's distance is min over columns j of (its row q at j) + (the cost
// from cell (q, j) to the corner), and that cost-to-go is the same for both:
// it is kept for the current hypothesis (a backward pass, `togo_`). A
// candidate then costs only its window's rows, not the whole matrix, and
// consecutive candidates with the same window start share the rows of their
// common first words (the part of sacrebleu's trie that pays off here). Words
// are dense integer ids, so comparisons are integer compares.
//
// Cost. At most about a thousand candidates are evaluated, each over at most
// n rows of about 2 * BEAM_WIDTH cells, plus one forward and one backward
// pass and a scan for shift pairs per applied shift: linear in the length
// with a large constant. The slowest inputs we found, 20,000-word texts of a
// few hundred distinct words against much shorter references (whose windows
// span most of the hypothesis), took 0.5-1 s on the 2-core CI machine;
// typical texts of that size take tens of milliseconds. kTerMaxWords keeps
// that bound.
#include "core/metrics/ter.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"
#include "core/metrics/ngram_index.hpp"
#include "core/metrics/options_json.hpp"
#include "core/text/unicode.hpp"
#include "core/text/utf8.hpp"

namespace llmeval::core::metrics {

namespace {

// sacrebleu's lib_ter constants.
constexpr int32_t kMaxShiftSize = 10;
constexpr int32_t kMaxShiftDist = 50;
constexpr int32_t kBeamWidth = 25;
constexpr int64_t kMaxShiftCandidates = 1000;

// sacrebleu uses int(1e16). Every cell inside a band is reachable with a
// finite cost below n + m + 2, so any sentinel above that (with room for
// adding two of them) compares the same way.
constexpr int32_t kInf = int32_t{1} << 29;

// Beyond this the int32 costs and indices could overflow; the public entry
// points stop far earlier at kTerMaxWords.
constexpr std::size_t kEngineMaxWords = std::size_t{1} << 24;

// Operations in sacrebleu's orientation: rows are hypothesis words, columns
// reference words. kDel consumes a hypothesis word, kIns a reference word.
enum Op : uint8_t { kNop, kSub, kDel, kIns, kUndef };

struct Band {
  int32_t lo;          // first column stored
  int32_t hi;          // one past the last column stored
  std::size_t offset;  // of column lo in the flat arrays
};

// dst[k] = the banded row `src` at column first + k, for k < count; kInf
// outside its band. Lets the row loops run without bounds checks.
void LoadBand(const Band& band, const int32_t* src, int32_t first, int32_t count, int32_t* dst) {
  const int32_t from = std::max(first, band.lo);
  const int32_t to = std::min(first + count, band.hi);
  if (from >= to) {
    std::fill(dst, dst + count, kInf);
    return;
  }
  std::fill(dst, dst + (from - first), kInf);
  std::copy(src + (from - band.lo), src + (to - band.lo), dst + (from - first));
  std::fill(dst + (to - first), dst + count, kInf);
}

// Costs of columns [j, hi) of row i from a[k] = row i-1 at column lo - 1 + k.
// sacrebleu keeps the first strictly smaller of diagonal, deletion and
// insertion starting from infinity, i.e. min(kInf, diag, up, left + 1).
// Written as u = cell - column, the chain through the left neighbour is a
// running minimum, one dependent min per cell; capping at kInf once per cell
// at the end gives the same values. Kept out of line so its loop stays in
// registers: candidate evaluation spends most of its time here.
[[gnu::noinline]] void RowCostKernel(const int32_t* a, const uint32_t* ref, uint32_t word,
                                     int32_t lo, int32_t j, int32_t hi, int32_t left,
                                     int32_t* cur) {
  int32_t u = left - (j - 1);
  for (; j < hi; ++j) {
    const int32_t k = j - lo + 1;
    const int32_t t = std::min(a[k - 1] + static_cast<int32_t>(word != ref[j - 1]), a[k] + 1);
    u = std::min(u, t - j);
    cur[k - 1] = std::min(u + j, kInf);
  }
}

// Buffers live in a thread_local workspace for the life of a backend; one
// huge input should not pin megabytes there afterwards.
template <typename Container>
void FreeIfLarge(Container& c) {
  if (c.capacity() > (std::size_t{1} << 20)) Container().swap(c);
}

class TerEngine {
 public:
  int64_t Run(const std::vector<uint32_t>& hypothesis, const std::vector<uint32_t>& reference);

  void ReleaseIfLarge() {
    FreeIfLarge(cost_);
    FreeIfLarge(cand_cost_);
    FreeIfLarge(ops_);
    FreeIfLarge(togo_);
  }

 private:
  struct Shift {
    int32_t start = 0;
    int32_t length = 0;
    int32_t target = 0;
  };

  void Layout();
  const Band& band(int32_t i) const { return bands_[static_cast<std::size_t>(i)]; }
  const int32_t* LoadAbove(int32_t i, const int32_t* prev);
  void ForwardRow(int32_t i, const int32_t* prev, int32_t* cur, uint8_t* ops, uint32_t word);
  void ComputeForward(int32_t from_row);
  void ComputeToGo(int32_t from_row);
  int32_t CurrentDistance() const {
    return cost_[band(n_).offset + static_cast<std::size_t>(m_ - band(n_).lo)];
  }
  void AlignFromTrace();
  // Writes the shifted hypothesis into `out` over the window it changes,
  // returned as [p, q); outside it `out` must already equal words_.
  static void ApplyShift(const std::vector<uint32_t>& words, const Shift& s,
                         std::vector<uint32_t>& out, int32_t& p, int32_t& q);
  int32_t CandidateDistance(int32_t p, int32_t q);
  int32_t HypErrors(int32_t start, int32_t len) const {
    return hyp_err_sum_[static_cast<std::size_t>(start + len)] -
           hyp_err_sum_[static_cast<std::size_t>(start)];
  }
  int32_t RefErrors(int32_t start, int32_t len) const {
    return ref_err_sum_[static_cast<std::size_t>(start + len)] -
           ref_err_sum_[static_cast<std::size_t>(start)];
  }
  bool FindBestShift(int32_t current, int64_t& checked, Shift& best, int32_t& best_gain);

  const uint32_t* ref_ = nullptr;
  int32_t n_ = 0;                   // hypothesis words (constant: shifts keep the length)
  int32_t m_ = 0;                   // reference words
  std::vector<Band> bands_;         // rows 0..n
  std::vector<int32_t> cost_;       // the current hypothesis's banded matrix
  std::vector<uint8_t> ops_;        // and the operation chosen in each cell
  std::vector<int32_t> togo_;       // cost from each cell to the corner (n, m)
  std::vector<int32_t> cand_cost_;  // rows of the last candidates evaluated
  // cand_cost_ rows cache_row_+1 .. cache_row_+cache_words_.size() belong to
  // the candidate whose words from cache_row_ on were cache_words_; consecutive
  // candidates often share a start and the first words of their window.
  int32_t cache_row_ = -1;
  std::vector<uint32_t> cache_words_;
  std::vector<int32_t> scratch_;     // a neighbouring row over a row's columns
  std::vector<uint32_t> words_;      // the current hypothesis
  std::vector<uint32_t> candidate_;  // equals words_ outside a window
  std::vector<uint8_t> trace_;
  // Reference position -> hypothesis position, and prefix sums of the error
  // flags of both sides, from the current hypothesis's trace.
  std::vector<int32_t> align_;
  std::vector<int32_t> hyp_err_sum_, ref_err_sum_;
};

void TerEngine::Layout() {
  // Each stored row has one padding cell on either side, kept at kInf in the
  // cost arrays, so a row can read its predecessor in place (see LoadAbove).
  bands_.resize(static_cast<std::size_t>(n_) + 1);
  bands_[0] = Band{0, m_ + 1, 1};
  std::size_t total = static_cast<std::size_t>(m_) + 3;
  // Python: len(ref) / len(hyp) as a float, and floor(i * ratio) per row;
  // the same double operations give the same columns.
  const double ratio = n_ > 0 ? static_cast<double>(m_) / static_cast<double>(n_) : 1.0;
  const int32_t beam =
      kBeamWidth < ratio / 2 ? static_cast<int32_t>(std::ceil(ratio / 2 + kBeamWidth)) : kBeamWidth;
  for (int32_t i = 1; i <= n_; ++i) {
    const auto diag = static_cast<int64_t>(std::floor(static_cast<double>(i) * ratio));
    const auto lo = static_cast<int32_t>(std::max<int64_t>(0, diag - beam));
    auto hi = static_cast<int32_t>(std::min<int64_t>(m_ + 1, diag + beam));
    if (i == n_) hi = m_ + 1;
    bands_[static_cast<std::size_t>(i)] = Band{lo, hi, total + 1};
    total += static_cast<std::size_t>(hi - lo) + 2;
  }
  // Every cell inside a band is written before it is read (ForwardRow and
  // RowCostKernel fill whole rows in order, ComputeToGo reads the row below
  // through LoadBand, the trace reads ops_ inside bands only); only the
  // padding cells around each row of cost_ and cand_cost_ are read as they
  // are, by LoadAbove. So only those are set: filling all four arrays was
  // 10% of TER. The arrays only grow (a grow zero-fills).
  for (auto* v : {&cost_, &cand_cost_, &togo_})
    if (v->size() < total) v->resize(total);
  if (ops_.size() < total) ops_.resize(total);
  for (const Band& b : bands_) {
    const std::size_t width = static_cast<std::size_t>(b.hi - b.lo);
    cost_[b.offset - 1] = cand_cost_[b.offset - 1] = kInf;
    cost_[b.offset + width] = cand_cost_[b.offset + width] = kInf;
  }
  // Row 0: insert the first j reference words.
  for (int32_t j = 0; j <= m_; ++j) {
    cost_[static_cast<std::size_t>(j) + 1] = j;
    ops_[static_cast<std::size_t>(j) + 1] = kIns;
  }
  std::size_t widest = 0;
  for (const Band& b : bands_) widest = std::max(widest, static_cast<std::size_t>(b.hi - b.lo));
  scratch_.resize(widest + 1);
  cache_row_ = -1;
}

// a[k] = row i-1 at column lo - 1 + k of row i, for k <= hi - lo, kInf
// outside row i-1's band. While the band moves by at most one column per row
// (always, unless the reference is longer than the hypothesis) that is the
// stored row itself with its padding; otherwise it is copied.
const int32_t* TerEngine::LoadAbove(int32_t i, const int32_t* prev) {
  const Band& pb = band(i - 1);
  const Band& b = band(i);
  if (b.hi <= pb.hi + 1) return prev + (b.lo - 1 - pb.lo);
  LoadBand(pb, prev, b.lo - 1, b.hi - b.lo + 1, scratch_.data());
  return scratch_.data();
}

// Row i from row i-1, with the operation of each cell. Column 0 is always a
// deletion, even from an infinite cell.
void TerEngine::ForwardRow(int32_t i, const int32_t* prev, int32_t* cur, uint8_t* ops,
                           uint32_t word) {
  const Band& b = band(i);
  const int32_t* a = LoadAbove(i, prev);
  int32_t j = b.lo;
  int32_t left = kInf;  // column lo - 1 of this row is outside the band
  if (j == 0) {
    left = a[1] + 1;
    cur[0] = left;
    ops[0] = kDel;
    ++j;
  }
  for (; j < b.hi; ++j) {
    const int32_t k = j - b.lo + 1;
    const bool match = word == ref_[j - 1];
    int32_t best = kInf;
    uint8_t op = kUndef;
    const int32_t diag = a[k - 1] + (match ? 0 : 1);
    if (best > diag) {
      best = diag;
      op = match ? kNop : kSub;
    }
    const int32_t up = a[k] + 1;
    if (best > up) {
      best = up;
      op = kDel;
    }
    if (best > left + 1) {
      best = left + 1;
      op = kIns;
    }
    cur[k - 1] = best;
    ops[k - 1] = op;
    left = best;
  }
}

void TerEngine::ComputeForward(int32_t from_row) {
  for (int32_t i = from_row + 1; i <= n_; ++i) {
    const Band& b = band(i);
    ForwardRow(i, cost_.data() + band(i - 1).offset, cost_.data() + b.offset,
               ops_.data() + b.offset, words_[static_cast<std::size_t>(i) - 1]);
  }
}

// togo_ rows from_row down to 0: the cheapest path from a cell to (n, m)
// through in-band cells, moving right (insertion, 1), down (deletion, 1) or
// diagonally (0 on a match, else 1): the same edges the forward recurrence
// uses, walked backwards.
void TerEngine::ComputeToGo(int32_t from_row) {
  if (from_row >= n_) {
    const Band& b = band(n_);
    for (int32_t j = b.lo; j <= m_; ++j)
      togo_[b.offset + static_cast<std::size_t>(j - b.lo)] = m_ - j;
    from_row = n_ - 1;
  }
  for (int32_t i = from_row; i >= 0; --i) {
    const Band& b = band(i);
    const Band& nb = band(i + 1);
    int32_t* below = scratch_.data();  // below[k]: row i+1 at column lo + k
    LoadBand(nb, togo_.data() + nb.offset, b.lo, b.hi - b.lo + 1, below);
    int32_t* cur = togo_.data() + b.offset;
    const uint32_t word = words_[static_cast<std::size_t>(i)];
    int32_t right = kInf;  // column hi lies outside the band
    for (int32_t j = b.hi - 1; j >= b.lo; --j) {
      const int32_t k = j - b.lo;
      int32_t v = std::min(below[k] + 1, right + 1);
      if (j < m_) v = std::min(v, below[k + 1] + static_cast<int32_t>(word != ref_[j]));
      v = std::min(v, kInf);
      cur[k] = v;
      right = v;
    }
  }
}

// sacrebleu backtracks the operations, flips insertions and deletions to read
// them as rewriting the reference into the hypothesis, and derives which
// positions are errors and where each reference word lands in the hypothesis.
void TerEngine::AlignFromTrace() {
  trace_.clear();
  int32_t i = n_;
  int32_t j = m_;
  while (i > 0 || j > 0) {
    const Band& b = band(i);
    const uint8_t op = j >= b.lo && j < b.hi ? ops_[b.offset + static_cast<std::size_t>(j - b.lo)]
                                             : static_cast<uint8_t>(kUndef);
    trace_.push_back(op);
    if (op == kNop || op == kSub) {
      --i;
      --j;
    } else if (op == kIns) {
      --j;
    } else if (op == kDel) {
      --i;
    } else {
      // sacrebleu raises here; consecutive bands overlap, so it cannot happen.
      throw Error(ErrorKind::kInternal, "ter: backtrace left the beam");
    }
  }
  align_.assign(static_cast<std::size_t>(m_), -1);
  hyp_err_sum_.assign(static_cast<std::size_t>(n_) + 1, 0);
  ref_err_sum_.assign(static_cast<std::size_t>(m_) + 1, 0);
  int32_t pos_hyp = -1;
  int32_t pos_ref = -1;
  for (auto it = trace_.rbegin(); it != trace_.rend(); ++it) {
    switch (*it) {
      case kNop:
      case kSub: {
        const int32_t err = *it == kSub ? 1 : 0;
        ++pos_hyp;
        ++pos_ref;
        align_[static_cast<std::size_t>(pos_ref)] = pos_hyp;
        hyp_err_sum_[static_cast<std::size_t>(pos_hyp) + 1] = err;
        ref_err_sum_[static_cast<std::size_t>(pos_ref) + 1] = err;
        break;
      }
      case kDel:  // an extra hypothesis word
        ++pos_hyp;
        hyp_err_sum_[static_cast<std::size_t>(pos_hyp) + 1] = 1;
        break;
      default:  // kIns: a reference word missing from the hypothesis
        ++pos_ref;
        align_[static_cast<std::size_t>(pos_ref)] = pos_hyp;
        ref_err_sum_[static_cast<std::size_t>(pos_ref) + 1] = 1;
        break;
    }
  }
  for (std::size_t k = 1; k < hyp_err_sum_.size(); ++k) hyp_err_sum_[k] += hyp_err_sum_[k - 1];
  for (std::size_t k = 1; k < ref_err_sum_.size(); ++k) ref_err_sum_[k] += ref_err_sum_[k - 1];
}

// The three cases of sacrebleu's _perform_shift.
void TerEngine::ApplyShift(const std::vector<uint32_t>& words, const Shift& s,
                           std::vector<uint32_t>& out, int32_t& p, int32_t& q) {
  const auto w = words.begin();
  const int32_t n = static_cast<int32_t>(words.size());
  const int32_t start = s.start;
  const int32_t len = s.length;
  const int32_t target = s.target;
  if (target < start) {
    p = target;
    q = start + len;
    auto o = std::copy(w + start, w + start + len, out.begin() + target);
    std::copy(w + target, w + start, o);
  } else if (target > start + len) {
    p = start;
    q = target;
    auto o = std::copy(w + start + len, w + target, out.begin() + start);
    std::copy(w + start, w + start + len, o);
  } else {
    // The target counts positions after the block is taken out; Python's
    // slicing clamps words[start + len : len + target] at the end.
    p = start;
    q = std::min(len + target, n);
    auto o = std::copy(w + start + len, w + q, out.begin() + start);
    std::copy(w + start, w + start + len, o);
  }
}

// The edit distance of candidate_, which equals words_ outside [p, q): its
// own rows p+1..q (reusing those the previous candidate had in common), then
// joined to the current hypothesis's cost-to-go at row q.
int32_t TerEngine::CandidateDistance(int32_t p, int32_t q) {
  int32_t reuse = 0;
  if (cache_row_ == p) {
    const auto limit = std::min(static_cast<std::size_t>(q - p), cache_words_.size());
    const auto first = candidate_.begin() + p;
    reuse = static_cast<int32_t>(
        std::mismatch(first, first + static_cast<std::ptrdiff_t>(limit), cache_words_.begin())
            .first -
        first);
  }
  for (int32_t i = p + 1 + reuse; i <= q; ++i) {
    const Band& b = band(i);
    const int32_t* prev = (i - 1 == p ? cost_.data() : cand_cost_.data()) + band(i - 1).offset;
    const int32_t* a = LoadAbove(i, prev);
    int32_t* cur = cand_cost_.data() + b.offset;
    int32_t j = b.lo;
    int32_t left = kInf;  // column lo - 1 of this row is outside the band
    if (j == 0) {
      left = a[1] + 1;  // column 0 is a deletion even from infinity
      cur[0] = left;
      ++j;
    }
    RowCostKernel(a, ref_, candidate_[static_cast<std::size_t>(i) - 1], b.lo, j, b.hi, left, cur);
  }
  cache_row_ = p;
  cache_words_.assign(candidate_.begin() + p, candidate_.begin() + q);

  const Band& b = band(q);
  const int32_t* row = cand_cost_.data() + b.offset;
  const int32_t* togo = togo_.data() + b.offset;
  int32_t best = kInf;
  for (int32_t k = 0; k < b.hi - b.lo; ++k) best = std::min(best, row[k] + togo[k]);
  return best;
}

// One call of sacrebleu's _shift. Returns whether a candidate was evaluated.
bool TerEngine::FindBestShift(int32_t current, int64_t& checked, Shift& best, int32_t& best_gain) {
  bool found = false;
  candidate_ = words_;
  for (int32_t sh = 0; sh < n_; ++sh) {
    // Every length would fail the "hypothesis has an error" filter.
    if (HypErrors(sh, std::min(kMaxShiftSize, n_ - sh)) == 0) continue;
    const int32_t r_begin = std::max(0, sh - kMaxShiftDist);
    const int32_t r_end = std::min(m_ - 1, sh + kMaxShiftDist);
    const uint32_t first = words_[static_cast<std::size_t>(sh)];
    for (int32_t sr = r_begin; sr <= r_end; ++sr) {
      if (ref_[sr] != first) continue;
      int32_t run = 1;
      while (run < kMaxShiftSize && sh + run < n_ && sr + run < m_ &&
             words_[static_cast<std::size_t>(sh + run)] == ref_[sr + run])
        ++run;
      const int32_t aligned = align_[static_cast<std::size_t>(sr)];
      for (int32_t len = 1; len <= run; ++len) {
        if (HypErrors(sh, len) == 0) continue;
        if (RefErrors(sr, len) == 0) continue;
        // Do not shift a block onto its own alignment.
        if (sh <= aligned && aligned < sh + len) continue;
        int32_t prev_target = -1;
        for (int32_t offset = -1; offset < len; ++offset) {
          const int32_t target =
              sr + offset == -1 ? 0 : align_[static_cast<std::size_t>(sr + offset)] + 1;
          if (target == prev_target) continue;
          prev_target = target;
          const Shift shift{sh, len, target};
          int32_t p = 0;
          int32_t q = 0;
          ApplyShift(words_, shift, candidate_, p, q);
          const int32_t gain = current - CandidateDistance(p, q);
          std::copy(words_.begin() + p, words_.begin() + q, candidate_.begin() + p);
          ++checked;
          // sacrebleu's tuple order (gain, length, -start, -target); equal
          // tuples are the same shift, so the first one found is kept.
          const bool better = !found || gain > best_gain ||
                              (gain == best_gain &&
                               (len > best.length ||
                                (len == best.length &&
                                 (sh < best.start || (sh == best.start && target < best.target)))));
          if (better) {
            found = true;
            best = shift;
            best_gain = gain;
          }
        }
        if (checked >= kMaxShiftCandidates) return found;
      }
    }
  }
  return found;
}

int64_t TerEngine::Run(const std::vector<uint32_t>& hypothesis,
                       const std::vector<uint32_t>& reference) {
  if (hypothesis.size() > kEngineMaxWords || reference.size() > kEngineMaxWords)
    throw Error(ErrorKind::kProgramLimitExceeded, "input too long for ter");
  if (reference.empty()) return static_cast<int64_t>(hypothesis.size());
  ref_ = reference.data();
  n_ = static_cast<int32_t>(hypothesis.size());
  m_ = static_cast<int32_t>(reference.size());
  words_ = hypothesis;
  Layout();
  ComputeForward(0);
  ComputeToGo(n_);

  int64_t shifts = 0;
  int64_t checked = 0;
  for (;;) {
    const int32_t current = CurrentDistance();
    AlignFromTrace();
    Shift best;
    int32_t gain = 0;
    const bool found = FindBestShift(current, checked, best, gain);
    if (checked >= kMaxShiftCandidates) break;  // the budget's last round is discarded
    if (!found || gain <= 0) break;
    int32_t p = 0;
    int32_t q = 0;
    candidate_ = words_;
    ApplyShift(words_, best, candidate_, p, q);
    words_.swap(candidate_);
    ComputeForward(p);
    ComputeToGo(q - 1);
    cache_row_ = -1;
    ++shifts;
  }
  return shifts + CurrentDistance();
}

// Tokenization: sacrebleu's TER._preprocess_segment, i.e. TercomTokenizer on
// sent.rstrip(), then str.split().

bool IsDigit(char32_t c) { return c >= U'0' && c <= U'9'; }

void ReplaceAll(std::u32string& s, std::u32string_view from, std::u32string_view to) {
  std::u32string out;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t hit = s.find(from.data(), pos, from.size());
    if (hit == std::u32string::npos) break;
    out.append(s, pos, hit - pos);
    out.append(to);
    pos = hit + from.size();
  }
  if (pos == 0) return;
  out.append(s, pos, std::u32string::npos);
  s.swap(out);
}

// [{-~[-` -&(-+:-@/]: ASCII punctuation and space, except ' , - .
bool IsTercomPunct(char32_t c) {
  return (c >= 0x7B && c <= 0x7E) || (c >= 0x5B && c <= 0x60) || (c >= 0x20 && c <= 0x26) ||
         (c >= 0x28 && c <= 0x2B) || (c >= 0x3A && c <= 0x40) || c == U'/';
}

// tokenizer_ter's ASIAN_PUNCT and FULL_WIDTH_PUNCT.
bool IsAsianPunct(char32_t c) {
  return c == 0x3001 || c == 0x3002 || (c >= 0x3008 && c <= 0x3011) ||
         (c >= 0x3014 && c <= 0x301F) || (c >= 0xFF61 && c <= 0xFF65) || c == 0x30FB;
}
bool IsFullWidthPunct(char32_t c) {
  return c == 0xFF0E || c == 0xFF0C || c == 0xFF1F || c == 0xFF1A || c == 0xFF1B || c == 0xFF01 ||
         c == 0xFF02 || c == 0xFF08 || c == 0xFF09;
}

// Characters _normalize_asian puts spaces around.
bool IsAsianSplit(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x31C0 && c <= 0x31EF) || (c >= 0x2E80 && c <= 0x2EFF) ||
         (c >= 0x3300 && c <= 0x33FF) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0x3200 && c <= 0x3F22) || IsAsianPunct(c) ||
         IsFullWidthPunct(c);
}

// A two-character regex substitution, scanned left to right without overlap
// as re.sub does.
template <typename Match, typename Emit>
void SubstitutePairs(std::u32string& s, Match match, Emit emit) {
  std::u32string out;
  out.reserve(s.size() + s.size() / 4);
  std::size_t i = 0;
  while (i < s.size()) {
    if (i + 1 < s.size() && match(s[i], s[i + 1])) {
      emit(out, s[i], s[i + 1]);
      i += 2;
    } else {
      out.push_back(s[i++]);
    }
  }
  s.swap(out);
}

// _normalize_general_and_western, then _normalize_asian.
void NormalizeTercom(std::u32string& s, bool asian) {
  SubstitutePairs(
      s, [](char32_t a, char32_t b) { return a == U'\n' && b == U'-'; },
      [](std::u32string&, char32_t, char32_t) {});
  std::replace(s.begin(), s.end(), U'\n', U' ');
  ReplaceAll(s, U"&quot;", U"\"");
  ReplaceAll(s, U"&amp;", U"&");
  ReplaceAll(s, U"&lt;", U"<");
  ReplaceAll(s, U"&gt;", U">");
  s.insert(s.begin(), U' ');
  s.push_back(U' ');
  {
    std::u32string out;
    out.reserve(s.size() * 2);
    for (char32_t c : s) {
      if (IsTercomPunct(c)) {
        out.push_back(U' ');
        out.push_back(c);
        out.push_back(U' ');
      } else {
        out.push_back(c);
      }
    }
    s.swap(out);
  }
  ReplaceAll(s, U"'s ", U" 's ");
  // sacrebleu's r"'s$" can never match: the text ends with padding spaces and
  // has no newline left for $ to stop before.
  SubstitutePairs(
      s, [](char32_t a, char32_t b) { return !IsDigit(a) && (b == U'.' || b == U','); },
      [](std::u32string& out, char32_t a, char32_t b) {
        out.push_back(a);
        out.push_back(U' ');
        out.push_back(b);
        out.push_back(U' ');
      });
  SubstitutePairs(
      s, [](char32_t a, char32_t b) { return (a == U'.' || a == U',') && !IsDigit(b); },
      [](std::u32string& out, char32_t a, char32_t b) {
        out.push_back(U' ');
        out.push_back(a);
        out.push_back(U' ');
        out.push_back(b);
      });
  SubstitutePairs(
      s, [](char32_t a, char32_t b) { return IsDigit(a) && b == U'-'; },
      [](std::u32string& out, char32_t a, char32_t b) {
        out.push_back(a);
        out.push_back(U' ');
        out.push_back(b);
        out.push_back(U' ');
      });
  if (asian) {
    // Every pass of _normalize_asian surrounds single characters with spaces,
    // so for the words that come out one pass over their union is the same.
    // Its Hiragana/Katakana passes anchor on ^ in a text that starts with a
    // space and never match.
    std::u32string out;
    out.reserve(s.size());
    for (char32_t c : s) {
      if (IsAsianSplit(c)) {
        out.push_back(U' ');
        out.push_back(c);
        out.push_back(U' ');
      } else {
        out.push_back(c);
      }
    }
    s.swap(out);
  }
}

void RemovePunct(std::u32string& s, bool asian) {
  auto drop = [asian](char32_t c) {
    switch (c) {
      case U'.':
      case U',':
      case U'?':
      case U':':
      case U';':
      case U'!':
      case U'"':
      case U'(':
      case U')':
        return true;
      default:
        return asian && (IsAsianPunct(c) || IsFullWidthPunct(c));
    }
  };
  s.erase(std::remove_if(s.begin(), s.end(), drop), s.end());
}

struct TerWorkspace {
  std::string hyp_text;
  std::vector<std::string> ref_texts;
  std::u32string chars;
  std::vector<std::string_view> hyp_words;
  std::vector<std::vector<std::string_view>> ref_words;
  TokenIds tokens;
  std::vector<uint32_t> hyp_ids;
  std::vector<std::vector<uint32_t>> ref_ids;
  TerEngine engine;

  void ReleaseIfLarge() {
    FreeIfLarge(hyp_text);
    for (auto& t : ref_texts) FreeIfLarge(t);
    FreeIfLarge(chars);
    FreeIfLarge(hyp_words);
    for (auto& w : ref_words) FreeIfLarge(w);
    if (tokens.size() > (std::size_t{1} << 16)) tokens = TokenIds();
    FreeIfLarge(hyp_ids);
    for (auto& ids : ref_ids) FreeIfLarge(ids);
    engine.ReleaseIfLarge();
  }
};

// Runs ReleaseIfLarge however the call ends, the limit error included.
struct ReleaseOnExit {
  TerWorkspace& ws;
  ~ReleaseOnExit() { ws.ReleaseIfLarge(); }
};

TerWorkspace& Workspace() {
  thread_local TerWorkspace workspace;
  return workspace;
}

void Preprocess(std::string_view sent, const TerOptions& options, TerWorkspace& ws,
                std::string& out) {
  sent = text::RstripPython(sent);
  out.clear();
  if (sent.empty()) return;
  if (!options.case_sensitive) {
    text::PyLowerInto(sent, out);
  } else if (text::IsAscii(sent)) {
    out.assign(sent);
  } else {
    // Re-encode so that malformed bytes become U+FFFD, as on the lowercase path.
    out.reserve(sent.size());
    for (std::size_t pos = 0; pos < sent.size();)
      text::AppendUtf8(out, text::DecodeUtf8(sent, pos));
  }
  if (!options.normalized && !options.no_punct) return;
  ws.chars.clear();
  text::DecodeUtf8All(out, ws.chars);
  if (options.normalized) NormalizeTercom(ws.chars, options.asian_support);
  if (options.no_punct) RemovePunct(ws.chars, options.asian_support);
  out.clear();
  for (char32_t c : ws.chars) text::AppendUtf8(out, c);
}

void Intern(const std::vector<std::string_view>& words, TokenIds& tokens,
            std::vector<uint32_t>& ids) {
  ids.clear();
  ids.reserve(words.size());
  for (std::string_view word : words) ids.push_back(tokens.Intern(word));
}

}  // namespace

int64_t TerEditsForIds(const std::vector<uint32_t>& hypothesis,
                       const std::vector<uint32_t>& reference) {
  TerEngine engine;
  return engine.Run(hypothesis, reference);
}

TerStats TerSegmentStats(std::string_view candidate,
                         const std::vector<std::string_view>& references,
                         const TerOptions& options) {
  if (references.empty())
    throw Error(ErrorKind::kInvalidParameterValue, "at least one reference is required");
  TerWorkspace& ws = Workspace();
  const ReleaseOnExit release{ws};

  // Every reference counts, empty ones included (sacrebleu 2.6.0).
  std::size_t used = 0;
  for (std::string_view reference : references) {
    if (ws.ref_texts.size() <= used) ws.ref_texts.emplace_back();
    Preprocess(reference, options, ws, ws.ref_texts[used]);
    ++used;
  }
  Preprocess(candidate, options, ws, ws.hyp_text);

  // The texts are final: the word views into them stay valid.
  ws.hyp_words.clear();
  text::SplitPythonWhitespace(ws.hyp_text, ws.hyp_words);
  if (ws.ref_words.size() < used) ws.ref_words.resize(used);
  for (std::size_t k = 0; k < used; ++k) {
    ws.ref_words[k].clear();
    text::SplitPythonWhitespace(ws.ref_texts[k], ws.ref_words[k]);
    if (ws.hyp_words.size() > kTerMaxWords || ws.ref_words[k].size() > kTerMaxWords)
      throw Error(ErrorKind::kProgramLimitExceeded, "input too long for ter",
                  "The candidate has " + std::to_string(ws.hyp_words.size()) +
                      " words and a reference has " + std::to_string(ws.ref_words[k].size()) +
                      "; the limit is " + std::to_string(kTerMaxWords) + " words per text.");
  }

  ws.tokens.Clear();
  Intern(ws.hyp_words, ws.tokens, ws.hyp_ids);
  if (ws.ref_ids.size() < used) ws.ref_ids.resize(used);
  for (std::size_t k = 0; k < used; ++k) Intern(ws.ref_words[k], ws.tokens, ws.ref_ids[k]);

  // sacrebleu: the fewest edits over the references (the first on ties, which
  // does not matter for a count) and the mean reference length.
  int64_t best_edits = 0;
  int64_t ref_words = 0;
  for (std::size_t k = 0; k < used; ++k) {
    const int64_t edits = ws.engine.Run(ws.hyp_ids, ws.ref_ids[k]);
    if (k == 0 || edits < best_edits) best_edits = edits;
    ref_words += static_cast<int64_t>(ws.ref_ids[k].size());
  }
  TerStats stats;
  stats.num_edits = static_cast<double>(best_edits);
  stats.ref_length = static_cast<double>(ref_words) / static_cast<double>(used);
  return stats;
}

void TerStatsAdd(TerStats& into, const TerStats& from) {
  into.num_edits += from.num_edits;
  into.ref_length += from.ref_length;
}

double TerFromStats(const TerStats& stats) {
  double rate;
  if (stats.ref_length > 0) {
    rate = stats.num_edits / stats.ref_length;
  } else if (stats.num_edits > 0) {
    rate = 1.0;  // empty reference(s), non-empty hypothesis
  } else {
    rate = 0.0;  // both empty
  }
  // sacrebleu scales after dividing: 100 * (2 / 3), not 200 / 3.
  return 100 * rate;
}

double SentenceTer(std::string_view candidate, const std::vector<std::string_view>& references,
                   const TerOptions& options) {
  return TerFromStats(TerSegmentStats(candidate, references, options));
}

TerOptions ParseTerOptionsJson(std::string_view json) {
  static const std::string kMetric = "TER";
  TerOptions options;
  const nlohmann::json object = ParseOptionsObject(json, kMetric);
  for (const auto& [key, value] : object.items()) {
    if (key == "normalized") {
      options.normalized = BoolOption(value, kMetric, key);
    } else if (key == "no_punct") {
      options.no_punct = BoolOption(value, kMetric, key);
    } else if (key == "asian_support") {
      options.asian_support = BoolOption(value, kMetric, key);
    } else if (key == "case_sensitive") {
      options.case_sensitive = BoolOption(value, kMetric, key);
    } else {
      ThrowUnknownOption(kMetric, key, "normalized, no_punct, asian_support and case_sensitive");
    }
  }
  return options;
}

}  // namespace llmeval::core::metrics
