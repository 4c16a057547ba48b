-- Several people at once (common slots, "at least N"), the display zone's
-- step grid, and cursor pagination. Clock pinned to 2027-01-01 (winter:
-- Berlin UTC+1, New York UTC-5).
begin;
select plan(18);

create function pg_temp.answer(p_names text[], p_from timestamptz, p_to timestamptz, p_duration integer,
                               p_step integer default null, p_time_zone text default 'UTC',
                               p_min integer default null, p_cursor text default null,
                               p_limit integer default 1000)
returns jsonb
language sql
as $$
  select public.get_availability(array(select tests.user_id(n) from unnest(p_names) with ordinality u(n, o)
                                       order by o),
                                 p_from, p_to, p_duration, p_step, p_time_zone, p_min, p_cursor, p_limit,
                                 '2027-01-01 00:00Z');
$$;

create function pg_temp.starts(p_answer jsonb) returns timestamptz[]
language sql
as $$
  select coalesce(array_agg((s ->> 'start')::timestamptz order by o), '{}')
  from jsonb_array_elements(p_answer -> 'slots') with ordinality as t(s, o);
$$;

create function pg_temp.book(p_name text, p_start timestamptz, p_end timestamptz) returns void
language plpgsql
as $$
begin
  perform tests.authenticate_as(p_name);
  perform public.book_meeting(p_title => 'Busy', p_start => p_start, p_end => p_end, p_time_zone => 'UTC',
                              p_now => '2027-01-01 00:00Z');
  perform tests.clear_authentication();
end
$$;

do $$
begin
  perform tests.create_user('alice', 'Europe/Berlin');
  perform tests.create_user('bob', 'America/New_York');
  perform tests.create_user('carol', 'Asia/Kolkata');
  -- Some meetings, so that the intersection is not just the overlap of hours.
  perform pg_temp.book('alice', '2027-01-11 14:30Z', '2027-01-11 15:00Z');
  perform pg_temp.book('bob', '2027-01-12 14:00Z', '2027-01-12 14:45Z');
  perform pg_temp.book('alice', '2027-01-13 08:00Z', '2027-01-13 12:00Z');
  perform pg_temp.book('carol', '2027-01-11 07:00Z', '2027-01-11 08:00Z');
end
$$;

-- Two people in different zones ------------------------------------------------

-- Alice works 08:00Z-16:00Z, Bob 14:00Z-22:00Z on weekdays in January.
select is(
  pg_temp.starts(pg_temp.answer(array['alice', 'bob'], '2027-01-11 00:00Z', '2027-01-13 00:00Z', 30)),
  array['2027-01-11 14:00Z', '2027-01-11 15:00Z', '2027-01-11 15:30Z',
        '2027-01-12 15:00Z', '2027-01-12 15:30Z']::timestamptz[],
  'Berlin and New York: the common slots are 14:00Z-16:00Z minus either one''s meetings');

-- The general property, over two weeks with 15-minute steps: a start is
-- common exactly when it is free for each of them alone.
select is(
  pg_temp.starts(pg_temp.answer(array['alice', 'bob'], '2027-01-10 00:00Z', '2027-01-24 00:00Z', 45, 15)),
  (select coalesce(array_agg(t order by t), '{}') from (
     select unnest(pg_temp.starts(pg_temp.answer(array['alice'], '2027-01-10 00:00Z', '2027-01-24 00:00Z', 45, 15)))
     intersect
     select unnest(pg_temp.starts(pg_temp.answer(array['bob'], '2027-01-10 00:00Z', '2027-01-24 00:00Z', 45, 15)))
   ) common(t)),
  'Berlin and New York over two weeks: common slots are exactly the intersection of each one''s own');
select is(
  pg_temp.starts(pg_temp.answer(array['alice', 'carol'], '2027-01-10 00:00Z', '2027-01-24 00:00Z', 60, 30)),
  (select array_agg(t order by t) from (
     select unnest(pg_temp.starts(pg_temp.answer(array['alice'], '2027-01-10 00:00Z', '2027-01-24 00:00Z', 60, 30)))
     intersect
     select unnest(pg_temp.starts(pg_temp.answer(array['carol'], '2027-01-10 00:00Z', '2027-01-24 00:00Z', 60, 30)))
   ) common(t)),
  'Berlin and Kolkata (08:00Z-11:30Z in common): the same');
select ok(
  jsonb_array_length(pg_temp.answer(array['alice', 'carol'], '2027-01-10 00:00Z', '2027-01-24 00:00Z', 60, 30)
                     -> 'slots') > 0,
  'and that intersection is not empty');
select ok(
  not exists (select 1 from jsonb_array_elements(
    pg_temp.answer(array['alice', 'bob'], '2027-01-11 00:00Z', '2027-01-13 00:00Z', 30) -> 'slots') s
    where s ? 'user_ids'),
  'without min_attendees the slots do not list anyone');

-- At least N -------------------------------------------------------------------

-- Monday 2027-01-11, hourly from 07:00Z: Alice 08-16Z (busy 14:30-15:00),
-- Bob 14-22Z, Carol 03:30-11:30Z (busy 07-08Z).
select is(
  (select jsonb_agg(jsonb_build_array(s ->> 'start', s -> 'user_ids') order by o)
   from jsonb_array_elements(pg_temp.answer(array['alice', 'bob', 'carol'], '2027-01-11 07:00Z',
                                            '2027-01-11 16:00Z', 60, 60, 'UTC', 2) -> 'slots')
        with ordinality as t(s, o)),
  jsonb_build_array(
    jsonb_build_array('2027-01-11T08:00:00+00:00', jsonb_build_array(tests.user_id('alice'), tests.user_id('carol'))),
    jsonb_build_array('2027-01-11T09:00:00+00:00', jsonb_build_array(tests.user_id('alice'), tests.user_id('carol'))),
    jsonb_build_array('2027-01-11T10:00:00+00:00', jsonb_build_array(tests.user_id('alice'), tests.user_id('carol'))),
    jsonb_build_array('2027-01-11T15:00:00+00:00', jsonb_build_array(tests.user_id('alice'), tests.user_id('bob')))),
  'at least 2 of 3: each slot lists exactly who is free, in the order asked');
select is(
  (select jsonb_agg(jsonb_build_array(s ->> 'start', s -> 'user_ids') order by o)
   from jsonb_array_elements(pg_temp.answer(array['alice', 'bob', 'carol'], '2027-01-11 13:00Z',
                                            '2027-01-11 15:00Z', 60, 60, 'UTC', 1) -> 'slots')
        with ordinality as t(s, o)),
  jsonb_build_array(
    jsonb_build_array('2027-01-11T13:00:00+00:00', jsonb_build_array(tests.user_id('alice'))),
    jsonb_build_array('2027-01-11T14:00:00+00:00', jsonb_build_array(tests.user_id('bob')))),
  'at least 1: a slot appears when anyone is free, naming only them');
select is(
  jsonb_array_length(pg_temp.answer(array['alice', 'bob', 'carol'], '2027-01-11 00:00Z', '2027-01-16 00:00Z',
                                    30, 30, 'UTC', 3) -> 'slots'),
  0,
  'at least 3: Bob and Carol never overlap, so nothing');
select is(
  pg_temp.starts(pg_temp.answer(array['alice', 'bob'], '2027-01-10 00:00Z', '2027-01-24 00:00Z', 30, 15, 'UTC', 2)),
  pg_temp.starts(pg_temp.answer(array['alice', 'bob'], '2027-01-10 00:00Z', '2027-01-24 00:00Z', 30, 15)),
  'at least all of them gives the same starts as the plain common slots');

-- The display zone's step grid -------------------------------------------------

select is(
  (select array_agg(s ->> 'start' order by o)
   from jsonb_array_elements(pg_temp.answer(array['alice'], '2027-01-12 00:00Z', '2027-01-13 00:00Z',
                                            60, 60, 'Asia/Kolkata') -> 'slots') with ordinality as t(s, o)),
  array['2027-01-12T14:00:00+05:30', '2027-01-12T15:00:00+05:30', '2027-01-12T16:00:00+05:30',
        '2027-01-12T17:00:00+05:30', '2027-01-12T18:00:00+05:30', '2027-01-12T19:00:00+05:30',
        '2027-01-12T20:00:00+05:30'],
  'hourly steps fall on the hour of the display zone (Kolkata: half past in UTC), shown with its offset');
select is(
  (pg_temp.starts(pg_temp.answer(array['alice'], '2027-01-12 00:00Z', '2027-01-13 00:00Z',
                                 60, 60, 'Pacific/Chatham')))[1],
  '2027-01-12 08:15Z'::timestamptz,
  'Chatham (+13:45) hours start at a quarter past in UTC');

set local timezone = 'Asia/Tokyo';
select is(
  (pg_temp.answer(array['alice'], '2027-01-12 00:00Z', '2027-01-13 00:00Z', 60, 60, 'America/New_York')
    -> 'slots' -> 0 ->> 'start'),
  '2027-01-12T03:00:00-05:00',
  'New York display: 08:00Z shown as 03:00-05:00 whatever the session zone');
select is(current_setting('timezone'), 'Asia/Tokyo',
  'and the caller''s session time zone is left as it was');
reset timezone;

-- Cursor pagination -------------------------------------------------------------

-- Follows next_cursor to the end; returns the concatenated slots, the number
-- of pages and the sizes of all but the last.
create function pg_temp.all_pages(p_names text[], p_from timestamptz, p_to timestamptz, p_duration integer,
                                  p_step integer, p_min integer, p_limit integer)
returns jsonb
language plpgsql
as $$
declare
  v_cursor text;
  v_page jsonb;
  v_all jsonb := '[]'::jsonb;
  v_sizes integer[] := '{}';
begin
  loop
    v_page := pg_temp.answer(p_names, p_from, p_to, p_duration, p_step, 'UTC', p_min, v_cursor, p_limit);
    v_all := v_all || (v_page -> 'slots');
    v_cursor := v_page ->> 'next_cursor';
    exit when v_cursor is null or cardinality(v_sizes) > 500;
    v_sizes := v_sizes || jsonb_array_length(v_page -> 'slots');
  end loop;
  return jsonb_build_object('slots', v_all, 'pages', cardinality(v_sizes) + 1, 'full_pages', v_sizes);
end
$$;

select is(
  pg_temp.all_pages(array['alice'], '2027-01-10 00:00Z', '2027-01-24 00:00Z', 30, 15, null, 7) -> 'slots',
  pg_temp.answer(array['alice'], '2027-01-10 00:00Z', '2027-01-24 00:00Z', 30, 15) -> 'slots',
  'pages of 7 concatenate to the whole answer: nothing repeated, nothing skipped');
select is(
  (select (a ->> 'pages')::integer
   from pg_temp.all_pages(array['alice'], '2027-01-10 00:00Z', '2027-01-24 00:00Z', 30, 15, null, 7) a),
  (select ceil(jsonb_array_length(pg_temp.answer(array['alice'], '2027-01-10 00:00Z', '2027-01-24 00:00Z', 30, 15)
                                  -> 'slots') / 7.0)::integer),
  'as many pages as it takes at 7 a page');
select ok(
  (select bool_and(size::integer = 7) and count(*) > 5
   from pg_temp.all_pages(array['alice'], '2027-01-10 00:00Z', '2027-01-24 00:00Z', 30, 15, null, 7) a,
        jsonb_array_elements_text(a -> 'full_pages') size),
  'every page but the last is full');
select is(
  pg_temp.all_pages(array['alice', 'bob', 'carol'], '2027-01-10 00:00Z', '2027-01-24 00:00Z', 60, 30, 2, 3) -> 'slots',
  pg_temp.answer(array['alice', 'bob', 'carol'], '2027-01-10 00:00Z', '2027-01-24 00:00Z', 60, 30, 'UTC', 2) -> 'slots',
  'pages of "at least 2" concatenate to the whole answer too, with who is free');
select is(
  pg_temp.answer(array['alice'], '2027-01-12 00:00Z', '2027-01-13 00:00Z', 60, 60, 'UTC', null, null, 8)
    -> 'next_cursor',
  'null'::jsonb,
  'a page that holds exactly the rest has no next cursor');

select * from finish();
rollback;
