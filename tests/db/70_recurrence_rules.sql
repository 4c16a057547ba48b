-- RRULE parsing and expansion (the RFC 5545 subset a series accepts), checked
-- against the examples of RFC 5545 section 3.8.5.3 and against DST changes.
begin;
select plan(22);

create function pg_temp.days(p_rule text, p_dtstart timestamp, p_zone text, p_until timestamptz,
                             p_exdates timestamp[] default '{}')
returns text
language sql as $$
  select string_agg(to_char(local_start, 'YYYY-MM-DD'), ' ' order by local_start)
  from private.expand_rrule(private.parse_rrule(p_rule, p_zone), p_dtstart, p_zone, p_until, p_exdates);
$$;

-- RFC 5545 examples ----------------------------------------------------------

select is(pg_temp.days('FREQ=DAILY;COUNT=10', '1997-09-02 09:00', 'America/New_York', '1998-01-01'),
  '1997-09-02 1997-09-03 1997-09-04 1997-09-05 1997-09-06 1997-09-07 1997-09-08 1997-09-09 1997-09-10 1997-09-11',
  'daily for 10 occurrences');
select is(pg_temp.days('FREQ=DAILY;INTERVAL=10;COUNT=5', '1997-09-02 09:00', 'America/New_York', '1998-01-01'),
  '1997-09-02 1997-09-12 1997-09-22 1997-10-02 1997-10-12',
  'every 10 days, 5 occurrences');
select is(pg_temp.days('FREQ=WEEKLY;COUNT=10;WKST=SU;BYDAY=TU,TH', '1997-09-02 09:00', 'America/New_York', '1998-01-01'),
  '1997-09-02 1997-09-04 1997-09-09 1997-09-11 1997-09-16 1997-09-18 1997-09-23 1997-09-25 1997-09-30 1997-10-02',
  'weekly on Tuesday and Thursday for five weeks');
select is(pg_temp.days('FREQ=WEEKLY;INTERVAL=2;UNTIL=19971224T000000Z;WKST=SU;BYDAY=MO,WE,FR',
                       '1997-09-01 09:00', 'America/New_York', '1998-01-01'),
  '1997-09-01 1997-09-03 1997-09-05 1997-09-15 1997-09-17 1997-09-19 1997-09-29 1997-10-01 1997-10-03 '
  '1997-10-13 1997-10-15 1997-10-17 1997-10-27 1997-10-29 1997-10-31 1997-11-10 1997-11-12 1997-11-14 '
  '1997-11-24 1997-11-26 1997-11-28 1997-12-08 1997-12-10 1997-12-12 1997-12-22',
  'every other week on Monday, Wednesday and Friday until 24 December 1997');
select is(pg_temp.days('FREQ=MONTHLY;COUNT=10;BYDAY=1FR', '1997-09-05 09:00', 'America/New_York', '1999-01-01'),
  '1997-09-05 1997-10-03 1997-11-07 1997-12-05 1998-01-02 1998-02-06 1998-03-06 1998-04-03 1998-05-01 1998-06-05',
  'monthly on the first Friday for 10 occurrences');
select is(pg_temp.days('FREQ=MONTHLY;INTERVAL=2;COUNT=10;BYDAY=1SU,-1SU', '1997-09-07 09:00', 'America/New_York', '2000-01-01'),
  '1997-09-07 1997-09-28 1997-11-02 1997-11-30 1998-01-04 1998-01-25 1998-03-01 1998-03-29 1998-05-03 1998-05-31',
  'every other month on the first and last Sunday');
select is(pg_temp.days('FREQ=MONTHLY;COUNT=6;BYDAY=-2MO', '1997-09-22 09:00', 'America/New_York', '1999-01-01'),
  '1997-09-22 1997-10-20 1997-11-17 1997-12-22 1998-01-19 1998-02-16',
  'monthly on the second-to-last Monday for 6 months');
select is(pg_temp.days('FREQ=MONTHLY;BYMONTHDAY=-3;COUNT=4', '1997-09-28 09:00', 'America/New_York', '1999-01-01'),
  '1997-09-28 1997-10-29 1997-11-28 1997-12-29',
  'monthly on the third-to-last day of the month');
select is(pg_temp.days('FREQ=MONTHLY;COUNT=10;BYMONTHDAY=2,15', '1997-09-02 09:00', 'America/New_York', '1999-01-01'),
  '1997-09-02 1997-09-15 1997-10-02 1997-10-15 1997-11-02 1997-11-15 1997-12-02 1997-12-15 1998-01-02 1998-01-15',
  'monthly on the 2nd and 15th for 10 occurrences');
select is(pg_temp.days('FREQ=YEARLY;COUNT=10;BYMONTH=6,7', '1997-06-10 09:00', 'America/New_York', '2003-01-01'),
  '1997-06-10 1997-07-10 1998-06-10 1998-07-10 1999-06-10 1999-07-10 2000-06-10 2000-07-10 2001-06-10 2001-07-10',
  'yearly in June and July for 10 occurrences');
select is(pg_temp.days('FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3', '1997-09-04 09:00', 'America/New_York', '1999-01-01'),
  '1997-09-04 1997-10-07 1997-11-06',
  'the third instance of Tuesday, Wednesday or Thursday each month (BYSETPOS)');
select is(pg_temp.days('FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-2;COUNT=4', '1997-09-29 09:00', 'America/New_York', '1999-01-01'),
  '1997-09-29 1997-10-30 1997-11-27 1997-12-30',
  'the second-to-last weekday of the month');

-- Edges ------------------------------------------------------------------------

select is(pg_temp.days('FREQ=MONTHLY;COUNT=5', '2030-01-31 09:00', 'UTC', '2031-01-01'),
  '2030-01-31 2030-03-31 2030-05-31 2030-07-31 2030-08-31',
  'a monthly series on the 31st skips months without one');
select is(pg_temp.days('FREQ=DAILY;COUNT=5', '2030-01-01 09:00', 'UTC', '2031-01-01',
                       array['2030-01-02 09:00', '2030-01-04 09:00']::timestamp[]),
  '2030-01-01 2030-01-03 2030-01-05',
  'EXDATEs are left out but still count towards COUNT');
select is(pg_temp.days('FREQ=DAILY', '2030-01-01 09:00', 'UTC', '2030-01-04 09:00+00'),
  '2030-01-01 2030-01-02 2030-01-03',
  'an endless rule stops at the window end');
select is(pg_temp.days('FREQ=WEEKLY;UNTIL=20300115', '2030-01-01 09:00', 'UTC', '2031-01-01'),
  '2030-01-01 2030-01-08 2030-01-15',
  'a date-only UNTIL includes that day');

-- DST --------------------------------------------------------------------------

select results_eq(
  $$select start_at from private.expand_rrule(private.parse_rrule('FREQ=WEEKLY;COUNT=3', 'America/New_York'),
      '2030-03-03 09:00', 'America/New_York', '2031-01-01')$$,
  $$values ('2030-03-03 14:00+00'::timestamptz), ('2030-03-10 13:00+00'), ('2030-03-17 13:00+00')$$,
  '09:00 in New York stays 09:00 local when the clocks go forward (14:00Z, then 13:00Z)');
select results_eq(
  $$select start_at from private.expand_rrule(private.parse_rrule('FREQ=DAILY;COUNT=3', 'Europe/Berlin'),
      '2030-10-26 09:00', 'Europe/Berlin', '2031-01-01')$$,
  $$values ('2030-10-26 07:00+00'::timestamptz), ('2030-10-27 08:00+00'), ('2030-10-28 08:00+00')$$,
  '09:00 in Berlin stays 09:00 local when the clocks go back');
select is(private.local_to_instant('2030-11-03 01:30', 'America/New_York'), '2030-11-03 05:30+00'::timestamptz,
  'a local time that happens twice means the first of the two (RFC 5545 3.3.5)');
select is(private.local_to_instant('2030-03-10 02:30', 'America/New_York'), '2030-03-10 07:30+00'::timestamptz,
  'a local time that does not exist uses the offset before the gap (RFC 5545 3.3.5)');

-- Errors -------------------------------------------------------------------------

select is(
  tests.error_of($$select private.parse_rrule('FREQ=HOURLY;BYHOUR=3;COUNT=2;UNTIL=2030;BYDAY=XX', 'UTC')$$)
    -> 'detail' -> 'errors',
  '[{"field": "recurrence", "message": "FREQ=HOURLY is not supported; use DAILY, WEEKLY, MONTHLY or YEARLY"},
    {"field": "recurrence", "message": "BYHOUR is not supported; a series has one time of day, that of its first meeting"},
    {"field": "recurrence", "message": "UNTIL must look like 20301231, 20301231T170000 or 20301231T170000Z"},
    {"field": "recurrence", "message": "BYDAY value XX is not a weekday such as MO, 1MO or -1FR"}]'::jsonb,
  'a bad rule lists every problem at once, naming the rule part'
);
select is(
  tests.error_of($$select private.parse_rrule('COUNT=3;UNTIL=20300101T000000Z', 'UTC')$$) -> 'detail' -> 'errors',
  '[{"field": "recurrence", "message": "FREQ is required"},
    {"field": "recurrence", "message": "COUNT and UNTIL cannot both be given"}]'::jsonb,
  'FREQ is required and COUNT excludes UNTIL'
);

select * from finish();
rollback;
