-- The provider policy (issue 12): an administrator who is not a superuser
-- can neither name an arbitrary server environment variable as a provider's
-- key nor send providers to a cloud metadata endpoint, by create_provider or
-- by writing llmeval.providers directly; only a superuser widens the
-- settings llmeval.api_key_env_names and llmeval.provider_hosts.
BEGIN;
SELECT plan(32);

CREATE ROLE tap_policy_admin IN ROLE llmeval_admin;
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
GRANT ALL ON ALL SEQUENCES IN SCHEMA pg_temp TO PUBLIC;

-- SQLSTATE, message and hint of the error a statement raises, or 'ok'.
CREATE FUNCTION pg_temp.outcome(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  state text;
  message text;
  hint text;
BEGIN
  EXECUTE statement;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
  RETURN state || ': ' || message || ' | ' || hint;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.outcome(text) TO PUBLIC;

SELECT is(current_setting('llmeval.api_key_env_names'), '*_API_KEY,*_KEY',
          'api_key_env_names defaults to *_API_KEY,*_KEY');
SELECT is(current_setting('llmeval.provider_hosts'), '', 'provider_hosts defaults to any host');
SELECT is((SELECT context FROM pg_settings WHERE name = 'llmeval.api_key_env_names'), 'superuser',
          'api_key_env_names is a superuser setting');
SELECT is((SELECT context FROM pg_settings WHERE name = 'llmeval.provider_hosts'), 'superuser',
          'provider_hosts is a superuser setting');

SET ROLE tap_policy_admin;
SELECT ok(NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
          'the administrator is not a superuser');

-- The reproduction of issue 12: LANG as the key, the administrator's host as the URL.
SELECT is(pg_temp.outcome($$ SELECT llmeval.create_provider('evil', 'openai', 'https://own-host.example/v1', 'LANG') $$),
          '42501: environment variable "LANG" may not hold provider API keys | Only variables matching '
          'llmeval.api_key_env_names ("*_API_KEY,*_KEY") may; a superuser can change that setting, '
          'or store the key with llmeval.set_provider_secret().',
          'create_provider refuses api_key_env LANG (42501), the hint naming the setting');
SELECT throws_ok($$ SELECT llmeval.create_provider('evil', 'openai', 'https://api.openai.com/v1', 'HOME') $$,
                 '42501', 'environment variable "HOME" may not hold provider API keys',
                 'create_provider refuses HOME');
SELECT throws_ok($$ SELECT llmeval.create_provider('evil', 'openai', 'https://api.openai.com/v1', 'AWS_SECRET_ACCESS_KEY') $$,
                 '42501', 'environment variable "AWS_SECRET_ACCESS_KEY" holds a cloud credential, not a provider API key',
                 'create_provider refuses AWS_SECRET_ACCESS_KEY, though *_KEY matches it');
SELECT alike(pg_temp.outcome($$ SELECT llmeval.create_provider('evil', 'openai', 'http://169.254.169.254/', 'OPENAI_API_KEY') $$),
            '42501: provider host "169.254.169.254" is a cloud metadata endpoint | %',
            'create_provider refuses base_url http://169.254.169.254/');
SELECT throws_ok($$ SELECT llmeval.create_provider('evil', 'openai', 'http://[fd00:ec2::254]/latest') $$,
                 '42501', 'provider host "fd00:ec2::254" is a cloud metadata endpoint',
                 'create_provider refuses AWS''s IPv6 metadata endpoint');
SELECT throws_ok($$ SELECT llmeval.create_provider('evil', 'gemini', 'http://metadata.google.internal/computeMetadata/v1') $$,
                 '42501', 'provider host "metadata.google.internal" is a cloud metadata endpoint',
                 'create_provider refuses metadata.google.internal');
SELECT throws_ok($$ SELECT llmeval.create_provider('evil', 'openai', 'http://2852039166/') $$,
                 '42501', 'provider host "169.254.169.254" is a cloud metadata endpoint',
                 'create_provider refuses 169.254.169.254 written as one number');
SELECT throws_ok($$ SELECT llmeval.create_provider('evil', 'openai', 'http://api.openai.com@169.254.169.254/') $$,
                 '42501', 'provider host "169.254.169.254" is a cloud metadata endpoint',
                 'user info does not hide the host');

SELECT lives_ok($$ SELECT llmeval.create_provider('fine', 'openai', 'https://api.openai.com/v1', 'OPENAI_API_KEY') $$,
                'an *_API_KEY name and a public host pass');
SELECT lives_ok($$ SELECT llmeval.create_provider('fine2', 'anthropic', 'https://api.anthropic.com', 'MY_KEY') $$,
                'a *_KEY name passes');
SELECT lives_ok($$ SELECT llmeval.create_provider('nokey', 'openai', 'http://127.0.0.1:8089/v1') $$,
                'no key variable and a local host pass');

-- Direct writes by the administrator meet the same trigger.
SELECT throws_ok($$ INSERT INTO llmeval.providers (name, kind, base_url, api_key_env)
                    VALUES ('evil', 'openai', 'https://own-host.example/v1', 'LANG') $$,
                 '42501', 'environment variable "LANG" may not hold provider API keys',
                 'INSERT INTO llmeval.providers with LANG is refused');
SELECT throws_ok($$ UPDATE llmeval.providers SET api_key_env = 'LANG' WHERE name = 'fine' $$,
                 '42501', 'environment variable "LANG" may not hold provider API keys',
                 'UPDATE of api_key_env to LANG is refused');
SELECT throws_ok($$ UPDATE llmeval.providers SET base_url = 'http://169.254.169.254' WHERE name = 'fine' $$,
                 '42501', 'provider host "169.254.169.254" is a cloud metadata endpoint',
                 'UPDATE of base_url to the metadata endpoint is refused');
SELECT lives_ok($$ UPDATE llmeval.providers SET options = '{"x": 1}' WHERE name = 'fine' $$,
                'other columns change freely');

-- The administrator cannot widen the settings, in any way open to it.
SELECT throws_ok($$ SET llmeval.api_key_env_names = '*' $$, '42501', NULL,
                 'the administrator cannot SET api_key_env_names');
SELECT throws_ok($$ SET llmeval.provider_hosts = '*' $$, '42501', NULL,
                 'the administrator cannot SET provider_hosts');
SELECT throws_ok($$ SELECT set_config('llmeval.api_key_env_names', 'LANG', true) $$, '42501', NULL,
                 'nor through set_config');
SELECT throws_ok($$ ALTER ROLE tap_policy_admin SET llmeval.api_key_env_names = '*' $$, '42501', NULL,
                 'nor with ALTER ROLE ... SET');

-- The embedding request path (llmeval._embed) checks before sending anything.
RESET ROLE;
SELECT throws_ok($$ SELECT llmeval._embed('openai', 'http://169.254.169.254/v1', NULL, NULL, 'm', ARRAY['a']) $$,
                 '42501', 'provider host "169.254.169.254" is a cloud metadata endpoint',
                 '_embed refuses a metadata endpoint before any request');
SELECT throws_ok($$ SELECT llmeval._embed('openai', 'http://127.0.0.1:9/v1', NULL, 'LANG', 'm', ARRAY['a']) $$,
                 '42501', 'environment variable "LANG" may not hold provider API keys',
                 '_embed refuses to read LANG as the key');

-- A superuser is bound by the same defaults, and can widen or narrow them.
SELECT throws_ok($$ SELECT llmeval.create_provider('su', 'openai', 'https://api.openai.com/v1', 'LANG') $$,
                 '42501', 'environment variable "LANG" may not hold provider API keys',
                 'the defaults bind a superuser too');
SET llmeval.api_key_env_names = '*_API_KEY, LANG';
SET ROLE tap_policy_admin;
SELECT lives_ok($$ SELECT llmeval.create_provider('widened', 'openai', 'https://api.openai.com/v1', 'LANG') $$,
                'a superuser widens api_key_env_names: LANG passes');
SELECT throws_ok($$ SELECT llmeval.create_provider('narrowed', 'openai', 'https://api.openai.com/v1', 'MY_KEY') $$,
                 '42501', 'environment variable "MY_KEY" may not hold provider API keys',
                 'and *_KEY, no longer listed, is refused');
RESET ROLE;
SET llmeval.provider_hosts = 'api.openai.com, *.example.org';
SET ROLE tap_policy_admin;
SELECT is(pg_temp.outcome($$ SELECT llmeval.create_provider('own', 'openai', 'https://own-host.example/v1') $$),
          '42501: provider host "own-host.example" is not allowed | Only hosts matching '
          'llmeval.provider_hosts ("api.openai.com, *.example.org") may be used; a superuser can '
          'change that setting.',
          'with provider_hosts set, an unlisted host is refused, the hint naming the setting');
SELECT lives_ok($$ SELECT llmeval.create_provider('listed', 'openai', 'https://eu.Example.ORG/v1') $$,
                'a host matching a pattern passes (case-insensitive)');
RESET ROLE;
SET llmeval.provider_hosts = '*';
SELECT throws_ok($$ SELECT llmeval.create_provider('meta', 'openai', 'http://169.254.169.254/') $$,
                 '42501', 'provider host "169.254.169.254" is a cloud metadata endpoint',
                 'no setting lets a metadata endpoint through');

SELECT * FROM finish();
ROLLBACK;
