-- The C++/Postgres boundary: C++ exceptions become SQL errors with the right
-- SQLSTATE after every destructor ran, Postgres errors become C++ exceptions,
-- and the session stays usable after each.
BEGIN;
SELECT plan(14);

CREATE TEMP TABLE counts AS SELECT llmeval._boundary_destructor_count() AS before;

SELECT throws_ok($$ SELECT llmeval._boundary_selftest('core_error') $$,
                 '22023', 'selftest: core error', 'core::Error maps to its SQLSTATE');
-- outer + five frames of ThrowDeep
SELECT is(llmeval._boundary_destructor_count() - before, 6::bigint,
          'every destructor ran before the SQL error') FROM counts;
SELECT is(llmeval._boundary_selftest('ok'), 'ok', 'session usable after a C++ exception');

UPDATE counts SET before = llmeval._boundary_destructor_count();
SELECT throws_ok($$ SELECT llmeval._boundary_selftest('pg_error') $$,
                 '22012', 'selftest: postgres error',
                 'a Postgres error crossing C++ is re-raised unchanged');
SELECT is(llmeval._boundary_destructor_count() - before, 1::bigint,
          'C++ frames between the ereport and Postgres were unwound') FROM counts;

UPDATE counts SET before = llmeval._boundary_destructor_count();
SELECT is(llmeval._boundary_selftest('pg_error_caught'), 'caught 22012: selftest: postgres error',
          'C++ can catch a Postgres error as an exception');
SELECT is(llmeval._boundary_destructor_count() - before, 2::bigint,
          'objects inside and around the caught call were destroyed') FROM counts;

SELECT throws_ok($$ SELECT llmeval._boundary_selftest('std_exception') $$,
                 'XX000', 'selftest: std exception', 'other exceptions are internal errors');
SELECT throws_ok($$ SELECT llmeval._boundary_selftest('bad_alloc') $$,
                 '53200', 'out of memory', 'bad_alloc is out of memory');
SELECT throws_ok($$ SELECT llmeval._boundary_selftest('nope') $$,
                 '22023', 'unknown selftest "nope"', 'unknown kind');

-- Errors inside a transaction with a savepoint: roll back cleanly, go on.
SAVEPOINT s;
SELECT throws_ok($$ SELECT llmeval.bleu('a', 'b', tokenize => 'bogus') $$, '22023');
ROLLBACK TO SAVEPOINT s;
SELECT ok(llmeval.bleu('a b c d', 'a b c d') > 99.9, 'metrics work after a rolled back error');

-- Repeating the error many times leaks nothing that breaks the backend.
SELECT lives_ok($$ DO $do$ BEGIN
  FOR i IN 1..2000 LOOP
    BEGIN PERFORM llmeval._boundary_selftest('core_error');
    EXCEPTION WHEN invalid_parameter_value THEN NULL; END;
  END LOOP; END $do$ $$, '2000 caught C++ errors in one session');
SELECT is(llmeval._boundary_selftest('ok'), 'ok', 'still usable');

SELECT * FROM finish();
ROLLBACK;
