-- A/B tests: experiments with weighted variants, deterministic assignment of
-- units (users, sessions, requests) to variants, outcomes, and the comparison
-- of every variant with the control.
--
-- Assignment is weighted rendezvous hashing (highest random weight): for a
-- unit, each variant v draws h_v, uniform in (0, 1), from a hash of the
-- experiment id, v's name and the unit key, and scores -ln(h_v) / weight_v;
-- the lowest score wins (ties by name). -ln(h_v) / weight_v is exponentially
-- distributed with rate weight_v, and the minimum of independent exponentials
-- falls on v with probability weight_v / sum(weights): traffic follows the
-- weights. A unit's score for a variant depends on nothing else, so adding a
-- variant moves a unit only if the new variant beats its current one (units
-- move only to the new variant, the share it takes being its weight over the
-- new total), and removing a variant moves only the units it had. No state is
-- stored per unit; nothing is remembered, everything is recomputed.
--
-- h is portable, so applications can compute assignments themselves: the
-- SHA-256 of the UTF-8 text '<experiment id>:<characters in the variant
-- name>:<variant name>:<unit key>', its first 52 bits read as an unsigned
-- big-endian integer x, and h = (x + 0.5) / 2^52 (exact in a double).
--
-- These functions run with the caller's rights: row-level security keeps
-- each tenant to its own experiments, and every query also names the
-- caller's tenant, so that administrators (who read every tenant's rows) and
-- superusers get their own experiments too.

-- Statistics helpers --------------------------------------------------------

-- The standard normal quantile: Wichura's algorithm AS241 (PPND16, Applied
-- Statistics 37, 1988), relative error about 1e-16 over the whole range, so
-- no refinement step is needed. Python's statistics.NormalDist.inv_cdf and
-- R's qnorm use the same algorithm.
CREATE FUNCTION llmeval._normal_quantile(p float8)
RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  q float8 := p - 0.5;
  r float8;
  x float8;
BEGIN
  IF p < 0 OR p > 1 OR p = 'NaN' THEN
    RAISE EXCEPTION 'probability % is outside [0, 1]', p USING ERRCODE = 'invalid_parameter_value';
  ELSIF p = 0 THEN
    RETURN '-Infinity';
  ELSIF p = 1 THEN
    RETURN 'Infinity';
  END IF;
  IF abs(q) <= 0.425 THEN
    r := 0.180625 - q * q;
    RETURN q * (((((((2509.0809287301226727 * r + 33430.575583588128105) * r
                     + 67265.770927008700853) * r + 45921.953931549871457) * r
                     + 13731.693765509461125) * r + 1971.5909503065514427) * r
                     + 133.14166789178437745) * r + 3.387132872796366608)
             / (((((((5226.495278852545925 * r + 28729.085735721942674) * r
                     + 39307.89580009271061) * r + 21213.794301586595867) * r
                     + 5394.1960214247511077) * r + 687.1870074920579083) * r
                     + 42.313330701600911252) * r + 1);
  END IF;
  r := sqrt(-ln(CASE WHEN q < 0 THEN p ELSE 1 - p END));
  IF r <= 5 THEN
    r := r - 1.6;
    x := (((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r
               + 0.24178072517745061177) * r + 1.27045825245236838258) * r
               + 3.64784832476320460504) * r + 5.7694972214606914055) * r
               + 4.6303378461565452959) * r + 1.42343711074968357734)
       / (((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r
               + 0.0151986665636164571966) * r + 0.14810397642748007459) * r
               + 0.68976733498510000455) * r + 1.6763848301838038494) * r
               + 2.05319162663775882187) * r + 1);
  ELSE
    r := r - 5;
    x := (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r
               + 0.0012426609473880784386) * r + 0.026532189526576123093) * r
               + 0.29656057182850489123) * r + 1.7848265399172913358) * r
               + 5.4637849111641143699) * r + 6.6579046435011037772)
       / (((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r
               + 1.8463183175100546818e-5) * r + 7.868691311456132591e-4) * r
               + 0.0148753612908506148525) * r + 0.13692988092273580531) * r
               + 0.59983220655588793769) * r + 1);
  END IF;
  RETURN CASE WHEN q < 0 THEN -x ELSE x END;
END $$;
COMMENT ON FUNCTION llmeval._normal_quantile(float8) IS
  'the standard normal quantile (Wichura AS241, relative error about 1e-16)';

-- ln(Gamma(x)) for x > 0: Lanczos' approximation (g = 7, 9 terms), relative
-- error about 1e-15. PostgreSQL 15 has no lgamma.
CREATE FUNCTION llmeval._ln_gamma(x float8)
RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  c float8[] := ARRAY[0.99999999999980993, 676.5203681218851, -1259.1392167224028,
                      771.32342877765313, -176.61502916214059, 12.507343278686905,
                      -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  s float8;
  t float8;
BEGIN
  IF NOT x > 0 OR x = 'Infinity' THEN
    RAISE EXCEPTION 'ln_gamma is defined here for finite x > 0 only, not %', x
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF x < 0.5 THEN
    -- reflection: Gamma(x) Gamma(1 - x) = pi / sin(pi x)
    RETURN ln(pi() / sin(pi() * x)) - llmeval._ln_gamma(1 - x);
  END IF;
  x := x - 1;
  s := c[1];
  FOR i IN 1..8 LOOP
    s := s + c[i + 1] / (x + i);
  END LOOP;
  t := x + 7.5;
  RETURN 0.91893853320467274178 + (x + 0.5) * ln(t) - t + ln(s);  -- 0.918... = ln(sqrt(2 pi))
END $$;

-- The continued fraction of the regularized incomplete beta function
-- (modified Lentz), which converges fast for x < (a + 1) / (a + b + 2).
CREATE FUNCTION llmeval._beta_cf(a float8, b float8, x float8)
RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  -- tiny, yet far enough from the underflow that Postgres reports as an error
  tiny CONSTANT float8 := 1e-200;
  c float8 := 1;
  d float8 := 1 - (a + b) * x / (a + 1);
  h float8;
  aa float8;
  delta float8;
BEGIN
  IF abs(d) < tiny THEN d := tiny; END IF;
  d := 1 / d;
  h := d;
  FOR m IN 1..100000 LOOP
    aa := m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
    d := 1 + aa * d;
    IF abs(d) < tiny THEN d := tiny; END IF;
    c := 1 + aa / c;
    IF abs(c) < tiny THEN c := tiny; END IF;
    d := 1 / d;
    h := h * d * c;
    aa := -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
    d := 1 + aa * d;
    IF abs(d) < tiny THEN d := tiny; END IF;
    c := 1 + aa / c;
    IF abs(c) < tiny THEN c := tiny; END IF;
    d := 1 / d;
    delta := d * c;
    h := h * delta;
    EXIT WHEN abs(delta - 1) < 1e-16;
  END LOOP;
  RETURN h;
END $$;

-- P(|T| > t) for Student's t with df degrees of freedom (df > 0, any real):
-- the regularized incomplete beta I_x(df/2, 1/2) at x = df / (df + t^2).
CREATE FUNCTION llmeval._t_two_tail(t float8, df float8)
RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  a float8 := df / 2;
  b CONSTANT float8 := 0.5;
  x float8;
  log_front float8;
BEGIN
  t := abs(t);
  IF t = 0 THEN
    RETURN 1;
  ELSIF t > 1e100 THEN
    RETURN 0;
  END IF;
  x := df / (df + t * t);
  -- 1 - x computed without cancellation
  log_front := llmeval._ln_gamma(a + b) - llmeval._ln_gamma(a) - llmeval._ln_gamma(b)
               + a * ln(x) + b * ln(t * t / (df + t * t));
  IF log_front < -700 THEN
    RETURN 0;  -- below 1e-304; exp() would report an underflow
  END IF;
  IF x < (a + 1) / (a + b + 2) THEN
    RETURN exp(log_front) * llmeval._beta_cf(a, b, x) / a;
  END IF;
  RETURN 1 - exp(log_front) * llmeval._beta_cf(b, a, t * t / (df + t * t)) / b;
END $$;

-- Student's t quantile for df >= 1 (Welch's degrees of freedom are at least
-- 1): Hill's approximation (Algorithm 396, CACM 13, 1970, as R's qt uses
-- it), then Newton steps on the exact tail probability. Hill alone is off by
-- up to 1% at small fractional df; the Newton steps bring every df to about
-- 1e-13. Above 1e5 df Hill's error is below 1e-10 and is kept as it is.
CREATE FUNCTION llmeval._t_quantile(p float8, df float8)
RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  tail float8 := least(p, 1 - p);        -- one-sided tail probability
  two float8 := 2 * tail;                -- Hill works with the two-sided one
  a float8;
  b float8;
  c float8;
  d float8;
  x float8;
  y float8;
  t float8;
  log_pdf_const float8;
  step float8;
BEGIN
  IF NOT (p > 0 AND p < 1) THEN
    RAISE EXCEPTION 'probability % is outside (0, 1)', p USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF tail < 1e-100 THEN
    RAISE EXCEPTION 'probability % is too close to 0 or 1', p USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT (df >= 1) THEN
    RAISE EXCEPTION 'degrees of freedom % are below 1', df USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p = 0.5 THEN
    RETURN 0;
  END IF;
  IF df = 1 THEN
    t := 1 / tan(two * pi() / 2);                      -- Cauchy, exact
  ELSIF df = 2 THEN
    t := sqrt(2 / (two * (2 - two)) - 2);              -- exact
  ELSE
    a := 1 / (df - 0.5);
    b := 48 / (a * a);
    c := ((20700 * a / b - 98) * a - 16) * a + 96.36;
    d := ((94.5 / (b + c) - 3) / b + 1) * sqrt(a * pi() / 2) * df;
    y := exp(2 / df * ln(d * two));
    IF (df < 2.1 AND two > 0.5) OR y > 0.05 + a THEN
      -- asymptotic inverse expansion about the normal
      x := llmeval._normal_quantile(0.5 * two);
      y := x * x;
      IF df < 5 THEN
        c := c + 0.3 * (df - 4.5) * (x + 0.6);
      END IF;
      c := (((0.05 * d * x - 5) * x - 7) * x - 2) * x + b + c;
      y := (((((0.4 * y + 6.3) * y + 36) * y + 94.5) / c - y - 3) / b + 1) * x;
      y := a * y * y;
      -- expm1
      y := CASE WHEN y < 1e-5 THEN y + y * y / 2 + y * y * y / 6 ELSE exp(y) - 1 END;
    ELSE
      y := ((1 / (((df + 6) / (df * y) - 0.089 * d - 0.822) * (df + 2) * 3)
             + 0.5 / (df + 4)) * y - 1) * (df + 1) / (df + 2) + 1 / y;
    END IF;
    t := sqrt(df * y);
    IF df <= 1e5 THEN
      -- Newton on tail(t) = P(T > t), convex and decreasing for t > 0: after
      -- the first step the iterates approach the root from below.
      log_pdf_const := llmeval._ln_gamma((df + 1) / 2) - llmeval._ln_gamma(df / 2)
                       - 0.5 * ln(df * pi());
      FOR i IN 1..50 LOOP
        step := (0.5 * llmeval._t_two_tail(t, df) - tail)
                / exp(log_pdf_const - (df + 1) / 2 * ln(1 + t * t / df));
        t := greatest(t + step, t / 2);
        EXIT WHEN abs(step) <= 1e-14 * t;
      END LOOP;
    END IF;
  END IF;
  RETURN CASE WHEN p < 0.5 THEN -t ELSE t END;
END $$;
COMMENT ON FUNCTION llmeval._t_quantile(float8, float8) IS
  'Student''s t quantile for df >= 1 (Hill''s approximation refined by Newton steps)';

-- Experiments and variants ---------------------------------------------------

-- The keys a variant may have.
CREATE FUNCTION llmeval._variant_keys() RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $$ SELECT ARRAY['name', 'weight', 'prompt', 'prompt_version', 'model'] $$;

-- Checks one variant of the create_experiment / add_variant format and
-- resolves its prompt version and model. "what" names it in messages.
CREATE FUNCTION llmeval._parse_variant(variant jsonb, what text, tenant text,
                                       OUT name text, OUT weight float8,
                                       OUT prompt_version_id bigint, OUT model_id int)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  unknown text;
  w numeric;
  prompt_name text;
  version numeric;
  model_name text;
BEGIN
  IF variant IS NULL OR jsonb_typeof(variant) <> 'object' THEN
    RAISE EXCEPTION '% is not a JSON object', what
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'A variant is {"name": "...", "weight": 1, "prompt": "...", "prompt_version": 1, "model": "provider/model"}; only the name is required.';
  END IF;
  SELECT k INTO unknown FROM jsonb_object_keys(variant) k WHERE k <> ALL (llmeval._variant_keys())
  ORDER BY k LIMIT 1;
  IF unknown IS NOT NULL THEN
    RAISE EXCEPTION '% has an unknown key "%"', what, unknown
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Valid keys are ' || array_to_string(llmeval._variant_keys(), ', ') || '.';
  END IF;

  IF jsonb_typeof(variant -> 'name') IS DISTINCT FROM 'string' OR variant ->> 'name' = '' THEN
    RAISE EXCEPTION '% needs a name (a non-empty string)', what USING ERRCODE = 'invalid_parameter_value';
  END IF;
  name := variant ->> 'name';
  what := format('variant "%s"', name);

  -- A weight is a relative traffic share. The bounds keep it, its inverse
  -- and the scores finite in double precision.
  IF coalesce(jsonb_typeof(variant -> 'weight'), 'null') = 'null' THEN
    weight := 1;
  ELSE
    IF jsonb_typeof(variant -> 'weight') <> 'number' THEN
      RAISE EXCEPTION 'the weight of % must be a number, not %', what, variant -> 'weight'
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    w := (variant ->> 'weight')::numeric;
    IF w <= 0 OR w < 1e-12 OR w > 1e12 THEN
      RAISE EXCEPTION 'the weight of % must be a positive number, not %', what, w
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'Weights are relative traffic shares between 1e-12 and 1e12: 1 and 3 send a quarter and three quarters of the units.';
    END IF;
    weight := w::float8;
  END IF;

  IF variant ? 'prompt_version' AND jsonb_typeof(variant -> 'prompt_version') <> 'null' THEN
    IF jsonb_typeof(variant -> 'prompt_version') <> 'number' THEN
      RAISE EXCEPTION 'the prompt_version of % must be an integer', what
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    version := (variant ->> 'prompt_version')::numeric;
    IF version <> trunc(version) OR version < 1 OR version > 2147483647 THEN
      RAISE EXCEPTION 'the prompt_version of % must be a positive integer, not %', what, version
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
  END IF;
  IF coalesce(jsonb_typeof(variant -> 'prompt'), 'null') = 'null' THEN
    IF version IS NOT NULL THEN
      RAISE EXCEPTION '% has a prompt_version but no prompt', what
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
  ELSE
    IF jsonb_typeof(variant -> 'prompt') <> 'string' THEN
      RAISE EXCEPTION 'the prompt of % must be a prompt name (a string)', what
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    prompt_name := variant ->> 'prompt';
    -- the given version, or the latest, pinned now
    SELECT v.id INTO prompt_version_id
    FROM llmeval.prompts p JOIN llmeval.prompt_versions v ON v.prompt_id = p.id
    WHERE p.name = prompt_name AND p.tenant = _parse_variant.tenant
      AND (version IS NULL OR v.version = version)
    ORDER BY v.version DESC LIMIT 1;
    IF NOT FOUND THEN
      IF version IS NULL THEN
        RAISE EXCEPTION 'prompt "%" does not exist', prompt_name
          USING ERRCODE = 'undefined_object', DETAIL = format('It is named by %s.', what);
      END IF;
      RAISE EXCEPTION 'prompt "%" has no version %', prompt_name, version
        USING ERRCODE = 'undefined_object', DETAIL = format('It is named by %s.', what);
    END IF;
  END IF;

  IF coalesce(jsonb_typeof(variant -> 'model'), 'null') <> 'null' THEN
    IF jsonb_typeof(variant -> 'model') <> 'string' THEN
      RAISE EXCEPTION 'the model of % must be a model name (a string)', what
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    model_name := variant ->> 'model';
    SELECT m.id INTO model_id FROM llmeval.models m WHERE m.name = model_name;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'model "%" does not exist', model_name
        USING ERRCODE = 'undefined_object', DETAIL = format('It is named by %s.', what),
              HINT = 'Models are named provider/model; see llmeval.models.';
    END IF;
  END IF;
END $$;

-- The caller's tenant, or an error when there is none (a JWT role without a
-- sub claim).
CREATE FUNCTION llmeval._require_tenant()
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  tenant text := llmeval.current_tenant();
BEGIN
  IF tenant IS NULL THEN
    RAISE EXCEPTION 'no tenant for the current user'
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'JWT roles need a sub claim in request.jwt.claims.';
  END IF;
  RETURN tenant;
END $$;

-- The caller's experiment of that name, or an error.
CREATE FUNCTION llmeval._experiment(experiment text, tenant text)
RETURNS llmeval.experiments
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  found_experiment llmeval.experiments;
BEGIN
  IF experiment IS NULL THEN
    RAISE EXCEPTION 'an experiment name is required' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT * INTO found_experiment FROM llmeval.experiments e
  WHERE e.name = experiment AND e.tenant = _experiment.tenant;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'experiment "%" does not exist', experiment USING ERRCODE = 'undefined_object';
  END IF;
  RETURN found_experiment;
END $$;

CREATE FUNCTION llmeval.create_experiment(name text, variants jsonb)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  tenant text := llmeval._require_tenant();
  new_experiment bigint;
  parsed record;
  seen text[] := '{}';
  element jsonb;
  ord bigint;
BEGIN
  IF name IS NULL OR name = '' THEN
    RAISE EXCEPTION 'an experiment needs a name' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF variants IS NULL THEN
    RAISE EXCEPTION 'experiment "%" needs variants', name USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF jsonb_typeof(variants) <> 'array' OR jsonb_array_length(variants) = 0 THEN
    RAISE EXCEPTION 'the variants of experiment "%" must be a non-empty JSON array', name
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'For example [{"name": "control"}, {"name": "new-prompt", "weight": 1, "prompt": "short-answer"}]; the first variant is the control.';
  END IF;

  INSERT INTO llmeval.experiments AS e (tenant, name) VALUES (tenant, name)
  ON CONFLICT ON CONSTRAINT experiments_tenant_name_key DO NOTHING
  RETURNING e.id INTO new_experiment;
  IF new_experiment IS NULL THEN
    RAISE EXCEPTION 'experiment "%" already exists', name
      USING ERRCODE = 'duplicate_object',
            HINT = 'Add variants to it with llmeval.add_variant, or choose another name.';
  END IF;

  -- One insert per variant, in array order: ids then follow the order, and
  -- the first variant (the lowest id) is the control.
  FOR element, ord IN SELECT a.e, a.o FROM jsonb_array_elements(variants) WITH ORDINALITY AS a(e, o) LOOP
    parsed := llmeval._parse_variant(element, format('variant %s of experiment "%s"', ord, name), tenant);
    IF parsed.name = ANY (seen) THEN
      RAISE EXCEPTION 'variant "%" of experiment "%" is specified more than once', parsed.name, name
        USING ERRCODE = 'duplicate_object';
    END IF;
    seen := seen || parsed.name;
    INSERT INTO llmeval.experiment_variants (experiment_id, tenant, name, weight, prompt_version_id, model_id)
    VALUES (new_experiment, tenant, parsed.name, parsed.weight, parsed.prompt_version_id, parsed.model_id);
  END LOOP;
  RETURN new_experiment;
END $$;
COMMENT ON FUNCTION llmeval.create_experiment(text, jsonb) IS
  'creates an A/B experiment from an array of variants {"name", "weight" (default 1), "prompt", "prompt_version", "model"}; the first is the control; returns its id';

CREATE FUNCTION llmeval.add_variant(experiment text, variant jsonb)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  tenant text := llmeval._require_tenant();
  e llmeval.experiments := llmeval._experiment(experiment, tenant);
  parsed record := llmeval._parse_variant(variant, format('the new variant of experiment "%s"', experiment),
                                          tenant);
  new_variant bigint;
BEGIN
  -- one change of an experiment's variants at a time
  PERFORM FROM llmeval.experiments x WHERE x.id = e.id FOR UPDATE;
  INSERT INTO llmeval.experiment_variants AS v (experiment_id, tenant, name, weight, prompt_version_id, model_id)
  VALUES (e.id, tenant, parsed.name, parsed.weight, parsed.prompt_version_id, parsed.model_id)
  ON CONFLICT ON CONSTRAINT experiment_variants_experiment_id_name_key DO NOTHING
  RETURNING v.id INTO new_variant;
  IF new_variant IS NULL THEN
    RAISE EXCEPTION 'variant "%" of experiment "%" already exists', parsed.name, experiment
      USING ERRCODE = 'duplicate_object';
  END IF;
  RETURN new_variant;
END $$;
COMMENT ON FUNCTION llmeval.add_variant(text, jsonb) IS
  'adds a variant to an experiment; units move only to the new variant, in the share its weight gives it; returns the variant id';

-- h in (0, 1) for a unit and a variant (see the top of this file). Plain
-- SQL with no SET clause, so that the planner inlines it into assign_variant.
CREATE FUNCTION llmeval._assignment_hash(experiment_id bigint, variant text, unit_key text)
RETURNS float8
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT (('x' || pg_catalog.left(pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(
             experiment_id || ':' || pg_catalog.char_length(variant) || ':' || variant || ':' || unit_key,
             'UTF8')), 'hex'), 13))::bit(52)::bigint::float8 + 0.5) / 4503599627370496::float8
$$;

-- experiments.variant_names and variant_weights mirror the experiment's
-- variants in creation order, whatever changes them (add_variant, or an
-- INSERT, UPDATE or DELETE by the tenant): assign_variant then reads a single
-- row, which matters when it runs once per unit, as each query over a table
-- with row-level security evaluates the tenant anew.
CREATE FUNCTION llmeval._experiment_variants_changed()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  touched bigint[];
BEGIN
  touched := CASE TG_OP WHEN 'INSERT' THEN ARRAY[NEW.experiment_id]
                        WHEN 'DELETE' THEN ARRAY[OLD.experiment_id]
                        ELSE ARRAY[NEW.experiment_id, OLD.experiment_id] END;
  -- Lock first, then read the variants in a new statement: its snapshot
  -- then includes a concurrent change committed while this one waited, so
  -- the last writer's arrays are complete.
  PERFORM FROM llmeval.experiments e WHERE e.id = ANY (touched) ORDER BY e.id FOR UPDATE;
  UPDATE llmeval.experiments e
  SET variant_names = ARRAY(SELECT v.name FROM llmeval.experiment_variants v
                            WHERE v.experiment_id = e.id AND v.tenant = e.tenant ORDER BY v.id),
      variant_weights = ARRAY(SELECT v.weight FROM llmeval.experiment_variants v
                              WHERE v.experiment_id = e.id AND v.tenant = e.tenant ORDER BY v.id)
  WHERE e.id = ANY (touched);
  RETURN NULL;
END $$;
CREATE TRIGGER variants_changed AFTER INSERT OR UPDATE OR DELETE ON llmeval.experiment_variants
  FOR EACH ROW EXECUTE FUNCTION llmeval._experiment_variants_changed();

CREATE FUNCTION llmeval.assign_variant(experiment text, unit_key text)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  tenant text := llmeval.current_tenant();
  experiment_id bigint;
  names text[];
  weights float8[];
  score float8;
  best float8;
  chosen text;
BEGIN
  IF tenant IS NULL THEN
    PERFORM llmeval._require_tenant();
  END IF;
  IF experiment IS NULL THEN
    RAISE EXCEPTION 'an experiment name is required' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF unit_key IS NULL THEN
    RAISE EXCEPTION 'a unit key is required' USING ERRCODE = 'null_value_not_allowed',
      HINT = 'The unit key identifies who or what is assigned: a user id, a session id.';
  END IF;
  SELECT x.id, x.variant_names, x.variant_weights INTO experiment_id, names, weights
  FROM llmeval.experiments x WHERE x.name = experiment AND x.tenant = tenant;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'experiment "%" does not exist', experiment USING ERRCODE = 'undefined_object';
  ELSIF cardinality(names) = 0 THEN
    RAISE EXCEPTION 'experiment "%" has no variants', experiment
      USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Add one with llmeval.add_variant.';
  END IF;
  -- The lowest -ln(h) / weight; a tie (equal hashes) goes to the first name
  -- in byte order. A plain loop: twice as fast as a sorting subquery.
  FOR i IN 1..cardinality(names) LOOP
    score := -ln(llmeval._assignment_hash(experiment_id, names[i], unit_key)) / weights[i];
    IF best IS NULL OR score < best OR (score = best AND names[i] COLLATE "C" < chosen COLLATE "C") THEN
      best := score;
      chosen := names[i];
    END IF;
  END LOOP;
  RETURN chosen;
END $$;
COMMENT ON FUNCTION llmeval.assign_variant(text, text) IS
  'the variant of a unit, by weighted rendezvous hashing: each variant scores -ln(h)/weight with '
  'h = (first 52 bits of sha256(''<experiment id>:<length of name>:<name>:<unit key>'') + 0.5) / 2^52, '
  'the lowest score wins (ties by name, in byte order); traffic follows the weights, adding a variant moves units '
  'only to it and removing one moves only its units';

CREATE FUNCTION llmeval.record_outcome(experiment text, unit_key text, metric text, value float8,
                                       variant text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  tenant text := llmeval._require_tenant();
  e llmeval.experiments := llmeval._experiment(experiment, tenant);
  variant_id bigint;
  new_outcome bigint;
BEGIN
  IF unit_key IS NULL OR metric IS NULL OR metric = '' OR value IS NULL THEN
    RAISE EXCEPTION 'an outcome needs a unit key, a metric and a value'
      USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF value IN ('NaN', 'Infinity', '-Infinity') THEN
    RAISE EXCEPTION 'the value of metric "%" must be finite, not %', metric, value
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  variant := coalesce(variant, llmeval.assign_variant(experiment, unit_key));
  SELECT v.id INTO variant_id FROM llmeval.experiment_variants v
  WHERE v.experiment_id = e.id AND v.tenant = tenant AND v.name = variant;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'variant "%" of experiment "%" does not exist', variant, experiment
      USING ERRCODE = 'undefined_object';
  END IF;
  INSERT INTO llmeval.experiment_outcomes AS o (experiment_id, variant_id, tenant, unit_key, metric, value)
  VALUES (e.id, variant_id, tenant, unit_key, metric, value)
  RETURNING o.id INTO new_outcome;
  RETURN new_outcome;
END $$;
COMMENT ON FUNCTION llmeval.record_outcome(text, text, text, float8, text) IS
  'records a unit''s value of a metric in an experiment, under its assigned variant unless one is given; returns the outcome id';

-- Results ---------------------------------------------------------------------

CREATE FUNCTION llmeval.experiment_result(experiment text, metric text, alpha float8 DEFAULT 0.05,
                                          power float8 DEFAULT 0.8)
RETURNS TABLE (variant text, n bigint, mean float8, control_n bigint, control_mean float8,
               diff float8, ci_low float8, ci_high float8, p_value float8, significant boolean,
               required_n bigint, additional_n bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  tenant text := llmeval._require_tenant();
  e llmeval.experiments := llmeval._experiment(experiment, tenant);
  z float8;
  control record;
  have_control boolean := false;
  arm record;
  welch record;
  se float8;
  half float8;
  pooled_var float8;
  log_required float8;
BEGIN
  IF metric IS NULL THEN
    RAISE EXCEPTION 'a metric is required' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF NOT (alpha > 0 AND alpha < 1) THEN
    RAISE EXCEPTION 'alpha must be between 0 and 1, not %', alpha
      USING ERRCODE = 'invalid_parameter_value', HINT = 'alpha is the significance level, such as 0.05.';
  END IF;
  IF NOT (power > 0 AND power < 1) THEN
    RAISE EXCEPTION 'power must be between 0 and 1, not %', power
      USING ERRCODE = 'invalid_parameter_value', HINT = 'power is the chance of detecting the difference, such as 0.8.';
  END IF;
  -- z_{1-alpha/2} + z_{power}, for the sample size
  z := llmeval._normal_quantile(1 - alpha / 2) + llmeval._normal_quantile(power);

  -- The unit of analysis is the unit, as assignment is: a unit with several
  -- outcomes for the metric in a variant counts once, with their mean.
  -- Variants in creation order: the first is the control.
  FOR arm IN
    SELECT v.name, count(u.value) AS n, avg(u.value) AS mean, var_samp(u.value) AS var,
           coalesce(array_agg(u.value) FILTER (WHERE u.value IS NOT NULL), '{}') AS vals
    FROM llmeval.experiment_variants v
    LEFT JOIN (SELECT o.variant_id, avg(o.value) AS value
               FROM llmeval.experiment_outcomes o
               WHERE o.experiment_id = e.id AND o.tenant = e.tenant AND o.metric = metric
               GROUP BY o.variant_id, o.unit_key) u ON u.variant_id = v.id
    WHERE v.experiment_id = e.id AND v.tenant = e.tenant
    GROUP BY v.id, v.name
    ORDER BY v.id
  LOOP
    IF NOT have_control THEN
      control := arm;
      have_control := true;
      CONTINUE;
    END IF;
    variant := arm.name;
    n := arm.n;
    mean := arm.mean;
    control_n := control.n;
    control_mean := control.mean;
    diff := arm.mean - control.mean;
    ci_low := NULL;
    ci_high := NULL;
    p_value := NULL;
    required_n := NULL;
    additional_n := NULL;
    -- Welch's test (NULLs below two units a group; a zero standard error
    -- gives p 0 for a difference, NULL for none).
    SELECT * INTO welch FROM llmeval.welch_t_test(arm.vals, control.vals);
    p_value := welch.p_value;
    IF alpha = 0.05 THEN
      ci_low := welch.ci_low;
      ci_high := welch.ci_high;
    ELSIF welch.ci_low IS NOT NULL THEN
      -- the same interval at level 1 - alpha: Welch's t quantile at its df
      se := sqrt(arm.var / arm.n + control.var / control.n);
      half := CASE WHEN se = 0 THEN 0 ELSE llmeval._t_quantile(1 - alpha / 2, welch.df) * se END;
      ci_low := diff - half;
      ci_high := diff + half;
    END IF;
    significant := p_value < alpha;
    -- Units per group for a two-sided test at alpha to detect the observed
    -- difference with the given power: 2 (z_{1-alpha/2} + z_power)^2 sigma^2 / delta^2,
    -- sigma the pooled standard deviation; at least 2, the t-test's minimum.
    -- Computed in logarithms, as delta^2 can underflow; beyond 10^18 units
    -- it is NULL, as for no difference.
    IF arm.n >= 1 AND control.n >= 1 AND arm.n + control.n >= 3 AND diff <> 0 THEN
      pooled_var := (coalesce(arm.var, 0) * (arm.n - 1) + coalesce(control.var, 0) * (control.n - 1))
                    / (arm.n + control.n - 2);
      IF z = 0 OR pooled_var = 0 THEN
        required_n := 2;
      ELSE
        log_required := ln(2 * z * z) + ln(pooled_var) - 2 * ln(abs(diff));
        IF log_required < ln(1e18) THEN
          required_n := greatest(ceil(exp(greatest(log_required, 0))), 2);
        END IF;
      END IF;
      additional_n := greatest(required_n - arm.n, 0) + greatest(required_n - control.n, 0);
    END IF;
    RETURN NEXT;
  END LOOP;
END $$;
COMMENT ON FUNCTION llmeval.experiment_result(text, text, float8, float8) IS
  'each variant against the control (the first variant) on a metric, one value per unit: means, '
  'difference with its 1-alpha confidence interval, Welch''s p-value, significance at alpha, and the '
  'units per group (required_n) needed to detect the observed difference with the given power, with '
  'how many more units that means in the two groups (additional_n)';
