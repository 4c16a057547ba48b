-- Every bad argument is a PT422 naming it (all of them at once), and a
-- refused change changes nothing.
begin;
select plan(51);

-- "<SQLSTATE> <field>, <field>..." (or the error code when no field applies).
create function pg_temp.error_of(p_sql text) returns text
language plpgsql
as $$
declare
  v_state text;
  v_detail text;
begin
  execute p_sql;
  return 'no error';
exception when others then
  get stacked diagnostics v_state = returned_sqlstate, v_detail = pg_exception_detail;
  if v_detail is null or v_detail !~ '^\{' then
    return v_state;
  end if;
  return v_state || ' ' || coalesce(
    (select string_agg(e ->> 'field', ', ' order by o)
     from jsonb_array_elements(v_detail::jsonb -> 'errors') with ordinality as t(e, o)),
    v_detail::jsonb ->> 'code');
end
$$;

create function pg_temp.message_of(p_sql text) returns text
language plpgsql
as $$
begin
  execute p_sql;
  return null;
exception when others then
  return sqlerrm;
end
$$;

-- get_availability(...) for alice (and bob), the arguments given replacing the defaults.
create function pg_temp.ask(p_args text) returns text
language sql
as $$
  select format('select public.get_availability(%s)', p_args);
$$;

do $$
begin
  perform tests.create_user('alice', 'Europe/Berlin');
  perform tests.create_user('bob', 'America/New_York');
  perform tests.create_user('gone', 'UTC');
  update public.profiles set deleted_at = now() where id = tests.user_id('gone');
end
$$;

create temp table ids as
select tests.user_id('alice') as alice, tests.user_id('bob') as bob, tests.user_id('gone') as gone;
grant select on ids to public;

-- get_availability ----------------------------------------------------------------

select is(pg_temp.error_of(pg_temp.ask($$null, now(), now() + interval '1 day', 30$$)),
  'PT422 user_ids', 'user_ids missing');
select is(pg_temp.error_of(pg_temp.ask($$'{}', now(), now() + interval '1 day', 30$$)),
  'PT422 user_ids', 'user_ids empty');
select is(pg_temp.error_of(pg_temp.ask(
    $$(select array_agg(extensions.gen_random_uuid()) from generate_series(1, 101)), now(), now() + interval '1 day', 30$$)),
  'PT422 user_ids', 'more than 100 users');
select is(pg_temp.error_of(pg_temp.ask(
    $$array[(select alice from ids), null], now(), now() + interval '1 day', 30$$)),
  'PT422 user_ids[1]', 'a null user id, named by position');
select is(pg_temp.error_of(pg_temp.ask(
    $$array[(select alice from ids), (select bob from ids), (select alice from ids)], now(), now() + interval '1 day', 30$$)),
  'PT422 user_ids[2]', 'a duplicate user id');
select is(pg_temp.error_of(pg_temp.ask(
    $$array[extensions.gen_random_uuid()], now(), now() + interval '1 day', 30$$)),
  'PT422 user_ids[0]', 'an unknown user');
select is(pg_temp.error_of(pg_temp.ask(
    $$array[(select gone from ids)], now(), now() + interval '1 day', 30$$)),
  'PT422 user_ids[0]', 'a deleted user');
select is(pg_temp.error_of(pg_temp.ask($$array[(select alice from ids)], null, now(), 30$$)),
  'PT422 start', 'start missing');
select is(pg_temp.error_of(pg_temp.ask($$array[(select alice from ids)], '-infinity', now(), 30$$)),
  'PT422 start', 'start infinite');
select is(pg_temp.error_of(pg_temp.ask($$array[(select alice from ids)], now(), null, 30$$)),
  'PT422 end', 'end missing');
select is(pg_temp.error_of(pg_temp.ask($$array[(select alice from ids)], now(), now(), 30$$)),
  'PT422 end', 'end not after start');
select is(pg_temp.error_of(pg_temp.ask(
    $$array[(select alice from ids)], now(), now() + interval '92 days 1 minute', 30$$)),
  'PT422 end', 'a window over 92 days');
select is(pg_temp.error_of(pg_temp.ask(
    $$array[(select alice from ids)], now(), now() + interval '92 days', 30$$)),
  'no error', 'exactly 92 days is fine');
select is(pg_temp.error_of(pg_temp.ask($$array[(select alice from ids)], now(), now() + interval '1 day', null$$)),
  'PT422 duration_minutes', 'duration missing');
select is(pg_temp.error_of(pg_temp.ask($$array[(select alice from ids)], now(), now() + interval '1 day', 4$$)),
  'PT422 duration_minutes', 'duration under 5 minutes');
select is(pg_temp.error_of(pg_temp.ask($$array[(select alice from ids)], now(), now() + interval '1 day', 1441$$)),
  'PT422 duration_minutes', 'duration over the longest meeting (1440 minutes)');
select is(pg_temp.error_of(pg_temp.ask($$array[(select alice from ids)], now(), now() + interval '1 day', 30, 4$$)),
  'PT422 step_minutes', 'step under 5 minutes');
select is(pg_temp.error_of(pg_temp.ask($$array[(select alice from ids)], now(), now() + interval '1 day', 30, 1441$$)),
  'PT422 step_minutes', 'step over a day');
select is(pg_temp.error_of(pg_temp.ask(
    $$array[(select alice from ids)], now(), now() + interval '1 day', 30, null, 'Mars/Olympus_Mons'$$)),
  'PT422 time_zone', 'an unknown display zone');
select is(pg_temp.error_of(pg_temp.ask(
    $$array[(select alice from ids), (select bob from ids)], now(), now() + interval '1 day', 30, null, 'UTC', 0$$)),
  'PT422 min_attendees', 'min_attendees 0');
select is(pg_temp.error_of(pg_temp.ask(
    $$array[(select alice from ids), (select bob from ids)], now(), now() + interval '1 day', 30, null, 'UTC', 3$$)),
  'PT422 min_attendees', 'min_attendees above the number of users');
select is(pg_temp.error_of(pg_temp.ask(
    $$array[(select alice from ids)], now(), now() + interval '1 day', 30, p_limit => 0$$)),
  'PT422 limit', 'limit 0');
select is(pg_temp.error_of(pg_temp.ask(
    $$array[(select alice from ids)], now(), now() + interval '1 day', 30, p_limit => 1001$$)),
  'PT422 limit', 'limit over the maximum (1000)');
select is(pg_temp.error_of(pg_temp.ask(
    $$array[(select alice from ids)], now(), now() + interval '1 day', 30, p_cursor => 'not a cursor!'$$)),
  'PT422 cursor', 'a cursor that is not one');
select is(pg_temp.error_of(pg_temp.ask(
    $$array[(select alice from ids)], now(), now() + interval '1 day', 30, p_cursor => 'bm9wZQ'$$)),
  'PT422 cursor', 'base64 of something else');
select is(pg_temp.error_of(pg_temp.ask(
    $$array[(select alice from ids)], '2027-06-01Z', '2027-06-02Z', 30,
      p_cursor => private.encode_slot_cursor('2027-07-01 10:00Z')$$)),
  'PT422 cursor', 'a cursor from another window');
select is(pg_temp.error_of(pg_temp.ask(
    $$array[(select alice from ids)], '2027-06-01Z', '2027-06-02Z', 30,
      p_cursor => private.encode_slot_cursor('2027-06-01 10:00Z'), p_now => '2027-05-01Z'$$)),
  'no error', 'a cursor inside the window is accepted');
select is(pg_temp.error_of(pg_temp.ask(
    $$array[(select alice from ids), (select alice from ids)], now() + interval '1 day', now(), 2, 2,
      'Nowhere', 9, 'x', 0$$)),
  'PT422 user_ids[1], end, duration_minutes, step_minutes, time_zone, min_attendees, cursor, limit',
  'every problem is named at once, in argument order');
select ok(
  (select position('92 days' in sqlerrm) > 0
   from (select pg_temp.message_of(pg_temp.ask(
           $$array[(select alice from ids)], now(), now() + interval '100 days', 30$$)) as sqlerrm) m),
  'and says what the rule is: "end: the window may span at most 92 days..."');

-- Rule RPCs -----------------------------------------------------------------------

do $$ begin perform tests.authenticate_as('alice'); end $$;
select is(pg_temp.error_of($$select public.create_working_hours(0, '09:00', '17:00')$$),
  'PT422 weekday', 'weekday 0');
select is(pg_temp.error_of($$select public.create_working_hours(8, '09:00', '17:00')$$),
  'PT422 weekday', 'weekday 8');
select is(pg_temp.error_of($$select public.create_working_hours(1, null, '17:00')$$),
  'PT422 start_time', 'start_time missing');
select is(pg_temp.error_of($$select public.create_working_hours(1, '24:00', '17:00')$$),
  'PT422 start_time', 'start_time 24:00');
select is(pg_temp.error_of($$select public.create_working_hours(1, '09:00:30', '17:00')$$),
  'PT422 start_time', 'start_time with seconds');
select is(pg_temp.error_of($$select public.create_working_hours(1, '09:00', '00:00')$$),
  'PT422 end_time', 'end_time 00:00 (24:00 is the end of the day)');
select is(pg_temp.error_of($$select public.create_working_hours(1, '09:00', '09:00')$$),
  'PT422 end_time', 'an empty window');
select is(pg_temp.error_of($$select public.create_working_hours(1, '09:00', '17:00', '2027-02-01', '2027-01-31')$$),
  'PT422 valid_until', 'valid_until before valid_from');
select is(pg_temp.error_of($$select public.replace_working_hours('{"weekday": 1}')$$),
  'PT422 working_hours', 'replace_working_hours wants an array');
select is(pg_temp.error_of($$select public.replace_working_hours(
    '[{"weekday": 1, "start_time": "09:00", "end_time": "17:00"},
      {"weekday": "monday", "start_time": "25:00", "end_time": "9", "valid_from": "2027-02-30"},
      "nine to five"]')$$),
  'PT422 working_hours[1].weekday, working_hours[1].start_time, working_hours[1].end_time, working_hours[1].valid_from, working_hours[2]',
  'replace_working_hours names every bad field by position');
select is(pg_temp.error_of(format('select public.replace_working_hours(%L)',
    (select jsonb_agg(jsonb_build_object('weekday', 1 + i % 7, 'start_time', '09:00', 'end_time', '10:00'))
     from generate_series(1, 51) i))),
  'PT422 working_hours', 'more than 50 windows');
select is((select count(*)::integer from public.working_hours where user_id = tests.user_id('alice')), 5,
  'after all those refusals alice still has her five windows');
select is(pg_temp.error_of($$select public.create_availability_override(null, 'unavailable')$$),
  'PT422 date', 'override without a date');
select is(pg_temp.error_of($$select public.create_availability_override('2027-06-09', 'busy')$$),
  'PT422 kind', 'override of an unknown kind');
select is(pg_temp.error_of($$select public.create_availability_override('2027-06-09', 'available')$$),
  'PT422 start_time, end_time', 'an extra window needs its times');
select is(pg_temp.error_of($$select public.create_availability_override('2027-06-09', 'unavailable', '10:00')$$),
  'PT422 end_time', 'time off with a start but no end');
select is(pg_temp.error_of($$select public.set_availability_limits(p_earliest_start => '16:00', p_latest_end => '10:00')$$),
  'PT422 latest_end', 'latest_end before earliest_start');
select is(pg_temp.error_of($$select public.set_availability_limits(p_horizon_days => -1, p_max_meetings_per_day => 0)$$),
  'PT422 horizon_days, max_meetings_per_day', 'negative horizon and a zero daily maximum');
select is(pg_temp.error_of($$select public.list_availability_overrides('2027-06-30', '2027-06-01')$$),
  'PT422 to', 'listing backwards');
select is((select count(*)::integer from public.availability_overrides), 0, 'no override was stored');
select is((select count(*)::integer from public.availability_limits), 0, 'no limits were stored');
do $$ begin perform tests.clear_authentication(); end $$;

select is(pg_temp.error_of($$select public.create_working_hours(1, '09:00', '17:00')$$),
  'PT401 not_authenticated', 'without a signed-in user the rule RPCs answer 401');

select * from finish();
rollback;
