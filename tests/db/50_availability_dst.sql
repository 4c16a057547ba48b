-- Working hours are wall-clock hours in the user's own zone, on every day,
-- including the days the clocks change: a 09:00-17:00 day never vanishes,
-- doubles or shifts. Expected instants are written out in UTC (checked
-- against zdump), never computed with the code under test.
begin;
select plan(31);

-- One 8-hour slot per day (duration 480, step 60, in the user's zone) proves
-- the working day is exactly 09:00-17:00 local: shifted by any amount it
-- would not fit the step grid or the day.
create function pg_temp.ranges(p_answer jsonb) returns tstzrange[]
language sql
as $$
  select coalesce(array_agg(tstzrange((s ->> 'start')::timestamptz, (s ->> 'end')::timestamptz) order by o),
                  '{}')
  from jsonb_array_elements(p_answer -> 'slots') with ordinality as t(s, o);
$$;

create function pg_temp.working_days(p_name text, p_from timestamptz, p_to timestamptz,
                                     p_duration integer default 480)
returns tstzrange[]
language sql
as $$
  select pg_temp.ranges(public.get_availability(
    array[tests.user_id(p_name)], p_from, p_to, p_duration, 60,
    (select time_zone from public.profiles where id = tests.user_id(p_name)),
    p_limit => 1000, p_now => '2027-01-01 00:00Z'));
$$;

create function pg_temp.slot_count(p_name text, p_from timestamptz, p_to timestamptz) returns integer
language sql
as $$
  select jsonb_array_length(public.get_availability(
    array[tests.user_id(p_name)], p_from, p_to, 30, null,
    (select time_zone from public.profiles where id = tests.user_id(p_name)),
    p_limit => 1000, p_now => '2027-01-01 00:00Z') -> 'slots');
$$;

-- Every day of the week, the given window.
create function pg_temp.set_hours(p_name text, p_start time, p_end time) returns void
language sql
as $$
  delete from public.working_hours where user_id = tests.user_id(p_name);
  insert into public.working_hours (user_id, weekday, start_time, end_time)
  select tests.user_id(p_name), d, p_start, p_end from generate_series(1, 7) d;
$$;

do $$
begin
  perform tests.create_user('ny', 'America/New_York');
  perform tests.create_user('london', 'Europe/London');
  perform tests.create_user('berlin', 'Europe/Berlin');
  perform tests.create_user('sydney', 'Australia/Sydney');
  perform tests.create_user('kolkata', 'Asia/Kolkata');
  perform tests.create_user('chatham', 'Pacific/Chatham');
  perform tests.create_user('santiago', 'America/Santiago');
  perform tests.create_user('havana', 'America/Havana');
  perform pg_temp.set_hours(n, '09:00', '17:00')
  from unnest(array['ny', 'london', 'berlin', 'sydney', 'kolkata', 'chatham', 'santiago', 'havana']) n;
end
$$;

-- America/New_York ------------------------------------------------------------

select is(pg_temp.working_days('ny', '2027-03-13 00:00Z', '2027-03-16 00:00Z'),
  array[tstzrange('2027-03-13 14:00Z', '2027-03-13 22:00Z'),
        tstzrange('2027-03-14 13:00Z', '2027-03-14 21:00Z'),
        tstzrange('2027-03-15 13:00Z', '2027-03-15 21:00Z')],
  'New York 09:00-17:00: 14:00Z-22:00Z on 2027-03-13, 13:00Z-21:00Z on 2027-03-14 (clocks go forward)');

select is(pg_temp.working_days('ny', '2027-11-06 00:00Z', '2027-11-09 00:00Z'),
  array[tstzrange('2027-11-06 13:00Z', '2027-11-06 21:00Z'),
        tstzrange('2027-11-07 14:00Z', '2027-11-07 22:00Z'),
        tstzrange('2027-11-08 14:00Z', '2027-11-08 22:00Z')],
  'New York 09:00-17:00: 14:00Z-22:00Z on 2027-11-07 (clocks go back)');

select is(pg_temp.slot_count('ny', '2027-03-13 05:00Z', '2027-03-16 04:00Z'), 48,
  'New York: 16 half-hour slots on each of the three days around the spring change, no more, no less');
select is(pg_temp.slot_count('ny', '2027-11-06 04:00Z', '2027-11-09 05:00Z'), 48,
  'New York: 16 half-hour slots on each of the three days around the autumn change');

-- Europe/London and Europe/Berlin --------------------------------------------

select is(pg_temp.working_days('london', '2027-03-27 00:00Z', '2027-03-29 00:00Z'),
  array[tstzrange('2027-03-27 09:00Z', '2027-03-27 17:00Z'),
        tstzrange('2027-03-28 08:00Z', '2027-03-28 16:00Z')],
  'London: 09:00Z-17:00Z before, 08:00Z-16:00Z on the spring-forward day (2027-03-28)');
select is(pg_temp.working_days('london', '2027-10-30 00:00Z', '2027-11-01 00:00Z'),
  array[tstzrange('2027-10-30 08:00Z', '2027-10-30 16:00Z'),
        tstzrange('2027-10-31 09:00Z', '2027-10-31 17:00Z')],
  'London: 08:00Z-16:00Z before, 09:00Z-17:00Z on the fall-back day (2027-10-31)');
select is(pg_temp.working_days('berlin', '2027-03-27 00:00Z', '2027-03-29 00:00Z'),
  array[tstzrange('2027-03-27 08:00Z', '2027-03-27 16:00Z'),
        tstzrange('2027-03-28 07:00Z', '2027-03-28 15:00Z')],
  'Berlin: 08:00Z-16:00Z before, 07:00Z-15:00Z on the spring-forward day');
select is(pg_temp.working_days('berlin', '2027-10-30 00:00Z', '2027-11-01 00:00Z'),
  array[tstzrange('2027-10-30 07:00Z', '2027-10-30 15:00Z'),
        tstzrange('2027-10-31 08:00Z', '2027-10-31 16:00Z')],
  'Berlin: 07:00Z-15:00Z before, 08:00Z-16:00Z on the fall-back day');
select is(pg_temp.slot_count('berlin', '2027-10-29 22:00Z', '2027-11-01 23:00Z'), 48,
  'Berlin: 16 half-hour slots on each of the three days around the autumn change');

-- Australia/Sydney (southern hemisphere: back in April, forward in October) ---

select is(pg_temp.working_days('sydney', '2027-04-02 12:00Z', '2027-04-04 12:00Z'),
  array[tstzrange('2027-04-02 22:00Z', '2027-04-03 06:00Z'),
        tstzrange('2027-04-03 23:00Z', '2027-04-04 07:00Z')],
  'Sydney: 09:00-17:00 is 22:00Z-06:00Z under AEDT, 23:00Z-07:00Z from 2027-04-04 (clocks go back)');
select is(pg_temp.working_days('sydney', '2027-10-01 12:00Z', '2027-10-03 12:00Z'),
  array[tstzrange('2027-10-01 23:00Z', '2027-10-02 07:00Z'),
        tstzrange('2027-10-02 22:00Z', '2027-10-03 06:00Z')],
  'Sydney: 23:00Z-07:00Z under AEST, 22:00Z-06:00Z from 2027-10-03 (clocks go forward)');

-- Asia/Kolkata (+05:30, no DST): unmoved while the rest of the world changes --

select is(pg_temp.working_days('kolkata', '2027-03-13 00:00Z', '2027-03-16 00:00Z'),
  array[tstzrange('2027-03-13 03:30Z', '2027-03-13 11:30Z'),
        tstzrange('2027-03-14 03:30Z', '2027-03-14 11:30Z'),
        tstzrange('2027-03-15 03:30Z', '2027-03-15 11:30Z')],
  'Kolkata: 03:30Z-11:30Z every day, across the New York change');
select is(pg_temp.working_days('kolkata', '2027-10-30 00:00Z', '2027-11-01 00:00Z'),
  array[tstzrange('2027-10-30 03:30Z', '2027-10-30 11:30Z'),
        tstzrange('2027-10-31 03:30Z', '2027-10-31 11:30Z')],
  'Kolkata: 03:30Z-11:30Z every day, across the European change');

-- Pacific/Chatham (+12:45 / +13:45, changes at 02:45 / 03:45 local) ----------

select is(pg_temp.working_days('chatham', '2027-04-02 12:00Z', '2027-04-04 12:00Z'),
  array[tstzrange('2027-04-02 19:15Z', '2027-04-03 03:15Z'),
        tstzrange('2027-04-03 20:15Z', '2027-04-04 04:15Z')],
  'Chatham: 19:15Z-03:15Z at +13:45, 20:15Z-04:15Z at +12:45 from 2027-04-04');
select is(pg_temp.working_days('chatham', '2027-09-24 12:00Z', '2027-09-26 12:00Z'),
  array[tstzrange('2027-09-24 20:15Z', '2027-09-25 04:15Z'),
        tstzrange('2027-09-25 19:15Z', '2027-09-26 03:15Z')],
  'Chatham: 20:15Z-04:15Z at +12:45, 19:15Z-03:15Z at +13:45 from 2027-09-26');

-- Zones whose clocks change at midnight ---------------------------------------

-- Santiago: 2027-04-03 24:00 (-03) becomes 23:00 (-04); 2027-09-05 00:00 (-04)
-- becomes 01:00 (-03), so that date has no midnight.
select is(pg_temp.working_days('santiago', '2027-04-03 00:00Z', '2027-04-05 00:00Z'),
  array[tstzrange('2027-04-03 12:00Z', '2027-04-03 20:00Z'),
        tstzrange('2027-04-04 13:00Z', '2027-04-04 21:00Z')],
  'Santiago: 12:00Z-20:00Z at -03, 13:00Z-21:00Z at -04 after the repeated hour');
select is(pg_temp.working_days('santiago', '2027-09-04 00:00Z', '2027-09-06 00:00Z'),
  array[tstzrange('2027-09-04 13:00Z', '2027-09-04 21:00Z'),
        tstzrange('2027-09-05 12:00Z', '2027-09-05 20:00Z')],
  'Santiago: the day without a midnight still works 09:00-17:00 (12:00Z-20:00Z)');
select is(pg_temp.slot_count('santiago', '2027-09-04 04:00Z', '2027-09-07 03:00Z'), 48,
  'Santiago: 16 half-hour slots on each of the three days around the midnight change');

-- Havana: 2027-03-14 00:00 (-05) becomes 01:00 (-04); 2027-11-07 01:00 (-04)
-- becomes 00:00 (-05), so that date has two midnights.
select is(pg_temp.working_days('havana', '2027-03-13 00:00Z', '2027-03-15 00:00Z'),
  array[tstzrange('2027-03-13 14:00Z', '2027-03-13 22:00Z'),
        tstzrange('2027-03-14 13:00Z', '2027-03-14 21:00Z')],
  'Havana: 14:00Z-22:00Z, then 13:00Z-21:00Z on the day that starts at 01:00');
select is(pg_temp.working_days('havana', '2027-11-06 00:00Z', '2027-11-08 00:00Z'),
  array[tstzrange('2027-11-06 13:00Z', '2027-11-06 21:00Z'),
        tstzrange('2027-11-07 14:00Z', '2027-11-07 22:00Z')],
  'Havana: 13:00Z-21:00Z, then 14:00Z-22:00Z on the day with two midnights');

-- Early windows on the midnight-change days: the day starts when the clock
-- first shows it, and lasts as long as the clock says.
do $$ begin perform pg_temp.set_hours(n, '00:00', '08:00') from unnest(array['santiago', 'havana']) n; end $$;
select is(pg_temp.working_days('santiago', '2027-09-05 00:00Z', '2027-09-06 00:00Z', 420),
  array[tstzrange('2027-09-05 04:00Z', '2027-09-05 11:00Z')],
  'Santiago 00:00-08:00 on the day without a midnight: 01:00-08:00, seven hours, from 04:00Z');
select is(pg_temp.working_days('havana', '2027-11-07 00:00Z', '2027-11-08 00:00Z', 540),
  array[tstzrange('2027-11-07 04:00Z', '2027-11-07 13:00Z')],
  'Havana 00:00-08:00 on the day with two midnights: nine hours from the first midnight (04:00Z)');
select is(pg_temp.working_days('havana', '2027-03-14 00:00Z', '2027-03-15 00:00Z', 420),
  array[tstzrange('2027-03-14 05:00Z', '2027-03-14 12:00Z')],
  'Havana 00:00-08:00 on the day starting at 01:00: seven hours from 05:00Z');

-- A night window (22:00-06:00) across a change --------------------------------

do $$ begin perform pg_temp.set_hours(n, '22:00', '06:00') from unnest(array['ny', 'berlin']) n; end $$;
select is(pg_temp.working_days('ny', '2027-03-13 12:00Z', '2027-03-14 12:00Z', 420),
  array[tstzrange('2027-03-14 03:00Z', '2027-03-14 10:00Z')],
  'New York 22:00-06:00 across the spring change: 03:00Z-10:00Z, seven hours');
select is(pg_temp.working_days('ny', '2027-03-13 12:00Z', '2027-03-14 12:00Z', 480),
  '{}'::tstzrange[],
  'New York: that night has no room for eight hours');
select is(pg_temp.working_days('ny', '2027-11-06 12:00Z', '2027-11-07 12:00Z', 540),
  array[tstzrange('2027-11-07 02:00Z', '2027-11-07 11:00Z')],
  'New York 22:00-06:00 across the autumn change: 02:00Z-11:00Z, nine hours');
select is(pg_temp.working_days('berlin', '2027-03-27 12:00Z', '2027-03-28 12:00Z', 420),
  array[tstzrange('2027-03-27 21:00Z', '2027-03-28 04:00Z')],
  'Berlin 22:00-06:00 across the spring change: 21:00Z-04:00Z');
select is(
  (select array_agg(s ->> 'start' order by o)
   from jsonb_array_elements(public.get_availability(
          array[tests.user_id('ny')], '2027-11-07 03:00Z', '2027-11-07 08:00Z', 60, null, 'America/New_York',
          p_now => '2027-01-01Z') -> 'slots') with ordinality as t(s, o)),
  array['2027-11-06T23:00:00-04:00', '2027-11-07T00:00:00-04:00', '2027-11-07T01:00:00-04:00',
        '2027-11-07T01:00:00-05:00', '2027-11-07T02:00:00-05:00'],
  'hourly slots through the autumn night show 01:00 twice, once per offset');

-- Steps that do not divide the change ----------------------------------------

do $$ begin perform pg_temp.set_hours('ny', '00:00', '24:00'); end $$;
select is(
  (select array_agg(s ->> 'start' order by o)
   from jsonb_array_elements(public.get_availability(
          array[tests.user_id('ny')], '2027-03-14 05:00Z', '2027-03-14 09:00Z', 45, null, 'America/New_York',
          p_now => '2027-01-01Z') -> 'slots') with ordinality as t(s, o)),
  array['2027-03-14T00:00:00-05:00', '2027-03-14T00:45:00-05:00', '2027-03-14T01:30:00-05:00',
        '2027-03-14T03:00:00-04:00', '2027-03-14T03:45:00-04:00'],
  '45-minute steps stay on the wall clock across the spring change (02:15 does not exist)');
select is(
  pg_temp.slot_count('ny', '2027-11-07 04:00Z', '2027-11-08 05:00Z'),
  50,
  'the 25-hour autumn day holds 50 half-hour slots');
select is(
  pg_temp.slot_count('ny', '2027-03-14 05:00Z', '2027-03-15 04:00Z'),
  46,
  'the 23-hour spring day holds 46 half-hour slots');

select * from finish();
rollback;
