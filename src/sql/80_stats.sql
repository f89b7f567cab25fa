-- Statistics for A/B comparisons of evaluation scores: two-sample tests that
-- agree with scipy.stats, and a seeded percentile bootstrap.
--
-- Every test returns one row whose first five columns are statistic,
-- p_value (two-sided), effect_size, ci_low, ci_high (a 95% interval), NULL
-- where undefined, followed by test-specific columns. A NULL array gives a
-- NULL row (STRICT); a NULL element is an error (22004), so are NaN and
-- infinite values (22000) and two-dimensional arrays (2202E). Too few
-- observations are not an error: what they leave undefined is NULL (the
-- t-tests need two values per sample or two pairs). Zero variance follows
-- scipy: a non-zero difference over a zero standard error gives statistic
-- +/-Infinity and p_value 0; no difference gives 0/0, NaN in scipy and NULL
-- here.

CREATE FUNCTION llmeval.welch_t_test(
    a float8[], b float8[],
    OUT statistic float8, OUT p_value float8, OUT effect_size float8,
    OUT ci_low float8, OUT ci_high float8, OUT df float8,
    OUT n_a bigint, OUT n_b bigint, OUT mean_a float8, OUT mean_b float8, OUT mean_diff float8)
AS 'MODULE_PATHNAME', 'llmeval_welch_t_test'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.welch_t_test(float8[], float8[]) IS
  'Welch''s t-test as scipy.stats.ttest_ind(a, b, equal_var=False): statistic t, two-sided '
  'p_value, effect_size = Cohen''s d with the pooled SD sqrt(((n_a-1)s_a^2 + (n_b-1)s_b^2) / '
  '(n_a+n_b-2)) (no Hedges correction), ci_low/ci_high = 95% CI of mean(a) - mean(b) with '
  'Welch-Satterthwaite df; NULL statistic, p_value, df, effect_size and CI when a sample has '
  'fewer than 2 values; df NULL when both variances are 0';

CREATE FUNCTION llmeval.paired_t_test(
    a float8[], b float8[],
    OUT statistic float8, OUT p_value float8, OUT effect_size float8,
    OUT ci_low float8, OUT ci_high float8, OUT df float8,
    OUT n_a bigint, OUT n_b bigint, OUT mean_a float8, OUT mean_b float8, OUT mean_diff float8)
AS 'MODULE_PATHNAME', 'llmeval_paired_t_test'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.paired_t_test(float8[], float8[]) IS
  'paired t-test as scipy.stats.ttest_rel(a, b): tests mean(a - b) = 0 with df = n - 1; '
  'effect_size = Cohen''s d_z = mean(a - b) / sd(a - b); ci_low/ci_high = 95% CI of mean(a - b); '
  'arrays of different lengths are an error (2202E); fewer than 2 pairs give NULL statistic, '
  'p_value, df, effect_size and CI';

CREATE FUNCTION llmeval.mann_whitney_u(
    a float8[], b float8[],
    OUT statistic float8, OUT p_value float8, OUT effect_size float8,
    OUT ci_low float8, OUT ci_high float8, OUT z float8, OUT n_a bigint, OUT n_b bigint)
AS 'MODULE_PATHNAME', 'llmeval_mann_whitney_u'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.mann_whitney_u(float8[], float8[]) IS
  'Mann-Whitney U as scipy.stats.mannwhitneyu(a, b, method=''asymptotic'', use_continuity=True): '
  'statistic = U of a (pairs with a > b, ties counting 1/2), normal approximation with tie-corrected '
  'variance and continuity correction; effect_size = rank-biserial correlation '
  'P(a > b) - P(a < b), positive when a tends to be larger, and z signed the same way; '
  'ci_low/ci_high are NULL; an empty sample gives NULL statistic, p_value, effect_size and z';

CREATE FUNCTION llmeval.wilcoxon_signed_rank(
    a float8[], b float8[],
    OUT statistic float8, OUT p_value float8, OUT effect_size float8,
    OUT ci_low float8, OUT ci_high float8, OUT z float8,
    OUT n bigint, OUT n_nonzero bigint, OUT w_plus float8, OUT w_minus float8)
AS 'MODULE_PATHNAME', 'llmeval_wilcoxon_signed_rank'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.wilcoxon_signed_rank(float8[], float8[]) IS
  'Wilcoxon signed-rank test as scipy.stats.wilcoxon(a, b, zero_method=''wilcox'', '
  'correction=False, method=''approx''): pairs with a - b = 0 are dropped (n_nonzero counts the '
  'rest), tied |a - b| get average ranks and the variance its tie correction; statistic = '
  'min(w_plus, w_minus), the rank sums of positive and negative differences; effect_size = '
  'matched-pairs rank-biserial (w_plus - w_minus) / (w_plus + w_minus), positive when a tends to '
  'exceed b, z signed the same way; ci_low/ci_high are NULL; no non-zero difference gives NULL '
  'statistic, p_value, effect_size and z; arrays of different lengths are an error (2202E)';

CREATE FUNCTION llmeval.two_proportion_z_test(
    successes_a bigint, n_a bigint, successes_b bigint, n_b bigint,
    OUT statistic float8, OUT p_value float8, OUT effect_size float8,
    OUT ci_low float8, OUT ci_high float8,
    OUT prop_a float8, OUT prop_b float8, OUT prop_diff float8)
AS 'MODULE_PATHNAME', 'llmeval_two_proportion_z_test'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.two_proportion_z_test(bigint, bigint, bigint, bigint) IS
  'pooled two-proportion z-test: z = (p_a - p_b) / sqrt(p(1-p)(1/n_a + 1/n_b)), two-sided p_value; '
  'effect_size = Cohen''s h = 2 asin(sqrt(p_a)) - 2 asin(sqrt(p_b)); ci_low/ci_high = Wald 95% CI '
  'of p_a - p_b (unpooled SE); statistic and p_value NULL when the pooled proportion is 0 or 1; '
  'counts outside 0 <= successes <= n are an error (22023); n = 0 gives NULLs';

CREATE FUNCTION llmeval.bootstrap_ci(
    x float8[], confidence float8 DEFAULT 0.95, resamples int DEFAULT 10000,
    seed bigint DEFAULT 0,
    OUT estimate float8, OUT ci_low float8, OUT ci_high float8, OUT resamples int)
AS 'MODULE_PATHNAME', 'llmeval_bootstrap_ci'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION llmeval.bootstrap_ci(float8[], float8, int, bigint) IS
  'percentile bootstrap CI of the mean: estimate = mean(x); resamples means of n draws with '
  'replacement from xoshiro256** seeded by seed (the same result on every platform), interval '
  'ends by linear interpolation (numpy''s default percentile); 0 < confidence < 1, 1 <= resamples '
  '<= 1000000 (else 22023); a NULL option means its default, a NULL x gives NULL; an empty x '
  'gives NULL estimate and interval';
