-- The evaluation data model. Administrators own providers, models and
-- secrets; everything else belongs to a tenant (column tenant, defaulting to
-- llmeval.current_tenant(), checked by row-level security). A child row's
-- foreign key includes the tenant, (parent_id, tenant): foreign keys ignore
-- row-level security, so a key on the id alone would let a row point into
-- another tenant's data. Versions of
-- prompts and datasets, and test cases, are immutable: a job pins the
-- versions it used, so its results stay reproducible.

-- Providers: an API endpoint and how to authenticate to it.
CREATE TABLE llmeval.providers (
  id          serial PRIMARY KEY,
  name        text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]*$'),
  kind        text NOT NULL CHECK (kind IN ('openai', 'anthropic', 'gemini')),
  base_url    text NOT NULL CHECK (base_url ~ '^https?://[^\s/]+'),
  -- the server environment variable holding the API key, if any
  api_key_env text CHECK (api_key_env ~ '^[A-Za-z_][A-Za-z0-9_]*$'),
  options     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(options) = 'object'),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE llmeval.providers IS 'LLM API endpoints (no secrets: see provider_secrets)';

-- API keys stored in the database, readable by administrators only (no
-- grant to llmeval_user, no RLS exception). Workers read them as superuser.
CREATE TABLE llmeval.provider_secrets (
  provider_id int PRIMARY KEY REFERENCES llmeval.providers ON DELETE CASCADE,
  api_key     text NOT NULL CHECK (api_key <> ''),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE llmeval.provider_secrets IS 'provider API keys; administrators only';

CREATE TABLE llmeval.models (
  id                  serial PRIMARY KEY,
  provider_id         int NOT NULL REFERENCES llmeval.providers ON DELETE RESTRICT,
  -- 'provider/model', the name jobs use
  name                text NOT NULL UNIQUE CHECK (name ~ '^[^/]+/.+$'),
  -- the model identifier sent to the API (the part after the slash unless overridden)
  api_model           text NOT NULL CHECK (api_model <> ''),
  input_price         numeric NOT NULL DEFAULT 0 CHECK (input_price >= 0),   -- per million tokens
  output_price        numeric NOT NULL DEFAULT 0 CHECK (output_price >= 0),  -- per million tokens
  -- input read from the provider's prompt cache, and written to it (Anthropic),
  -- per million tokens; NULL: at input_price (see llmeval._call_cost)
  cached_input_price  numeric CHECK (cached_input_price >= 0),
  cache_write_price   numeric CHECK (cache_write_price >= 0),
  -- the share taken off the price of calls made through the provider's batch
  -- API (job option "execution": "batch"): OpenAI and Anthropic both halve it
  batch_discount      numeric NOT NULL DEFAULT 0.5 CHECK (batch_discount >= 0 AND batch_discount <= 1),
  -- parameters the model refused with a 400 (a reasoning model's temperature,
  -- logprobs, ...): learned by the workers, never sent to it again
  refused_params      text[] NOT NULL DEFAULT '{}',
  requests_per_minute int CHECK (requests_per_minute > 0),
  tokens_per_minute   int CHECK (tokens_per_minute > 0),
  -- default generation parameters (temperature, max_tokens, ...)
  params              jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(params) = 'object'),
  options             jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(options) = 'object'),
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON llmeval.models (provider_id);
COMMENT ON TABLE llmeval.models IS 'models by provider, with prices per million tokens and rate limits';

-- Metric definitions: built-in (tenant NULL) and user-defined.
CREATE TABLE llmeval.metrics (
  id          bigserial PRIMARY KEY,
  tenant      text DEFAULT llmeval.current_tenant(),
  name        text NOT NULL CHECK (name ~ '^[A-Za-z_][A-Za-z0-9_]*$'),
  kind        text NOT NULL CHECK (kind IN ('lexical', 'judge', 'pairwise', 'embedding', 'assertion', 'sql')),
  description text,
  definition  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(definition) = 'object'),
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX metrics_name_key ON llmeval.metrics (coalesce(tenant, ''), name);
COMMENT ON TABLE llmeval.metrics IS 'metric definitions: built-in (tenant NULL) and per tenant';
INSERT INTO llmeval.metrics (tenant, name, kind, description) VALUES
  (NULL, 'bleu', 'lexical', 'sentence BLEU (sacrebleu, 0-100)'),
  (NULL, 'chrf', 'lexical', 'sentence chrF (sacrebleu, 0-100)'),
  (NULL, 'ter', 'lexical', 'translation edit rate (sacrebleu, 0-100, lower is better)'),
  (NULL, 'rouge1', 'lexical', 'ROUGE-1 F1 (rouge-score)'),
  (NULL, 'rouge2', 'lexical', 'ROUGE-2 F1 (rouge-score)'),
  (NULL, 'rougeL', 'lexical', 'ROUGE-L F1 (rouge-score)'),
  (NULL, 'rougeLsum', 'lexical', 'ROUGE-Lsum F1 (rouge-score)'),
  (NULL, 'exact_match', 'lexical', 'SQuAD exact match (0 or 1)'),
  (NULL, 'token_f1', 'lexical', 'SQuAD token F1 (0-1)'),
  (NULL, 'levenshtein_ratio', 'lexical', 'Levenshtein ratio (0-1)'),
  (NULL, 'tool_call_f1', 'lexical', 'F1 of the model''s tool calls (name and arguments) against the test case''s expected_tool_calls (0-1)'),
  (NULL, 'tool_call_accuracy', 'lexical', '1 when the model''s tool calls are the expected_tool_calls, in order, else 0'),
  (NULL, 'tool_call_valid', 'lexical', 'share of the model''s tool calls that are valid calls of the request''s tools (NULL without calls)');

CREATE TABLE llmeval.prompts (
  id         bigserial PRIMARY KEY,
  tenant     text NOT NULL DEFAULT llmeval.current_tenant(),
  name       text NOT NULL CHECK (name <> ''),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant, name),
  UNIQUE (id, tenant)
);

CREATE TABLE llmeval.prompt_versions (
  id         bigserial PRIMARY KEY,
  prompt_id  bigint NOT NULL,
  tenant     text NOT NULL DEFAULT llmeval.current_tenant(),
  version    int NOT NULL CHECK (version > 0),
  template   text NOT NULL,
  system     text,
  params     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(params) = 'object'),
  -- the {{field}} names of template and system, for validating datasets
  fields     text[] NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (prompt_id, version),
  UNIQUE (id, tenant),
  FOREIGN KEY (prompt_id, tenant) REFERENCES llmeval.prompts (id, tenant) ON DELETE CASCADE
);

CREATE TABLE llmeval.datasets (
  id         bigserial PRIMARY KEY,
  tenant     text NOT NULL DEFAULT llmeval.current_tenant(),
  name       text NOT NULL CHECK (name <> ''),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant, name),
  UNIQUE (id, tenant)
);

CREATE TABLE llmeval.dataset_versions (
  id         bigserial PRIMARY KEY,
  dataset_id bigint NOT NULL,
  tenant     text NOT NULL DEFAULT llmeval.current_tenant(),
  version    int NOT NULL CHECK (version > 0),
  source     text NOT NULL CHECK (source IN ('json', 'csv')),
  n_cases    int NOT NULL CHECK (n_cases >= 0),
  -- the CSV header of a CSV import, so that an export keeps its column order
  columns    text[],
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (dataset_id, version),
  UNIQUE (id, tenant),
  FOREIGN KEY (dataset_id, tenant) REFERENCES llmeval.datasets (id, tenant) ON DELETE CASCADE
);

CREATE TABLE llmeval.test_cases (
  id                 bigserial PRIMARY KEY,
  dataset_version_id bigint NOT NULL,
  tenant             text NOT NULL DEFAULT llmeval.current_tenant(),
  position           int NOT NULL CHECK (position > 0),  -- 1-based order in the file
  input              jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(input) = 'object'),
  expected           text,
  context            text,
  metadata           jsonb CHECK (jsonb_typeof(metadata) = 'object'),
  -- the tool calls expected of the model ({"name", "arguments"} or any shape
  -- the tool-call metrics read), for tool_call_f1 and tool_call_accuracy
  expected_tool_calls jsonb CHECK (jsonb_typeof(expected_tool_calls) = 'array'),
  -- a conversation: its messages ({"role": "user" | "assistant" | "tool",
  -- "content", "tool_calls", "tool_call_id", and on user turns "expected"
  -- and "expected_tool_calls"), sent instead of the prompt template
  -- (llmeval._conversation_check says what is allowed)
  messages           jsonb CHECK (jsonb_typeof(messages) = 'array'),
  -- what the user of a conversation wants done in all (optional; the judge
  -- conversation_completeness counts it as an intention of its own)
  goal               text,
  -- retrieval: the ranked chunks retrieved (strings, or {"id", "text"}),
  -- and which are relevant (ids, or {"id": grade} for graded relevance)
  contexts           jsonb CHECK (jsonb_typeof(contexts) = 'array'),
  relevant_ids       jsonb CHECK (jsonb_typeof(relevant_ids) IN ('array', 'object')),
  UNIQUE (dataset_version_id, position),
  FOREIGN KEY (dataset_version_id, tenant) REFERENCES llmeval.dataset_versions (id, tenant)
    ON DELETE CASCADE
);

CREATE TABLE llmeval.jobs (
  id                 bigserial PRIMARY KEY,
  tenant             text NOT NULL DEFAULT llmeval.current_tenant(),
  prompt_version_id  bigint NOT NULL,
  dataset_version_id bigint NOT NULL,
  models             text[] NOT NULL CHECK (cardinality(models) > 0),
  metrics            text[] NOT NULL DEFAULT '{}',
  options            jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(options) = 'object'),
  status             text NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'running', 'paused', 'completed', 'failed', 'cancelled')),
  -- why a job is paused (its max_cost_usd reached); NULL otherwise
  paused_reason      text,
  -- the cost of its calls so far (responses.cost), kept like the counters
  spent              numeric NOT NULL DEFAULT 0 CHECK (spent >= 0),
  -- calls that cost something (cached answers do not): spent / paid_calls
  -- is what a call of this job costs, for its budget's reservations
  paid_calls         int NOT NULL DEFAULT 0 CHECK (paid_calls >= 0),
  correlation_id     uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
  -- task counts by status, kept by the trigger on tasks
  total              int NOT NULL DEFAULT 0 CHECK (total >= 0),
  pending            int NOT NULL DEFAULT 0 CHECK (pending >= 0),
  running            int NOT NULL DEFAULT 0 CHECK (running >= 0),
  completed          int NOT NULL DEFAULT 0 CHECK (completed >= 0),
  failed             int NOT NULL DEFAULT 0 CHECK (failed >= 0),
  cancelled          int NOT NULL DEFAULT 0 CHECK (cancelled >= 0),
  created_by         name NOT NULL DEFAULT current_user,
  created_at         timestamptz NOT NULL DEFAULT now(),
  started_at         timestamptz,
  finished_at        timestamptz,
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CHECK (pending + running + completed + failed + cancelled = total),
  UNIQUE (id, tenant),
  FOREIGN KEY (prompt_version_id, tenant) REFERENCES llmeval.prompt_versions (id, tenant)
    ON DELETE RESTRICT,
  FOREIGN KEY (dataset_version_id, tenant) REFERENCES llmeval.dataset_versions (id, tenant)
    ON DELETE RESTRICT
);
CREATE INDEX ON llmeval.jobs (tenant, created_at DESC);
CREATE INDEX ON llmeval.jobs (status) WHERE status IN ('queued', 'running', 'paused');
CREATE INDEX ON llmeval.jobs (prompt_version_id);
CREATE INDEX ON llmeval.jobs (dataset_version_id);

-- Changes of the job counters not yet added to the job row. A statement
-- that changes tasks appends one row per job it touched, which locks
-- nothing; whoever holds the job's row then folds every change it can see
-- into the counters (llmeval._fold_job_counters). Tenants' own statements
-- fold at once; the workers fold at the end of each transaction, passing
-- over a job whose row is held elsewhere, so that a worker never waits on a
-- job row and two workers never queue behind one busy job. A snapshot that
-- sees one change sees every change committed before it, so folded counters
-- are always those of a moment: never negative, never a job finished early.
CREATE TABLE llmeval.job_counter_deltas (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id    bigint NOT NULL,
  total     int NOT NULL,
  pending   int NOT NULL,
  running   int NOT NULL,
  completed int NOT NULL,
  failed    int NOT NULL,
  cancelled int NOT NULL,
  cost      numeric NOT NULL DEFAULT 0,
  calls     int NOT NULL DEFAULT 0
-- (rows live for milliseconds: vacuumed often, so that folds do not wade
-- through dead ones)
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
CREATE INDEX ON llmeval.job_counter_deltas (job_id);
REVOKE ALL ON llmeval.job_counter_deltas FROM PUBLIC;

-- The queue: one task per test case and model (kind generate), and one per
-- judge call (kind judge: a judge metric's sample of a generated output, or
-- one order of a pairwise comparison) or embedding call (kind embed), all
-- claimed, retried, rate-limited, priced and cancelled alike. Workers claim pending tasks
-- whose next_attempt_at has come with FOR UPDATE SKIP LOCKED, set a lease and
-- a claim token, commit, call the provider with no transaction open, and
-- write back only if the claim token still matches. Rows are narrow (the
-- prompt is rendered from the test case, the output lives in responses) and
-- updated in place often, so a lower fillfactor leaves room for HOT updates
-- and autovacuum runs early.
CREATE TABLE llmeval.tasks (
  id              bigserial PRIMARY KEY,
  job_id          bigint NOT NULL REFERENCES llmeval.jobs ON DELETE CASCADE,
  test_case_id    bigint NOT NULL REFERENCES llmeval.test_cases ON DELETE RESTRICT,
  model_id        int NOT NULL REFERENCES llmeval.models ON DELETE RESTRICT,
  tenant          text NOT NULL DEFAULT llmeval.current_tenant(),
  kind            text NOT NULL DEFAULT 'generate' CHECK (kind IN ('generate', 'judge', 'embed', 'turn')),
  -- a conversation replayed (job option "conversation": "replay"): the
  -- user turn answered, 1 for the first. Its turns before the last are
  -- tasks of kind turn, the last is the generation; each is queued when
  -- the one before it completes (llmeval._queue_next_turns).
  turn            int CHECK (turn > 0),
  -- judge and embed tasks: the generation judged (for a pairwise judgement,
  -- the first model's) and the metric; other_task_id is the second model's
  -- generation of a pairwise judgement, swapped says it is shown first
  target_task_id  bigint REFERENCES llmeval.tasks ON DELETE CASCADE,
  other_task_id   bigint REFERENCES llmeval.tasks ON DELETE CASCADE,
  metric          text,
  sample          int NOT NULL DEFAULT 0 CHECK (sample >= 0),
  swapped         boolean NOT NULL DEFAULT false,
  status          text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
  attempts        int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  lease_expires_at timestamptz,
  claim_token     uuid,
  worker_pid      int,
  last_error      text,
  -- the provider batch that holds it or answered it (execution "batch";
  -- the key to llmeval.provider_batches is added with that table)
  batch_id        bigint,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  CHECK ((kind IN ('generate', 'turn')) = (target_task_id IS NULL AND metric IS NULL)),
  CHECK (kind <> 'turn' OR turn IS NOT NULL),
  CHECK ((status = 'running') = (claim_token IS NOT NULL AND lease_expires_at IS NOT NULL))
) WITH (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.02,
        autovacuum_analyze_scale_factor = 0.02);
-- claimable tasks in claim order (next_attempt_at, id): the first N come off
-- the index without sorting every pending task (a job's tasks share one
-- next_attempt_at)
CREATE INDEX tasks_claimable ON llmeval.tasks (next_attempt_at, id) WHERE status = 'pending';
-- the same by job: the jobs with pending tasks (a skip scan), and the first
-- due tasks of each, for the claim's fair shares (llmeval._claim_tasks)
CREATE INDEX tasks_pending_by_job ON llmeval.tasks (job_id, next_attempt_at, id) WHERE status = 'pending';
-- leases to reclaim when a worker died
CREATE INDEX tasks_leases ON llmeval.tasks (lease_expires_at) WHERE status = 'running';
CREATE UNIQUE INDEX tasks_generation_key ON llmeval.tasks (job_id, test_case_id, model_id)
  WHERE kind = 'generate';
CREATE UNIQUE INDEX tasks_judgement_key ON llmeval.tasks (target_task_id, metric, sample, swapped)
  WHERE kind IN ('judge', 'embed');
CREATE UNIQUE INDEX tasks_turn_key ON llmeval.tasks (job_id, test_case_id, model_id, turn)
  WHERE kind = 'turn';
CREATE INDEX ON llmeval.tasks (job_id);
CREATE INDEX ON llmeval.tasks (other_task_id) WHERE other_task_id IS NOT NULL;
CREATE INDEX ON llmeval.tasks (test_case_id);
CREATE INDEX ON llmeval.tasks (model_id);

-- The final response of a task (attempt history is in events).
CREATE TABLE llmeval.responses (
  task_id        bigint PRIMARY KEY REFERENCES llmeval.tasks ON DELETE CASCADE,
  tenant         text NOT NULL DEFAULT llmeval.current_tenant(),
  output         text,
  error          text,
  latency_ms     double precision CHECK (latency_ms >= 0),
  input_tokens   int CHECK (input_tokens >= 0),
  output_tokens  int CHECK (output_tokens >= 0),
  -- parts of those the API reported: input read from and written to the
  -- provider's prompt cache, output spent reasoning
  cached_input_tokens int CHECK (cached_input_tokens >= 0),
  cache_write_tokens  int CHECK (cache_write_tokens >= 0),
  reasoning_tokens    int CHECK (reasoning_tokens >= 0),
  cost           numeric CHECK (cost >= 0),
  -- the model's tool calls, normalised: [{"name", "arguments"}] (an
  -- argument string that is not JSON kept with "parse_error")
  tool_calls     jsonb CHECK (jsonb_typeof(tool_calls) = 'array'),
  -- how the call was made: 'batch' through a provider batch (priced at the
  -- model's batch_discount), else 'sync'
  execution      text NOT NULL DEFAULT 'sync' CHECK (execution IN ('sync', 'batch')),
  attempt        int NOT NULL DEFAULT 1 CHECK (attempt > 0),
  raw_response   jsonb,
  created_at     timestamptz NOT NULL DEFAULT now(),
  CHECK (output IS NOT NULL OR error IS NOT NULL)
);
CREATE INDEX ON llmeval.responses (created_at);

-- One score per task and metric: a task is never scored twice.
CREATE TABLE llmeval.task_scores (
  id         bigserial PRIMARY KEY,
  task_id    bigint NOT NULL REFERENCES llmeval.tasks ON DELETE CASCADE,
  tenant     text NOT NULL DEFAULT llmeval.current_tenant(),
  metric     text NOT NULL,
  value      double precision,
  detail     jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (task_id, metric)
);

CREATE TABLE llmeval.experiments (
  id          bigserial PRIMARY KEY,
  tenant      text NOT NULL DEFAULT llmeval.current_tenant(),
  name        text NOT NULL CHECK (name <> ''),
  status      text NOT NULL DEFAULT 'running' CHECK (status IN ('draft', 'running', 'stopped')),
  description text,
  -- the variants' names and weights in creation order, kept by a trigger on
  -- experiment_variants, so that assign_variant reads one row
  variant_names   text[] NOT NULL DEFAULT '{}',
  variant_weights double precision[] NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant, name),
  UNIQUE (id, tenant)
);

CREATE TABLE llmeval.experiment_variants (
  id                bigserial PRIMARY KEY,
  experiment_id     bigint NOT NULL,
  tenant            text NOT NULL DEFAULT llmeval.current_tenant(),
  name              text NOT NULL CHECK (name <> ''),
  prompt_version_id bigint,
  model_id          int REFERENCES llmeval.models ON DELETE RESTRICT,
  weight            double precision NOT NULL DEFAULT 1 CHECK (weight > 0 AND weight < 'Infinity'),
  created_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (experiment_id, name),
  UNIQUE (id, tenant),
  FOREIGN KEY (experiment_id, tenant) REFERENCES llmeval.experiments (id, tenant) ON DELETE CASCADE,
  FOREIGN KEY (prompt_version_id, tenant) REFERENCES llmeval.prompt_versions (id, tenant)
    ON DELETE RESTRICT
);

CREATE TABLE llmeval.experiment_outcomes (
  id            bigserial PRIMARY KEY,
  experiment_id bigint NOT NULL,
  variant_id    bigint NOT NULL,
  tenant        text NOT NULL DEFAULT llmeval.current_tenant(),
  unit_key      text NOT NULL,
  metric        text NOT NULL,
  value         double precision NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (experiment_id, tenant) REFERENCES llmeval.experiments (id, tenant) ON DELETE CASCADE,
  FOREIGN KEY (variant_id, tenant) REFERENCES llmeval.experiment_variants (id, tenant) ON DELETE CASCADE
);
CREATE INDEX ON llmeval.experiment_outcomes (experiment_id, metric);
CREATE INDEX ON llmeval.experiment_outcomes (variant_id);

CREATE TABLE llmeval.reports (
  id           bigserial PRIMARY KEY,
  tenant       text NOT NULL DEFAULT llmeval.current_tenant(),
  period       text NOT NULL CHECK (period IN ('daily', 'weekly', 'job')),
  period_start timestamptz NOT NULL,
  period_end   timestamptz NOT NULL CHECK (period_end >= period_start),
  body         jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON llmeval.reports (tenant, created_at DESC);

-- What happened to jobs and tasks, for following a job's life.
CREATE TABLE llmeval.events (
  id             bigserial PRIMARY KEY,
  tenant         text NOT NULL DEFAULT llmeval.current_tenant(),
  job_id         bigint REFERENCES llmeval.jobs ON DELETE CASCADE,
  task_id        bigint REFERENCES llmeval.tasks ON DELETE CASCADE,
  correlation_id uuid,
  kind           text NOT NULL,
  detail         jsonb NOT NULL DEFAULT '{}',
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON llmeval.events (job_id, id);
CREATE INDEX ON llmeval.events (task_id);
CREATE INDEX ON llmeval.events (created_at);

-- Tenant indexes for the RLS filter on the tables listed by tenant.
CREATE INDEX ON llmeval.prompt_versions (tenant);
CREATE INDEX ON llmeval.dataset_versions (tenant);
CREATE INDEX ON llmeval.experiment_variants (prompt_version_id);
CREATE INDEX ON llmeval.experiment_variants (model_id);
