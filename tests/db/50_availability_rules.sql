-- What makes time bookable: weekly hours (with validity periods), date
-- overrides, notice, horizon, daily limits, meetings (with buffers, several
-- days long, all day) and external busy blocks. Clock pinned to Monday
-- 2027-06-07 07:00 in Berlin (05:00Z); Berlin is UTC+2 all month.
begin;
select plan(27);

-- The union of all 15-minute slots: exactly the bookable time, to the
-- quarter hour, for users without buffers.
create function pg_temp.free(p_name text, p_from timestamptz, p_to timestamptz,
                             p_now timestamptz default '2027-06-07 05:00Z')
returns tstzmultirange
language sql
as $$
  select coalesce(range_agg(tstzrange((s ->> 'start')::timestamptz, (s ->> 'end')::timestamptz)), '{}')
  from jsonb_array_elements(public.get_availability(
         array[tests.user_id(p_name)], p_from, p_to, 15, 15, 'UTC',
         p_limit => 1000, p_now => p_now) -> 'slots') s;
$$;

create function pg_temp.starts(p_name text, p_from timestamptz, p_to timestamptz, p_duration integer,
                               p_step integer, p_now timestamptz default '2027-06-07 05:00Z')
returns timestamptz[]
language sql
as $$
  select coalesce(array_agg((s ->> 'start')::timestamptz order by o), '{}')
  from jsonb_array_elements(public.get_availability(
         array[tests.user_id(p_name)], p_from, p_to, p_duration, p_step, 'Europe/Berlin',
         p_limit => 1000, p_now => p_now) -> 'slots') with ordinality as t(s, o);
$$;

create function pg_temp.book(p_name text, p_start timestamptz, p_end timestamptz) returns uuid
language plpgsql
as $$
declare
  v jsonb;
begin
  perform tests.authenticate_as(p_name);
  v := public.book_meeting(p_title => 'Busy', p_start => p_start, p_end => p_end,
                           p_time_zone => 'Europe/Berlin', p_now => '2027-06-01 00:00Z');
  perform tests.clear_authentication();
  return (v ->> 'id')::uuid;
end
$$;

-- Default hours ----------------------------------------------------------------

do $$ begin perform tests.create_user('ana', 'Europe/Berlin'); end $$;
select is(
  (select array_agg(weekday::integer || ' ' || start_time || '-' || end_time order by weekday)
   from public.working_hours where user_id = tests.user_id('ana')),
  array['1 09:00:00-17:00:00', '2 09:00:00-17:00:00', '3 09:00:00-17:00:00',
        '4 09:00:00-17:00:00', '5 09:00:00-17:00:00'],
  'a new user starts with Monday-Friday 09:00-17:00 as rows they can see and change');
select is(pg_temp.free('ana', '2027-06-07 00:00Z', '2027-06-14 00:00Z'),
  '{[2027-06-07 07:00Z, 2027-06-07 15:00Z), [2027-06-08 07:00Z, 2027-06-08 15:00Z),
    [2027-06-09 07:00Z, 2027-06-09 15:00Z), [2027-06-10 07:00Z, 2027-06-10 15:00Z),
    [2027-06-11 07:00Z, 2027-06-11 15:00Z)}'::tstzmultirange,
  'and so is free 09:00-17:00 Berlin time on weekdays, not at the weekend');

do $$ begin perform tests.create_user('nobody', 'Europe/Berlin'); end $$;
delete from public.working_hours where user_id = tests.user_id('nobody');
select is(pg_temp.free('nobody', '2027-06-07 00:00Z', '2027-06-14 00:00Z'), '{}'::tstzmultirange,
  'a user who removed every window is never available');

-- Validity periods -------------------------------------------------------------

do $$ begin perform tests.create_user('vera', 'Europe/Berlin'); end $$;
delete from public.working_hours where user_id = tests.user_id('vera');
insert into public.working_hours (user_id, weekday, start_time, end_time, valid_from, valid_until)
values (tests.user_id('vera'), 1, '09:00', '17:00', null, '2027-06-13'),
       (tests.user_id('vera'), 1, '10:00', '12:00', '2027-06-14', null);
select is(pg_temp.free('vera', '2027-06-07 00:00Z', '2027-06-15 00:00Z'),
  '{[2027-06-07 07:00Z, 2027-06-07 15:00Z), [2027-06-14 08:00Z, 2027-06-14 10:00Z)}'::tstzmultirange,
  'a schedule changes on the day its validity says');

-- Overrides --------------------------------------------------------------------

do $$ begin perform tests.create_user('otto', 'Europe/Berlin'); end $$;
insert into public.availability_overrides (user_id, date, kind, start_time, end_time)
values (tests.user_id('otto'), '2027-06-12', 'available', '10:00', '12:00'),   -- Saturday
       (tests.user_id('otto'), '2027-06-09', 'unavailable', null, null),        -- Wednesday off
       (tests.user_id('otto'), '2027-06-10', 'unavailable', '12:00', '13:00'),  -- Thursday lunch
       (tests.user_id('otto'), '2027-06-11', 'unavailable', null, null),        -- Friday off...
       (tests.user_id('otto'), '2027-06-11', 'available', '14:00', '15:00');    -- ...but 14-15
select is(pg_temp.free('otto', '2027-06-12 00:00Z', '2027-06-13 00:00Z'),
  '{[2027-06-12 08:00Z, 2027-06-12 10:00Z)}'::tstzmultirange,
  'an extra window on a Saturday');
select is(pg_temp.free('otto', '2027-06-09 00:00Z', '2027-06-10 00:00Z'), '{}'::tstzmultirange,
  'a day off has no slots');
select is(pg_temp.free('otto', '2027-06-10 00:00Z', '2027-06-11 00:00Z'),
  '{[2027-06-10 07:00Z, 2027-06-10 10:00Z), [2027-06-10 11:00Z, 2027-06-10 15:00Z)}'::tstzmultirange,
  'time off within a day removes only that window');
select is(pg_temp.free('otto', '2027-06-11 00:00Z', '2027-06-12 00:00Z'),
  '{[2027-06-11 12:00Z, 2027-06-11 13:00Z)}'::tstzmultirange,
  'a day off with an extra window: only the extra window');
select is(pg_temp.free('otto', '2027-06-07 00:00Z', '2027-06-09 00:00Z'),
  '{[2027-06-07 07:00Z, 2027-06-07 15:00Z), [2027-06-08 07:00Z, 2027-06-08 15:00Z)}'::tstzmultirange,
  'other days keep their weekly hours');

-- Notice and horizon ------------------------------------------------------------

do $$ begin perform tests.create_user('nina', 'Europe/Berlin'); end $$;
update public.profiles set minimum_notice_minutes = 120 where id = tests.user_id('nina');
select is(
  (pg_temp.starts('nina', '2027-06-07 00:00Z', '2027-06-08 00:00Z', 30, 30, '2027-06-07 07:10Z'))[1],
  '2027-06-07 09:30Z'::timestamptz,
  'with 2 hours notice at 09:10 the first slot is 11:30 (the next half hour after 11:10)');
select is(
  (pg_temp.starts('ana', '2027-06-07 00:00Z', '2027-06-08 00:00Z', 30, 30, '2027-06-07 07:10Z'))[1],
  '2027-06-07 07:30Z'::timestamptz,
  'without notice, slots already begun are gone but the next half hour is bookable');

do $$ begin perform tests.create_user('hugo', 'Europe/Berlin'); end $$;
insert into public.availability_limits (user_id, horizon_days) values (tests.user_id('hugo'), 2);
select is(pg_temp.free('hugo', '2027-06-07 00:00Z', '2027-06-12 00:00Z'),
  '{[2027-06-07 07:00Z, 2027-06-07 15:00Z), [2027-06-08 07:00Z, 2027-06-08 15:00Z),
    [2027-06-09 07:00Z, 2027-06-09 15:00Z)}'::tstzmultirange,
  'a 2-day horizon on Monday: bookable through Wednesday, not Thursday');

-- Daily limits ------------------------------------------------------------------

do $$ begin perform tests.create_user('lena', 'Europe/Berlin'); end $$;
insert into public.availability_limits (user_id, earliest_start, latest_end)
values (tests.user_id('lena'), '10:00', '16:00');
insert into public.availability_overrides (user_id, date, kind, start_time, end_time)
values (tests.user_id('lena'), '2027-06-08', 'available', '08:00', '09:00');
select is(pg_temp.free('lena', '2027-06-07 00:00Z', '2027-06-08 00:00Z'),
  '{[2027-06-07 08:00Z, 2027-06-07 14:00Z)}'::tstzmultirange,
  '"never before 10:00, never after 16:00" trims the weekly hours');
select is(pg_temp.free('lena', '2027-06-08 00:00Z', '2027-06-09 00:00Z'),
  '{[2027-06-08 06:00Z, 2027-06-08 07:00Z), [2027-06-08 08:00Z, 2027-06-08 14:00Z)}'::tstzmultirange,
  'an explicit extra window on a date is kept as given');

do $$ begin perform tests.create_user('max', 'Europe/Berlin'); end $$;
insert into public.availability_limits (user_id, max_meetings_per_day) values (tests.user_id('max'), 2);
do $$
begin
  perform pg_temp.book('max', '2027-06-08 07:00Z', '2027-06-08 07:30Z');
  perform pg_temp.book('max', '2027-06-08 12:00Z', '2027-06-08 12:30Z');
  perform pg_temp.book('max', '2027-06-07 07:00Z', '2027-06-07 07:30Z');
end
$$;
select is(pg_temp.free('max', '2027-06-07 00:00Z', '2027-06-09 00:00Z'),
  '{[2027-06-07 07:30Z, 2027-06-07 15:00Z)}'::tstzmultirange,
  'a day with the maximum of meetings is full; a day with fewer still has room');

-- Meetings ----------------------------------------------------------------------

-- The case from the issue: a meeting 10:00-11:00 and a 15-minute after-buffer.
do $$ begin perform tests.create_user('bea', 'Europe/Berlin'); end $$;
update public.profiles set buffer_after_minutes = 15 where id = tests.user_id('bea');
do $$ begin perform pg_temp.book('bea', '2027-06-07 08:00Z', '2027-06-07 09:00Z'); end $$;
select is(
  (select array_agg(t order by t) from unnest(
     pg_temp.starts('bea', '2027-06-07 06:30Z', '2027-06-07 10:00Z', 30, 5)) t
   where t >= '2027-06-07 08:50Z' and t < '2027-06-07 09:25Z'),
  array['2027-06-07 09:15Z', '2027-06-07 09:20Z']::timestamptz[],
  'buffer after 15: no slot starts in [11:00, 11:15); 11:15 is the first');
select is(
  (select max(t) from unnest(pg_temp.starts('bea', '2027-06-07 06:30Z', '2027-06-07 08:00Z', 30, 5)) t),
  '2027-06-07 07:15Z'::timestamptz,
  'and before the meeting the last slot leaves 15 minutes: 09:15-09:45');

do $$
begin
  perform tests.create_user('mia', 'Europe/Berlin');
  perform pg_temp.book('mia', '2027-06-07 13:00Z', '2027-06-08 09:00Z');  -- Mon 15:00 to Tue 11:00
end
$$;
select is(pg_temp.free('mia', '2027-06-07 00:00Z', '2027-06-09 00:00Z'),
  '{[2027-06-07 07:00Z, 2027-06-07 13:00Z), [2027-06-08 09:00Z, 2027-06-08 15:00Z)}'::tstzmultirange,
  'a meeting from Monday 15:00 to Tuesday 11:00 blocks both days');

do $$
begin
  perform tests.create_user('ada', 'Europe/Berlin');
  perform tests.authenticate_as('ada');
  perform public.book_meeting(p_title => 'Offsite', p_all_day => true, p_start_date => '2027-06-09',
                             p_end_date => '2027-06-11', p_time_zone => 'Europe/Berlin',
                             p_now => '2027-06-01 00:00Z');
  perform public.book_meeting(p_title => 'Holiday', p_all_day => true, p_start_date => '2027-06-14',
                             p_time_zone => 'Europe/Berlin', p_now => '2027-06-01 00:00Z');
  perform tests.clear_authentication();
end
$$;
select is(pg_temp.free('ada', '2027-06-08 00:00Z', '2027-06-15 00:00Z'),
  '{[2027-06-08 07:00Z, 2027-06-08 15:00Z), [2027-06-11 07:00Z, 2027-06-11 15:00Z)}'::tstzmultirange,
  'all-day meetings block whole local days: Wednesday-Thursday and the next Monday');
insert into public.availability_overrides (user_id, date, kind, start_time, end_time)
values (tests.user_id('ada'), '2027-06-09', 'available', '00:00', '24:00');
select is(pg_temp.free('ada', '2027-06-09 00:00Z', '2027-06-10 00:00Z'), '{}'::tstzmultirange,
  'not one minute of the all-day meeting''s local day is free, even with the whole day open');

do $$
begin
  perform tests.create_user('cleo', 'Europe/Berlin');
  perform tests.create_user('dan', 'Europe/Berlin');
  perform tests.authenticate_as('cleo');
  perform public.book_meeting(p_title => 'Declined', p_start => '2027-06-07 08:00Z', p_end => '2027-06-07 09:00Z',
                             p_time_zone => 'Europe/Berlin', p_attendees => '[{"email": "dan@test.example"}]',
                             p_now => '2027-06-01 00:00Z');
  perform public.cancel_meeting((public.book_meeting(p_title => 'Cancelled', p_start => '2027-06-07 10:00Z',
                                 p_end => '2027-06-07 11:00Z', p_time_zone => 'Europe/Berlin',
                                 p_now => '2027-06-01 00:00Z') ->> 'id')::uuid,
                               p_now => '2027-06-01 00:00Z');
  perform tests.authenticate_as('dan');
  perform public.respond_to_meeting((select id from public.meetings where title = 'Declined'), 'declined',
                                   p_now => '2027-06-01 00:00Z');
  perform tests.clear_authentication();
end
$$;
select is(pg_temp.free('dan', '2027-06-07 00:00Z', '2027-06-08 00:00Z'),
  '{[2027-06-07 07:00Z, 2027-06-07 15:00Z)}'::tstzmultirange,
  'a declined invitation does not make anyone busy');
select is(pg_temp.free('cleo', '2027-06-07 00:00Z', '2027-06-08 00:00Z'),
  '{[2027-06-07 07:00Z, 2027-06-07 08:00Z), [2027-06-07 09:00Z, 2027-06-07 15:00Z)}'::tstzmultirange,
  'the organiser is busy for her meeting, and not for the one she cancelled');

-- External calendars -----------------------------------------------------------

do $$ begin perform tests.create_user('eve', 'Europe/Berlin'); end $$;
update public.profiles set buffer_before_minutes = 10 where id = tests.user_id('eve');
insert into private.external_busy (user_id, external_id, range)
values (tests.user_id('eve'), 'gcal-1', '[2027-06-07 11:00Z, 2027-06-07 12:00Z)'),
       (tests.user_id('eve'), 'gcal-2', '[2027-06-06 22:00Z, 2027-06-07 08:00Z)');
select is(
  pg_temp.starts('eve', '2027-06-07 00:00Z', '2027-06-08 00:00Z', 60, 60),
  array['2027-06-07 09:00Z', '2027-06-07 10:00Z', '2027-06-07 13:00Z', '2027-06-07 14:00Z']::timestamptz[],
  'external busy blocks count like meetings (and their buffers: 10 minutes before each slot)');
select is(
  (pg_temp.starts('eve', '2027-06-07 00:00Z', '2027-06-08 00:00Z', 30, 5))[1],
  '2027-06-07 08:10Z'::timestamptz,
  'and keep the buffer before a meeting free too (10 minutes after an event ending 10:00)');

-- The window -------------------------------------------------------------------

select is(
  pg_temp.starts('ana', '2027-06-07 07:10Z', '2027-06-07 09:00Z', 30, 30),
  array['2027-06-07 07:30Z', '2027-06-07 08:00Z', '2027-06-07 08:30Z']::timestamptz[],
  'slots lie inside the window: none starts before its start or ends after its end');
select is(
  pg_temp.starts('ana', '2027-06-07 00:00Z', '2027-06-08 00:00Z', 30, 30, '2027-06-07 14:10Z'),
  array['2027-06-07 14:30Z']::timestamptz[],
  'and none lies in the past');
select is(
  (select count(*)::integer from jsonb_array_elements(public.get_availability(
     array[tests.user_id('ana')], '2027-06-07 00:00Z', '2027-06-08 00:00Z', 480, 15, 'UTC',
     p_now => '2027-06-07 05:00Z') -> 'slots')),
  1,
  'a slot is at least the duration long: one 8-hour slot fits a 09:00-17:00 day');

select * from finish();
rollback;
