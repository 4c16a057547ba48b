-- The API's rate-limit counter: counts per bucket within a fixed window,
-- answers the most constrained bucket, starts over in the next window, and
-- is out of reach of every API role.
begin;
select plan(8);

select results_eq(
  $$select allowed, limit_value, remaining from private.rate_limit_hit(
      array['ip:t', 'user:t'], array[3, 2], 60, '2030-01-01 00:00:10+00')$$,
  $$values (true, 2, 1)$$,
  'the first request is allowed; the tighter bucket (2) is the one reported');
select results_eq(
  $$select allowed, remaining from private.rate_limit_hit(
      array['ip:t', 'user:t'], array[3, 2], 60, '2030-01-01 00:00:20+00')$$,
  $$values (true, 0)$$,
  'the second uses up the user bucket');
select results_eq(
  $$select allowed, limit_value, remaining, reset_seconds from private.rate_limit_hit(
      array['ip:t', 'user:t'], array[3, 2], 60, '2030-01-01 00:00:30+00')$$,
  $$values (false, 2, 0, 30)$$,
  'the third is refused, with 30 seconds until the window resets');
select results_eq(
  $$select allowed from private.rate_limit_hit(array['ip:t'], array[3], 60, '2030-01-01 00:00:40+00')$$,
  $$values (false)$$,
  'refused requests count: the address bucket is now full too');
select results_eq(
  $$select allowed, remaining from private.rate_limit_hit(
      array['ip:t', 'user:t'], array[3, 2], 60, '2030-01-01 00:01:00+00')$$,
  $$values (true, 1)$$,
  'a new window starts from zero');
select is(
  (select hits from private.rate_limit_buckets where bucket = 'user:t'), 1,
  'one row per bucket, reset in place');

select ok(
  not has_function_privilege('authenticated',
    'private.rate_limit_hit(text[], integer[], integer, timestamptz)', 'execute')
  and not has_function_privilege('anon',
    'private.rate_limit_hit(text[], integer[], integer, timestamptz)', 'execute')
  and not has_function_privilege('service_role',
    'private.rate_limit_hit(text[], integer[], integer, timestamptz)', 'execute'),
  'no API role may call the counter');
select ok(
  (select relpersistence = 'u' from pg_class where oid = 'private.rate_limit_buckets'::regclass),
  'the counters are unlogged: counting costs no WAL flush');

select * from finish();
rollback;
