-- Privileges as data for recurring meetings: series are read under RLS and
-- written only through book_meeting_series / update_series / cancel_series.
begin;
select plan(15);

select table_privs_are('public', 'meeting_series', 'anon', '{}'::text[], 'anon: nothing on meeting_series');
select table_privs_are('public', 'meeting_series', 'authenticated', array['SELECT'],
  'authenticated: select on meeting_series only');
select table_privs_are('public', 'meeting_series', 'service_role', array['SELECT'],
  'service_role: select on meeting_series only');
select table_privs_are('private', 'series_conflicts', 'authenticated', '{}'::text[],
  'authenticated: nothing on private.series_conflicts');
select table_privs_are('private', 'series_conflicts', 'service_role', array['SELECT'],
  'service_role: select on private.series_conflicts');

select function_privs_are('public', 'book_meeting_series',
  array['text', 'text', 'timestamptz', 'timestamptz', 'text', 'jsonb', 'text', 'text', 'boolean', 'date', 'date',
        'timestamptz[]', 'text', 'text', 'timestamptz'], 'authenticated', array['EXECUTE'],
  'authenticated may execute book_meeting_series');
select function_privs_are('public', 'book_meeting_series',
  array['text', 'text', 'timestamptz', 'timestamptz', 'text', 'jsonb', 'text', 'text', 'boolean', 'date', 'date',
        'timestamptz[]', 'text', 'text', 'timestamptz'], 'anon', '{}'::text[],
  'anon may not execute book_meeting_series');
select function_privs_are('public', 'update_series',
  array['uuid', 'integer', 'text', 'text', 'text', 'text', 'timestamptz', 'timestamptz', 'text', 'jsonb', 'timestamptz'],
  'authenticated', array['EXECUTE'], 'authenticated may execute update_series');
select function_privs_are('public', 'update_series',
  array['uuid', 'integer', 'text', 'text', 'text', 'text', 'timestamptz', 'timestamptz', 'text', 'jsonb', 'timestamptz'],
  'anon', '{}'::text[], 'anon may not execute update_series');
select function_privs_are('public', 'cancel_series', array['uuid', 'text', 'text', 'integer', 'timestamptz'],
  'authenticated', array['EXECUTE'], 'authenticated may execute cancel_series');
select function_privs_are('public', 'cancel_series', array['uuid', 'text', 'text', 'integer', 'timestamptz'],
  'service_role', '{}'::text[], 'service_role may not execute cancel_series (it has no user to act as)');
select function_privs_are('private', 'materialize_series', array['uuid', 'timestamptz', 'timestamptz', 'text'],
  'authenticated', '{}'::text[], 'authenticated may not execute private.materialize_series');
select function_privs_are('private', 'extend_series_horizons', array['timestamptz'],
  'authenticated', '{}'::text[], 'authenticated may not execute private.extend_series_horizons');

-- Acting as a user, direct writes are refused.
select tests.create_user('olga') \g /dev/null
select tests.authenticate_as('olga') \g /dev/null
select throws_ok(
  $$insert into public.meeting_series (organizer_id, rrule, time_zone, first_start_local, duration, title, horizon_until)
    values (auth.uid(), 'FREQ=DAILY', 'UTC', '2030-01-01 09:00', '1 hour', 'sneaky', now())$$,
  '42501', null, 'a user cannot insert a series directly');
select throws_ok(
  $$update public.meeting_series set title = 'x'$$,
  '42501', null, 'a user cannot update a series directly');

select * from finish();
rollback;
