-- What a provider call cost.
--
-- The workers record usage alike for every API (src/core/provider/chat.hpp):
-- input_tokens counts every input token, among them cached_input_tokens (read
-- from the provider's prompt cache) and cache_write_tokens (written to it);
-- output_tokens counts every output token, reasoning among them. Each
-- provider's billing rule then comes down to one sum:
--   OpenAI     prompt_tokens includes cached_tokens, billed at the cached
--              price; completion_tokens includes reasoning_tokens.
--   Anthropic  input_tokens excludes cache reads and writes (the worker adds
--              them to the input); reads at the cached price, writes at the
--              cache-write price (1.25 times input for the 5-minute cache);
--              thinking is within output_tokens.
--   Gemini     promptTokenCount includes cachedContentTokenCount, billed at
--              the cached price; thoughtsTokenCount is output (the worker
--              adds it to candidatesTokenCount).
-- A model without a cached or cache-write price bills those at its input
-- price: no discount assumed that its administrator did not enter.
CREATE FUNCTION llmeval._call_cost(m llmeval.models, input_tokens int, cached_input_tokens int,
                                   cache_write_tokens int, output_tokens int)
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT (greatest(coalesce(input_tokens, 0) - coalesce(cached_input_tokens, 0)
                   - coalesce(cache_write_tokens, 0), 0) * m.input_price
          + coalesce(cached_input_tokens, 0) * coalesce(m.cached_input_price, m.input_price)
          + coalesce(cache_write_tokens, 0) * coalesce(m.cache_write_price, m.input_price)
          + coalesce(output_tokens, 0) * m.output_price) / 1000000
$$;
COMMENT ON FUNCTION llmeval._call_cost(llmeval.models, int, int, int, int) IS
  'internal: a call''s cost from its usage and the model''s prices per million tokens';
