#!/usr/bin/python3
"""Reference cases for pg_llmeval's statistics (src/core/stats).

Writes test/data/stats_fixtures.json: about 60 cases computed by scipy.stats
(statistic and p-value as scipy reports them, confidence intervals where
scipy provides them) plus the columns pg_llmeval adds, computed here from
scipy's own intermediate values by the formulas the functions document.
The unit test test/unit/stats_test.cpp checks every case; with --pgtap the
script also rewrites the generated block of test/pgtap/stats.sql (the cases
marked pgtap=True), which checks the same values through SQL.

Generating needs Debian 12's python3-scipy (scipy 1.10, numpy 1.24; run it
with /usr/bin/python3). It is not a dependency of the project: the JSON is
committed.

    /usr/bin/python3 test/data/make_stats_fixtures.py [--pgtap]

Which scipy call gives each expected value:

- welch_t_test: scipy.stats.ttest_ind(a, b, equal_var=False) for statistic and
  p_value; df and the standard error from scipy's _unequal_var_ttest_denom;
  CI = mean(a) - mean(b) -/+ q * se with q the t quantile for the tail
  (1 - 0.95) / 2 (see below); effect_size = Cohen's d with the pooled SD of
  scipy's variances.
- paired_t_test: scipy.stats.ttest_rel(a, b); its .confidence_interval() with
  the quantile below; effect_size = mean(d) / sd(d), d = a - b.

  The t quantile: scipy 1.10's special.stdtrit (Cephes, behind t.ppf and
  TtestResult.confidence_interval) is accurate to only about 1e-9 relative
  (stdtrit(49, 0.975) is off by 1.3e-9), while its CDF special.stdtr is
  accurate to about 1e-15. The quantile here is stdtrit refined by Newton
  steps on stdtr with t.pdf, i.e. the root of scipy's own CDF; scipy's raw
  interval is checked to agree with it within 1e-7 of the half-width.
- mann_whitney_u: scipy.stats.mannwhitneyu(a, b, alternative='two-sided',
  method='asymptotic', use_continuity=True); z from scipy's _get_mwu_z, signed
  like U1 - n_a n_b / 2; effect_size = (U1 - U2) / (n_a n_b).
- wilcoxon_signed_rank: scipy.stats.wilcoxon(a, b, zero_method='wilcox',
  correction=False, method='approx'); z = -zstatistic when W+ > W-;
  effect_size = (W+ - W-) / (W+ + W-). scipy raises when every difference is
  zero: those cases expect NULLs.
- two_proportion_z_test: the pooled z and 2 * norm.sf(|z|), checked here
  against scipy.stats.chi2_contingency(correction=False) (chi2 = z^2, the
  same p); Wald CI with norm.isf; Cohen's h.
- bootstrap_ci: not scipy (its resampling differs): a pure-Python
  implementation of the documented algorithm (xoshiro256** seeded by
  splitmix64, Lemire's bounded integers, sums in index order, numpy's
  'linear' quantile, checked here against np.quantile). The C++ code must
  reproduce these bit for bit, which is what "the same on every platform"
  means.

Expected values that are NaN in scipy are null; infinities are the strings
"Infinity" and "-Infinity" (as Postgres prints them).
"""

import json
import math
import os
import re
import sys
import warnings

import numpy as np
import scipy
from scipy import special, stats
from scipy.stats import _mannwhitneyu, _stats_py

# scipy warns of the catastrophic cancellation in the near-constant cases;
# reproducing exactly that arithmetic is the point of those cases.
warnings.filterwarnings("ignore", message="Precision loss occurred in moment calculation")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
JSON_PATH = os.path.join(HERE, "stats_fixtures.json")
PGTAP_PATH = os.path.join(ROOT, "test", "pgtap", "stats.sql")
CONFIDENCE = 0.95
TAIL = (1 - CONFIDENCE) / 2


def num(x):
    """A float for JSON: NaN -> None, +/-inf -> "Infinity"/"-Infinity"."""
    if x is None:
        return None
    x = float(x)
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def t_quantile(df, tail):
    """The lower `tail` quantile of Student's t: stdtrit refined on stdtr."""
    q = special.stdtrit(df, tail)
    for _ in range(3):
        q = q - (special.stdtr(df, q) - tail) / stats.t.pdf(q, df)
    return q


def data(values):
    return [float(v) for v in values]


# ---- the tests -----------------------------------------------------------


def welch(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    n1, n2 = len(a), len(b)
    out = {"n_a": n1, "n_b": n2,
           "mean_a": num(np.mean(a)) if n1 else None,
           "mean_b": num(np.mean(b)) if n2 else None}
    out["mean_diff"] = num(np.mean(a) - np.mean(b)) if n1 and n2 else None
    if n1 < 2 or n2 < 2:
        out.update(statistic=None, p_value=None, effect_size=None, ci_low=None,
                   ci_high=None, df=None)
        return out
    res = stats.ttest_ind(a, b, equal_var=False)
    v1 = _stats_py._var(a, 0, ddof=1)
    v2 = _stats_py._var(b, 0, ddof=1)
    with np.errstate(all="ignore"):
        df, se = _stats_py._unequal_var_ttest_denom(v1, n1, v2, n2)
        raw_df = (v1 / n1 + v2 / n2) ** 2 / ((v1 / n1) ** 2 / (n1 - 1) + (v2 / n2) ** 2 / (n2 - 1))
        diff = np.mean(a) - np.mean(b)
        q = t_quantile(df, TAIL)
        low, high = q * se + diff, -q * se + diff
        raw_low = special.stdtrit(df, TAIL) * se + diff
        assert abs(raw_low - low) <= 1e-7 * abs(q * se) + 1e-300, (raw_low, low)
        pooled = ((n1 - 1) * v1 + (n2 - 1) * v2) / (n1 + n2 - 2)
        d = diff / np.sqrt(pooled)
    out.update(statistic=num(res.statistic), p_value=num(res.pvalue), effect_size=num(d),
               ci_low=num(low), ci_high=num(high),
               df=None if math.isnan(raw_df) else num(df))
    return out


def paired(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    n = len(a)
    out = {"n_a": n, "n_b": n}
    if n == 0:
        out.update(statistic=None, p_value=None, effect_size=None, ci_low=None, ci_high=None,
                   df=None, mean_a=None, mean_b=None, mean_diff=None)
        return out
    d = a - b
    out.update(mean_a=num(np.mean(a)), mean_b=num(np.mean(b)), mean_diff=num(np.mean(d)))
    if n < 2:
        out.update(statistic=None, p_value=None, effect_size=None, ci_low=None, ci_high=None,
                   df=None)
        return out
    with np.errstate(all="ignore"):
        res = stats.ttest_rel(a, b)
        raw = res.confidence_interval(CONFIDENCE)
        se, estimate = res._standard_error, res._estimate
        q = t_quantile(res.df, TAIL)
        low, high = q * se + estimate, -q * se + estimate
        assert abs(raw.low - low) <= 1e-7 * abs(q * se) + 1e-300, (raw.low, low)
        assert abs(raw.high - high) <= 1e-7 * abs(q * se) + 1e-300, (raw.high, high)
        dz = np.mean(d) / np.sqrt(_stats_py._var(d, 0, ddof=1))
    out.update(statistic=num(res.statistic), p_value=num(res.pvalue), effect_size=num(dz),
               ci_low=num(low), ci_high=num(high), df=num(res.df))
    return out


def mann_whitney(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    n1, n2 = len(a), len(b)
    out = {"n_a": n1, "n_b": n2, "ci_low": None, "ci_high": None}
    if n1 == 0 or n2 == 0:
        out.update(statistic=None, p_value=None, effect_size=None, z=None)
        return out
    res = stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic",
                             use_continuity=True)
    u1 = float(res.statistic)
    u2 = n1 * n2 - u1
    mu = n1 * n2 / 2
    ranks = stats.rankdata(np.concatenate([a, b]))
    with np.errstate(all="ignore"):
        z_upper = float(_mannwhitneyu._get_mwu_z(max(u1, u2), n1, n2, ranks, continuity=True))
    z = 0.0 if u1 == mu else (z_upper if u1 > mu else -z_upper)
    out.update(statistic=num(u1), p_value=num(res.pvalue), effect_size=num((u1 - u2) / (n1 * n2)),
               z=num(z))
    return out


def wilcoxon(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = a - b
    nz = d[d != 0]
    out = {"n": len(d), "n_nonzero": len(nz), "ci_low": None, "ci_high": None}
    if len(nz) == 0:
        out.update(statistic=None, p_value=None, effect_size=None, z=None, w_plus=0.0,
                   w_minus=0.0)
        try:  # scipy refuses: "zero_method 'wilcox' and 'pratt' do not work..."
            stats.wilcoxon(a, b, zero_method="wilcox", correction=False, method="approx")
            raise AssertionError("scipy accepted all-zero differences")
        except ValueError:
            pass
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Sample size too small for normal approximation."
        res = stats.wilcoxon(a, b, zero_method="wilcox", correction=False, method="approx")
    r = stats.rankdata(np.abs(nz))
    w_plus = float(np.sum(r[nz > 0]))
    w_minus = float(np.sum(r[nz < 0]))
    assert float(res.statistic) == min(w_plus, w_minus)
    zstat = float(res.zstatistic)
    z = -zstat if w_plus > w_minus else zstat
    out.update(statistic=num(res.statistic), p_value=num(res.pvalue),
               effect_size=num((w_plus - w_minus) / (w_plus + w_minus)), z=num(z),
               w_plus=w_plus, w_minus=w_minus)
    return out


def two_proportions(xa, na, xb, nb):
    out = {"prop_a": xa / na if na else None, "prop_b": xb / nb if nb else None}
    if na == 0 or nb == 0:
        out.update(statistic=None, p_value=None, effect_size=None, ci_low=None, ci_high=None,
                   prop_diff=None)
        return out
    pa, pb = xa / na, xb / nb
    diff = pa - pb
    p = (xa + xb) / (na + nb)
    se = math.sqrt(p * (1 - p) * (1 / na + 1 / nb))
    z = diff / se if se > 0 else float("nan")
    pval = 2.0 * stats.norm.sf(abs(z)) if not math.isnan(z) else float("nan")
    if not math.isnan(z):
        table = np.array([[xa, na - xa], [xb, nb - xb]])
        chi2, p_chi2, _, _ = stats.chi2_contingency(table, correction=False)
        assert math.isclose(chi2, z * z, rel_tol=1e-9), (chi2, z * z)
        assert math.isclose(p_chi2, pval, rel_tol=1e-9, abs_tol=1e-300), (p_chi2, pval)
    wald = math.sqrt(pa * (1 - pa) / na + pb * (1 - pb) / nb)
    q = stats.norm.isf(TAIL)
    out.update(statistic=num(z), p_value=num(pval),
               effect_size=2 * math.asin(math.sqrt(pa)) - 2 * math.asin(math.sqrt(pb)),
               ci_low=diff - q * wald, ci_high=diff + q * wald, prop_diff=diff)
    return out


# ---- the bootstrap, reimplemented ------------------------------------------

M64 = (1 << 64) - 1


def splitmix64(seed):
    state = seed & M64
    while True:
        state = (state + 0x9E3779B97F4A7C15) & M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        yield z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M64


class Xoshiro:
    def __init__(self, seed):
        g = splitmix64(seed)
        self.s = [next(g) for _ in range(4)]

    def next(self):
        s = self.s
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def below(self, n):
        m = self.next() * n
        low = m & M64
        if low < n:
            threshold = (1 << 64) % n
            while low < threshold:
                m = self.next() * n
                low = m & M64
        return m >> 64


def lerp(a, b, t):
    diff = b - a
    return b - diff * (1 - t) if t >= 0.5 else a + diff * t


def linear_quantile(v, q):
    h = (len(v) - 1) * q
    lo = min(int(math.floor(h)), len(v) - 1)
    hi = min(lo + 1, len(v) - 1)
    return lerp(v[lo], v[hi], h - math.floor(h))


def bootstrap(x, confidence, resamples, seed):
    x = [float(v) for v in x]
    n = len(x)
    if n == 0:
        return {"estimate": None, "ci_low": None, "ci_high": None, "resamples": resamples}
    rng = Xoshiro(seed)
    means = []
    for _ in range(resamples):
        s = 0.0
        for _ in range(n):
            s += x[rng.below(n)]
        m = s / n
        means.append(0.0 if m == 0 else m)
    means.sort()
    tail = (1 - confidence) / 2
    low, high = linear_quantile(means, tail), linear_quantile(means, 1 - tail)
    # The reimplemented quantile is numpy's, bit for bit.
    assert low == float(np.quantile(np.array(means), tail)), "lerp differs from numpy"
    assert high == float(np.quantile(np.array(means), 1 - tail)), "lerp differs from numpy"
    return {"estimate": float(np.mean(np.array(x))), "ci_low": low, "ci_high": high,
            "resamples": resamples}


# ---- the cases ---------------------------------------------------------------


def cases():
    rng = np.random.default_rng(20240611)

    def normal(n, mean=0.0, sd=1.0, digits=4):
        return np.round(rng.normal(mean, sd, n), digits)

    def lognormal(n, sigma=1.0):
        return np.round(rng.lognormal(0.0, sigma, n), 4)

    def likert(n, p=None):
        return rng.choice([1.0, 2.0, 3.0, 4.0, 5.0], size=n, p=p)

    def binary(n, p):
        return (rng.random(n) < p).astype(float)

    out = []

    def two(test, cid, a, b, pgtap=False, note=None):
        fn = {"welch_t_test": welch, "paired_t_test": paired, "mann_whitney_u": mann_whitney,
              "wilcoxon_signed_rank": wilcoxon}[test]
        case = {"id": cid, "test": test, "a": data(a), "b": data(b), "expected": fn(a, b)}
        if note:
            case["note"] = note
        if pgtap:
            case["pgtap"] = True
        out.append(case)

    # Welch's t-test.
    two("welch_t_test", "welch_small_normal", normal(5, 0.2), normal(7), pgtap=True)
    two("welch_t_test", "welch_unequal_variances", normal(30, 0.5, 1.0), normal(40, 0.0, 3.0))
    two("welch_t_test", "welch_minimum_sizes", [1.0, 2.0], [2.5, 4.5])
    two("welch_t_test", "welch_large", normal(500, 0.05), normal(450), note="n = 500 and 450")
    two("welch_t_test", "welch_skewed", lognormal(50), lognormal(80, 1.5))
    two("welch_t_test", "welch_tiny_p", normal(100, 1.8), normal(100), pgtap=True,
        note="large effect, p near 1e-30")
    two("welch_t_test", "welch_huge_effect", normal(300, 5.0), normal(300),
        note="p far below 1e-100")
    same = normal(20)
    two("welch_t_test", "welch_identical_samples", same, same.copy(), note="t = 0, p = 1")
    two("welch_t_test", "welch_likert_ties", likert(60), likert(60, [0.1, 0.1, 0.2, 0.3, 0.3]))
    two("welch_t_test", "welch_binary", binary(200, 0.7), binary(200, 0.6))
    two("welch_t_test", "welch_one_constant", [3.0] * 6, normal(8, 3.0))
    two("welch_t_test", "welch_both_constant", [1.0] * 4, [2.0] * 5, pgtap=True,
        note="zero variances: t = -inf, p = 0, df undefined")
    two("welch_t_test", "welch_both_constant_equal", [2.0] * 3, [2.0] * 4,
        note="0/0: scipy gives NaN")
    two("welch_t_test", "welch_near_constant", [0.1] * 3, [0.2] * 4,
        note="mean(0.1, 0.1, 0.1) is not 0.1 in doubles: scipy's tiny variance, huge t")
    two("welch_t_test", "welch_large_offset", normal(40, 1e6 + 0.5, 1.0, 6),
        normal(50, 1e6, 1.0, 6))
    two("welch_t_test", "welch_one_value", [1.0], [1.0, 2.0, 3.0],
        note="fewer than 2 values: NULL")

    # Paired t-test.
    base = normal(10, 5.0)
    two("paired_t_test", "paired_small", base + normal(10, 0.3), base, pgtap=True)
    base = normal(50)
    two("paired_t_test", "paired_medium", base + normal(50, 0.1, 0.5), base)
    base = normal(500, 10.0, 2.0)
    two("paired_t_test", "paired_large", base, base + normal(500, 0.05, 1.0))
    two("paired_t_test", "paired_minimum", [1.0, 2.0], [0.5, 2.5])
    base = likert(40)
    two("paired_t_test", "paired_likert_ties_zeros", base,
        np.clip(base + rng.choice([-1.0, 0.0, 0.0, 1.0], 40), 1, 5),
        note="many zero and tied differences")
    same = normal(15)
    two("paired_t_test", "paired_identical", same, same.copy(), pgtap=True,
        note="all differences 0: 0/0")
    base = np.arange(1.0, 9.0)
    two("paired_t_test", "paired_constant_difference", base, base + 1.0,
        note="zero variance of the differences: t = -inf, p = 0")
    base = np.round(rng.uniform(0, 1, 6), 3)
    two("paired_t_test", "paired_nearly_constant_difference", base + 0.1, base,
        note="differences of 0.1 up to rounding: huge t")
    base = normal(30)
    two("paired_t_test", "paired_tiny_p", base + normal(30, 3.0, 0.6), base,
        note="p near 1e-30")
    two("paired_t_test", "paired_skewed", lognormal(60), lognormal(60))
    two("paired_t_test", "paired_one_pair", [1.0], [2.0], note="fewer than 2 pairs: NULL")

    # Mann-Whitney U.
    two("mann_whitney_u", "mwu_small", normal(4), normal(5, 1.0), pgtap=True)
    two("mann_whitney_u", "mwu_likert_ties", likert(40), likert(40, [0.1, 0.1, 0.2, 0.3, 0.3]))
    same = normal(25)
    two("mann_whitney_u", "mwu_identical", same, same.copy(), note="p = 1")
    two("mann_whitney_u", "mwu_all_tied", [2.0] * 5, [2.0] * 6, pgtap=True,
        note="zero variance of U: z = -inf in scipy, p clipped to 1")
    two("mann_whitney_u", "mwu_separated", normal(90, 10.0), normal(90),
        note="complete separation, p near 1e-30")
    two("mann_whitney_u", "mwu_one_each", [1.0], [2.0])
    two("mann_whitney_u", "mwu_one_vs_ten", [0.5], normal(10))
    two("mann_whitney_u", "mwu_large", normal(500, 0.1), normal(300))
    two("mann_whitney_u", "mwu_skewed", lognormal(70), lognormal(50, 0.5))
    two("mann_whitney_u", "mwu_binary", binary(150, 0.55), binary(120, 0.4),
        note="two values only: massive ties")
    two("mann_whitney_u", "mwu_sizes_2_and_3", [1.0, 3.0], [2.0, 2.0, 4.0])
    two("mann_whitney_u", "mwu_huge_effect", normal(200, 10.0), normal(250),
        note="p far below 1e-60")

    # Wilcoxon signed-rank.
    base = normal(20)
    two("wilcoxon_signed_rank", "wilcoxon_small", base + normal(20, 0.4), base, pgtap=True)
    base = normal(100)
    two("wilcoxon_signed_rank", "wilcoxon_medium", base, base + normal(100, 0.2))
    base = normal(500)
    two("wilcoxon_signed_rank", "wilcoxon_large", base + normal(500, 0.03, 0.5), base)
    base = likert(60)
    two("wilcoxon_signed_rank", "wilcoxon_zeros_and_ties", base,
        np.clip(base + rng.choice([-2.0, -1.0, 0.0, 0.0, 0.0, 1.0], 60), 1, 5), pgtap=True,
        note="zero differences dropped, tied |d| averaged")
    two("wilcoxon_signed_rank", "wilcoxon_signed_ties", [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        [2.0, 1.0, 4.0, 3.0, 5.0, 8.0], note="+1 and -1 tie; one zero; one 2")
    same = normal(12)
    two("wilcoxon_signed_rank", "wilcoxon_all_zero", same, same.copy(), pgtap=True,
        note="scipy raises: NULLs")
    two("wilcoxon_signed_rank", "wilcoxon_one_nonzero", [1.0, 2.0, 3.0], [1.0, 2.0, 2.5])
    base = normal(180)
    two("wilcoxon_signed_rank", "wilcoxon_all_positive",
        base + np.round(rng.uniform(0.01, 2, 180), 4), base, note="every difference positive: p near 1e-30")
    two("wilcoxon_signed_rank", "wilcoxon_skewed", lognormal(80), lognormal(80))
    base = normal(7)
    two("wilcoxon_signed_rank", "wilcoxon_rounding_ties", base + 0.3, base + 0.1,
        note="differences of 0.2 that rounding makes unequal")

    # Two-proportion z-test.
    for cid, counts, pgtap, note in [
        ("prop_moderate", (45, 100, 30, 100), True, None),
        ("prop_small", (1, 10, 0, 10), False, None),
        ("prop_unequal_n", (120, 400, 45, 200), False, None),
        ("prop_large_counts", (450000, 1000000, 449000, 1000000), False, None),
        ("prop_tiny_p", (900, 1000, 500, 1000), False, "p far below 1e-30"),
        ("prop_equal", (10, 20, 10, 20), False, "z = 0, p = 1"),
        ("prop_none", (0, 50, 0, 50), True, "pooled proportion 0: z is 0/0"),
        ("prop_all", (50, 50, 30, 30), False, "pooled proportion 1: z is 0/0"),
        ("prop_empty_sample", (0, 0, 3, 5), False, "n_a = 0: NULLs"),
    ]:
        case = {"id": cid, "test": "two_proportion_z_test", "successes_a": counts[0],
                "n_a": counts[1], "successes_b": counts[2], "n_b": counts[3],
                "expected": two_proportions(*counts)}
        if pgtap:
            case["pgtap"] = True
        if note:
            case["note"] = note
        out.append(case)

    # Bootstrap.
    for cid, x, confidence, resamples, seed, pgtap in [
        ("bootstrap_one_value", [4.5], 0.95, 100, 0, False),
        ("bootstrap_likert_defaults", likert(10), 0.95, 10000, 0, True),
        ("bootstrap_normal", normal(50, 0.7), 0.9, 2000, 42, False),
        ("bootstrap_skewed_negative_seed", lognormal(200), 0.95, 1000, -1, False),
        ("bootstrap_binary", binary(30, 0.6), 0.99, 5000, 123456789, True),
        ("bootstrap_one_resample", [1.0, 2.0], 0.95, 1, 7, False),
        ("bootstrap_empty", [], 0.95, 10, 0, False),
    ]:
        case = {"id": cid, "test": "bootstrap_ci", "x": data(x), "confidence": confidence,
                "resamples": resamples, "seed": seed,
                "expected": bootstrap(x, confidence, resamples, seed)}
        if pgtap:
            case["pgtap"] = True
        out.append(case)
    return out


def generator_vectors():
    g = splitmix64(0)
    x = Xoshiro(0)
    first = [x.next() for _ in range(6)]
    below = []
    y = Xoshiro(2024)
    for rng_range in [1, 2, 3, 10, 1000003, (1 << 63) + 12345, 3 << 62]:
        below.append({"range": str(rng_range), "values": [str(y.below(rng_range)) for _ in range(5)]})
    # np.sum of x[i] = (i * 7919 % 10007) / 7.0 - 700.0, plus 1e10 where i % 3 == 0
    # (exactly computable anywhere): pins the pairwise order and the 8192-element
    # buffer chunks, which a plain loop or another order would not reproduce.
    sums = []
    for n in [1, 7, 8, 9, 100, 128, 129, 1000, 8192, 8193, 20000]:
        x = np.array([(i * 7919 % 10007) / 7.0 - 700.0 + (1e10 if i % 3 == 0 else 0.0)
                      for i in range(n)])
        sums.append({"n": n, "sum": float(np.sum(x)), "mean": float(np.mean(x))})
    return {"numpy_sums": sums,
            "splitmix64_seed_0": [str(next(g)) for _ in range(4)],
            "xoshiro256starstar_seed_0": [str(v) for v in first],
            "below_seed_2024": below}


# ---- pgTAP -------------------------------------------------------------------

BEGIN = "-- BEGIN GENERATED CASES (test/data/make_stats_fixtures.py --pgtap)"
END = "-- END GENERATED CASES"


def sql_array(values):
    if not values:
        return "'{}'::float8[]"
    return "'{" + ",".join(repr(float(v)) for v in values) + "}'::float8[]"


def sql_text(s):
    return "'" + s.replace("'", "''") + "'"


def pgtap_block(all_cases):
    chosen = [c for c in all_cases if c.get("pgtap")]
    two_sample = [c for c in chosen if "a" in c]
    props = [c for c in chosen if c["test"] == "two_proportion_z_test"]
    boots = [c for c in chosen if c["test"] == "bootstrap_ci"]
    lines = [BEGIN, "-- Representative cases of test/data/stats_fixtures.json; do not edit by hand."]
    lines.append("CREATE TEMP TABLE two_sample_cases (id text, test text, a float8[], b float8[], "
                 "expected jsonb);")
    lines.append("INSERT INTO two_sample_cases VALUES")
    rows = [f"  ({sql_text(c['id'])}, {sql_text(c['test'])},\n   {sql_array(c['a'])},\n"
            f"   {sql_array(c['b'])},\n   {sql_text(json.dumps(c['expected'], sort_keys=True))})"
            for c in two_sample]
    lines.append(",\n".join(rows) + ";")
    lines.append("CREATE TEMP TABLE proportion_cases (id text, successes_a bigint, n_a bigint, "
                 "successes_b bigint, n_b bigint, expected jsonb);")
    lines.append("INSERT INTO proportion_cases VALUES")
    rows = [f"  ({sql_text(c['id'])}, {c['successes_a']}, {c['n_a']}, {c['successes_b']}, "
            f"{c['n_b']},\n   {sql_text(json.dumps(c['expected'], sort_keys=True))})"
            for c in props]
    lines.append(",\n".join(rows) + ";")
    lines.append("CREATE TEMP TABLE bootstrap_cases (id text, x float8[], confidence float8, "
                 "resamples int, seed bigint, expected jsonb);")
    lines.append("INSERT INTO bootstrap_cases VALUES")
    rows = [f"  ({sql_text(c['id'])}, {sql_array(c['x'])}, {c['confidence']!r}, "
            f"{c['resamples']}, {c['seed']},\n   "
            f"{sql_text(json.dumps(c['expected'], sort_keys=True))})" for c in boots]
    lines.append(",\n".join(rows) + ";")
    lines.append(END)
    return "\n".join(lines), len(two_sample), len(props), len(boots)


def write_pgtap(all_cases):
    block, n_two, n_props, n_boots = pgtap_block(all_cases)
    with open(PGTAP_PATH, encoding="utf-8") as f:
        text = f.read()
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        sys.exit(f"{PGTAP_PATH}: no generated block between {BEGIN!r} and {END!r}")
    text = pattern.sub(lambda _: block, text)
    with open(PGTAP_PATH, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"{PGTAP_PATH}: {n_two} two-sample, {n_props} proportion and {n_boots} bootstrap cases")


def main():
    all_cases = cases()
    doc = {
        "generator": "test/data/make_stats_fixtures.py",
        "reference": f"scipy {scipy.__version__}, numpy {np.__version__}",
        "confidence": CONFIDENCE,
        "tolerance": {"relative": 1e-9},
        "generators": generator_vectors(),
        "cases": all_cases,
    }
    # One case per line: small diffs when a case changes.
    header = {k: v for k, v in doc.items() if k != "cases"}
    with open(JSON_PATH, "w", encoding="utf-8") as f:
        f.write(json.dumps(header, allow_nan=False)[:-1] + ', "cases": [\n')
        f.write(",\n".join(json.dumps(c, allow_nan=False) for c in all_cases))
        f.write("\n]}\n")
    counts = {}
    for c in all_cases:
        counts[c["test"]] = counts.get(c["test"], 0) + 1
    print(f"{JSON_PATH}: {len(all_cases)} cases {counts}")
    if "--pgtap" in sys.argv[1:]:
        write_pgtap(all_cases)


if __name__ == "__main__":
    main()
