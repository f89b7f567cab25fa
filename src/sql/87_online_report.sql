-- The report page of an online rule: its metrics' means over time (one SVG
-- line chart per metric, with the rule's alert_below as a dashed line) and
-- the worst rows. Self-contained like the job pages of 84_reports.sql
-- (inline CSS and SVG, no script, every value from data escaped), with the
-- caller's rights: a tenant renders its own rules, an administrator any.

-- A line chart of (bucket start, mean) points, the y axis from 0 to
-- axis_max, and a dashed horizontal line at level when there is one.
CREATE FUNCTION llmeval._svg_line(times timestamptz[], vals double precision[], axis_max double precision,
                                  level double precision, color text, aria text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  left_w constant int := 44;
  plot_w constant int := 440;
  plot_h constant int := 150;
  top_h constant int := 8;
  n int := coalesce(cardinality(vals), 0);
  t0 double precision := extract(epoch FROM times[1]);
  span double precision := greatest(extract(epoch FROM times[n]) - extract(epoch FROM times[1]), 1);
  out text;
BEGIN
  out := format('<svg class="chart line" width="%s" height="%s" viewBox="0 0 %s %s" role="img" aria-label="%s">',
                left_w + plot_w + 10, top_h + plot_h + 24, left_w + plot_w + 10, top_h + plot_h + 24,
                llmeval._html(aria));
  SELECT out || string_agg(format('<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s"/>'
                                  '<text class="tick" x="%s" y="%s" text-anchor="end">%s</text>',
                                  left_w, llmeval._svg_num(top_h + plot_h * (1 - f)), left_w + plot_w,
                                  llmeval._svg_num(top_h + plot_h * (1 - f)), left_w - 4,
                                  llmeval._svg_num(top_h + plot_h * (1 - f) + 4), llmeval._report_num(f * axis_max)),
                           '' ORDER BY f)
  INTO out FROM unnest(ARRAY[0, 0.5, 1]::float8[]) f;
  IF level IS NOT NULL THEN
    out := out || format('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#e03131" stroke-dasharray="5 4">'
                         '<title>alert_below %s</title></line>',
                         left_w, llmeval._svg_num(top_h + plot_h * (1 - least(greatest(level / axis_max, 0), 1))),
                         left_w + plot_w, llmeval._svg_num(top_h + plot_h * (1 - least(greatest(level / axis_max, 0), 1))),
                         llmeval._report_num(level));
  END IF;
  SELECT out || format('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>', llmeval._html(color),
                       string_agg(llmeval._svg_num(x) || ',' || llmeval._svg_num(y), ' ' ORDER BY i))
              || string_agg(format('<circle cx="%s" cy="%s" r="3" fill="%s"><title>%s: %s</title></circle>',
                                   llmeval._svg_num(x), llmeval._svg_num(y), llmeval._html(color),
                                   llmeval._report_time(times[i]::text), llmeval._report_num(vals[i])), '' ORDER BY i)
  INTO out
  FROM (SELECT i, left_w + plot_w * CASE WHEN n = 1 THEN 0.5 ELSE (extract(epoch FROM times[i]) - t0) / span END AS x,
               top_h + plot_h * (1 - least(greatest(vals[i] / axis_max, 0), 1)) AS y
        FROM generate_series(1, n) i) p;
  RETURN out || format('<text class="tick" x="%s" y="%s">%s</text><text class="tick" x="%s" y="%s" text-anchor="end">%s</text>'
                       '<line class="axis" x1="%s" y1="%s" x2="%s" y2="%s"/></svg>',
                       left_w, top_h + plot_h + 16, llmeval._report_time(times[1]::text),
                       left_w + plot_w, top_h + plot_h + 16, llmeval._report_time(times[n]::text),
                       left_w, top_h + plot_h, left_w + plot_w, top_h + plot_h);
END $$;

CREATE FUNCTION llmeval.report_html_online(rule text, bucket interval DEFAULT '1 hour',
                                           worst int DEFAULT 10)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  r llmeval.online_rules;
  charts text;
  worst_rows text;
BEGIN
  IF worst IS NULL OR worst < 0 OR worst > 1000 THEN
    RAISE EXCEPTION 'worst must be from 0 to 1000' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- The caller's rule, or any tenant's for an administrator (said here,
  -- not left to row-level security, which superusers skip).
  SELECT * INTO r FROM llmeval.online_rules o
  WHERE o.name = rule AND (o.tenant = llmeval.current_tenant() OR llmeval._is_admin())
  ORDER BY o.tenant = llmeval.current_tenant() DESC LIMIT 1;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'online rule "%" does not exist', rule USING ERRCODE = 'undefined_object';
  END IF;

  SELECT string_agg(format('<div class="card"><h3>%s <span class="hint">%s scores, mean %s</span></h3>%s</div>',
                           llmeval._html(m.metric), m.n, llmeval._report_num(m.mean),
                           llmeval._svg_line(m.times, m.means,
                                             llmeval._report_axis_max(greatest(m.top, m.level, 1e-9)),
                                             m.level, llmeval._report_color(m.ord),
                                             'mean of ' || m.metric || ' per ' || bucket::text)),
                    '' ORDER BY m.ord)
  INTO charts
  FROM (SELECT x.metric, x.ord, sum(s.n) AS n, sum(s.n * s.mean) / nullif(sum(s.n), 0) AS mean,
               array_agg(s.bucket_start ORDER BY s.bucket_start) AS times,
               array_agg(s.mean ORDER BY s.bucket_start) AS means, max(s.mean) AS top,
               (r.options -> 'alert_below' ->> x.metric)::float8 AS level
        FROM unnest(r.metrics) WITH ORDINALITY AS x(metric, ord)
        JOIN llmeval.online_summary(r.name, bucket) s ON s.metric = x.metric
        GROUP BY x.metric, x.ord) m;

  SELECT string_agg(format('<tr><td>%s</td><td>%s</td><td class="num">%s</td><td class="text">%s</td><td class="text">%s</td></tr>',
                           llmeval._html(w.metric), llmeval._report_text(w.row_key, 60), llmeval._report_num(w.value),
                           llmeval._report_text(w.input ->> 'input'), llmeval._report_text(w.output)),
                    '' ORDER BY w.metric, w.value, w.row_key)
  INTO worst_rows
  FROM (SELECT s.metric, s.row_key, s.value, tc.input, re.output,
               row_number() OVER (PARTITION BY s.metric ORDER BY s.value, s.row_key) AS k
        FROM llmeval.online_scores s
        JOIN llmeval.tasks t ON t.id = s.task_id
        JOIN llmeval.test_cases tc ON tc.id = t.test_case_id
        LEFT JOIN llmeval.responses re ON re.task_id = t.id
        WHERE s.rule_id = r.id AND s.value IS NOT NULL) w
  WHERE w.k <= worst;

  RETURN '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
    || '<meta http-equiv="Content-Security-Policy" content="default-src ''none''; style-src ''unsafe-inline''">'
    || '<meta name="viewport" content="width=device-width, initial-scale=1">'
    || '<title>' || llmeval._report_text('Online rule ' || r.name, 200) || '</title>'
    || '<style>' || llmeval._report_css() || '</style></head><body><main>'
    || format('<header class="top"><h1>Online rule %s<span class="badge">%s</span></h1>'
              '<div class="sub">on %s · sampling %s · metrics %s</div>%s</header>',
              llmeval._html(r.name), llmeval._html(r.status), llmeval._html(r.source::regclass::text),
              llmeval._report_num(r.sampling_rate), llmeval._html(array_to_string(r.metrics, ', ')),
              CASE WHEN cardinality(r.alerting) > 0
                   THEN '<pre>alerting: ' || llmeval._html(array_to_string(r.alerting, ', ')) || '</pre>' ELSE '' END)
    || '<section><h2>Scores over time <span class="hint">mean per ' || llmeval._html(bucket::text)
    || '; dashed: alert_below</span></h2>'
    || coalesce('<div class="grid2">' || charts || '</div>', '<p class="empty">No scores yet.</p>') || '</section>'
    || '<section><h2>Worst rows <span class="hint">the lowest scores of each metric</span></h2>'
    || coalesce('<table><thead><tr><th>metric</th><th>row</th><th class="num">score</th><th>input</th><th>output</th></tr></thead><tbody>'
                || worst_rows || '</tbody></table>', '<p class="empty">No scores yet.</p>')
    || '</section>'
    || format('<footer>pg_llmeval online rule report · generated %s</footer>', llmeval._report_time(now()::text))
    || '</main></body></html>';
END $$;
COMMENT ON FUNCTION llmeval.report_html_online(text, interval, int) IS
  'a self-contained HTML page on an online rule: each metric''s mean over time (SVG line charts, alert_below dashed) and its worst rows';
