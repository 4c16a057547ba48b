-- Who may read and change availability rules, and what get_availability
-- tells whom. Grouped by actor: owner, stranger, anon, service_role.
begin;
select plan(41);

-- SQLSTATE of a statement, or 'ok'.
create function pg_temp.state_of(p_sql text) returns text
language plpgsql
as $$
begin
  execute p_sql;
  return 'ok';
exception when others then
  return sqlstate;
end
$$;

do $$
begin
  perform tests.create_user('alice', 'Europe/Berlin');
  perform tests.create_user('bob', 'America/New_York');
  insert into public.availability_overrides (user_id, date, kind)
  values (tests.user_id('alice'), '2027-06-09', 'unavailable');
  insert into public.availability_limits (user_id, horizon_days) values (tests.user_id('alice'), 30);
  insert into private.external_busy (user_id, external_id, range)
  values (tests.user_id('alice'), 'secret-event', '[2027-06-07 09:00Z, 2027-06-07 10:00Z)');
  perform tests.authenticate_as('alice');
  perform public.book_meeting(p_title => 'Salary review with Bob', p_start => '2027-06-07 12:00Z',
                              p_end => '2027-06-07 13:00Z', p_time_zone => 'Europe/Berlin',
                              p_now => '2027-06-01 00:00Z');
  perform tests.clear_authentication();
end
$$;

-- Privileges, as data ----------------------------------------------------------

select table_privs_are('public', 'working_hours', 'authenticated', array['SELECT'],
  'authenticated may only read working_hours (writes go through the RPCs)');
select table_privs_are('public', 'availability_overrides', 'authenticated', array['SELECT'],
  'authenticated may only read availability_overrides');
select table_privs_are('public', 'availability_limits', 'authenticated', array['SELECT'],
  'authenticated may only read availability_limits');
select table_privs_are('public', 'working_hours', 'anon', '{}'::text[], 'anon may not touch working_hours');
select table_privs_are('private', 'external_busy', 'authenticated', '{}'::text[],
  'authenticated may not read external busy blocks');
select table_privs_are('private', 'external_busy', 'service_role',
  array['SELECT', 'INSERT', 'UPDATE', 'DELETE'], 'service_role maintains external busy blocks (calendar sync)');
select function_privs_are('public', 'get_availability',
  array['uuid[]', 'timestamp with time zone', 'timestamp with time zone', 'integer', 'integer', 'text',
        'integer', 'text', 'integer', 'timestamp with time zone'],
  'anon', '{}'::text[], 'anon may not ask for availability');
select function_privs_are('public', 'get_availability',
  array['uuid[]', 'timestamp with time zone', 'timestamp with time zone', 'integer', 'integer', 'text',
        'integer', 'text', 'integer', 'timestamp with time zone'],
  'authenticated', array['EXECUTE'], 'signed-in users may ask for availability');
select function_privs_are('public', 'replace_working_hours', array['jsonb'], 'anon', '{}'::text[],
  'anon may not change working hours');

-- The owner ---------------------------------------------------------------------

do $$ begin perform tests.authenticate_as('alice'); end $$;
select is((select count(*)::integer from public.working_hours), 5, 'alice reads her own five default windows');
select is((select count(*)::integer from public.availability_overrides), 1, 'alice reads her own override');
select is((select horizon_days from public.availability_limits), 30, 'alice reads her own limits');
select is(pg_temp.state_of($$insert into public.working_hours (user_id, weekday, start_time, end_time)
                             values (auth.uid(), 6, '10:00', '12:00')$$),
  '42501', 'alice cannot insert a window directly');
select is(pg_temp.state_of($$update public.working_hours set start_time = '06:00'$$),
  '42501', 'alice cannot update windows directly');
select is(pg_temp.state_of($$delete from public.availability_overrides$$),
  '42501', 'alice cannot delete overrides directly');

select is((public.create_working_hours(6, '10:00', '14:00') ->> 'weekday')::integer, 6,
  'alice adds a Saturday window through the RPC');
select is((public.update_working_hours(
            (select id from public.working_hours where weekday = 6), 6, '11:00', '15:00') ->> 'start_time'),
  '11:00', 'alice moves it');
select is((public.delete_working_hours((select id from public.working_hours where weekday = 6)) ->> 'end_time'),
  '15:00', 'alice deletes it and gets it back');
select is(jsonb_array_length(public.replace_working_hours(
            '[{"weekday": 1, "start_time": "08:00", "end_time": "12:00"},
              {"weekday": 1, "start_time": "13:00", "end_time": "17:00"},
              {"weekday": 5, "start_time": "22:00", "end_time": "06:00", "valid_from": "2027-01-01"}]')),
  3, 'alice replaces her week: two windows on Monday, a night on Friday');
select is(public.get_availability_rules() -> 'working_hours' -> 2 -> 'crosses_midnight', 'true'::jsonb,
  'her rules show the Friday night runs past midnight');
select is((public.create_availability_override('2027-06-12', 'available', '10:00', '12:00') ->> 'kind'),
  'available', 'alice adds an extra window');
select is((public.update_availability_override(
            (select id from public.availability_overrides where kind = 'available'),
            '2027-06-13', 'available', '10:00', '12:00') ->> 'date'),
  '2027-06-13', 'alice moves it to another date');
select is(jsonb_array_length(public.list_availability_overrides('2027-06-10', '2027-06-30')), 1,
  'listing overrides between two dates');
select is((public.delete_availability_override(
            (select id from public.availability_overrides where kind = 'available')) ->> 'date'),
  '2027-06-13', 'alice deletes it');
select is(public.set_availability_limits(p_earliest_start => '10:00', p_max_meetings_per_day => 4),
  '{"earliest_start": "10:00", "latest_end": null, "horizon_days": null, "max_meetings_per_day": 4}'::jsonb,
  'alice sets her limits; what she leaves out is no limit');
do $$ begin perform tests.clear_authentication(); end $$;

select ok(
  (select count(*) from private.audit_log
   where table_name in ('working_hours', 'availability_overrides', 'availability_limits')
     and actor_id = tests.user_id('alice')) >= 10,
  'every change to her rules is in the audit log, with her as the actor');

-- A stranger --------------------------------------------------------------------

do $$ begin perform tests.authenticate_as('bob'); end $$;
select is((select count(*)::integer from public.working_hours where user_id = tests.user_id('alice')), 0,
  'bob sees none of alice''s working hours');
select is((select count(*)::integer from public.availability_overrides where user_id = tests.user_id('alice')), 0,
  'bob sees none of alice''s overrides');
select is((select count(*)::integer from public.availability_limits where user_id = tests.user_id('alice')), 0,
  'bob sees none of alice''s limits');
select is(pg_temp.state_of(format('select public.update_working_hours(%L, 1, %L, %L)',
            (select id from public.working_hours where user_id = tests.user_id('alice') limit 1), '09:00', '10:00')),
  'PT404', 'bob cannot change alice''s window: it does not exist for him');
select is(pg_temp.state_of(format('select public.delete_working_hours(%L)',
            (select id from public.working_hours where user_id = tests.user_id('alice') limit 1))),
  'PT404', 'nor delete it');
select is(pg_temp.state_of(format('select public.delete_availability_override(%L)',
            (select id from public.availability_overrides where user_id = tests.user_id('alice') limit 1))),
  'PT404', 'nor delete her override');
select is(pg_temp.state_of('select * from private.external_busy'), '42501',
  'bob cannot read anyone''s external busy blocks');
select is(
  (select array_agg(distinct k order by k)
   from jsonb_array_elements(public.get_availability(array[tests.user_id('alice')], '2027-06-07 00:00Z',
          '2027-06-08 00:00Z', 30, p_now => '2027-06-01 00:00Z') -> 'slots') s,
        jsonb_object_keys(s) k),
  array['end', 'start'],
  'bob asking for alice''s availability learns start and end of free slots, nothing else');
select ok(
  position('Salary' in public.get_availability(array[tests.user_id('alice')], '2027-06-07 00:00Z',
             '2027-06-08 00:00Z', 30, p_now => '2027-06-01 00:00Z')::text) = 0
  and position('secret' in public.get_availability(array[tests.user_id('alice')], '2027-06-07 00:00Z',
             '2027-06-08 00:00Z', 30, p_now => '2027-06-01 00:00Z')::text) = 0,
  'no title and no external event ever appears');
select is((public.create_working_hours(1, '07:00', '08:00') ->> 'weekday')::integer, 1,
  'bob''s own RPC calls change his rules...');
do $$ begin perform tests.clear_authentication(); end $$;
select is((select count(*)::integer from public.working_hours where user_id = tests.user_id('alice')), 3,
  '...and never alice''s');

-- anon ---------------------------------------------------------------------------

do $$ begin perform tests.authenticate_as_anon(); end $$;
select is(pg_temp.state_of('select * from public.working_hours'), '42501', 'anon cannot read working hours');
select is(pg_temp.state_of(format('select public.get_availability(array[%L]::uuid[], now(), now() + interval ''1 day'', 30)',
                                  tests.user_id('alice'))),
  '42501', 'anon cannot ask for availability');
do $$ begin perform tests.clear_authentication(); end $$;

-- service_role -------------------------------------------------------------------

do $$ begin perform tests.authenticate_as_service_role(); end $$;
select is((select count(*)::integer from public.working_hours where user_id = tests.user_id('alice')), 3,
  'service_role reads everyone''s rules');
select is(jsonb_typeof(public.get_availability(array[tests.user_id('alice')], '2027-06-07 00:00Z', '2027-06-08 00:00Z',
                                                30, p_now => '2027-06-01 00:00Z') -> 'slots'),
  'array', 'service_role may ask for availability (server-side booking pages)');
do $$ begin perform tests.clear_authentication(); end $$;

select * from finish();
rollback;
