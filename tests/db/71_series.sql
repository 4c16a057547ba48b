-- Recurring meetings: every occurrence is a meeting guarded by the EXCLUDE
-- constraint and checked when the series is booked, edited or extended.
-- Pinned clock (tests.pinned_now() = 2030-01-01 UTC), dates in 2030.
begin;
select plan(30);

do $$
begin
  perform tests.create_user('olga', 'America/New_York');   -- organiser
  perform tests.create_user('anna', 'Europe/Berlin');      -- attendee
  perform tests.create_user('sam');                        -- stranger
end
$$;

create function pg_temp.series(p_title text, p_rule text, p_start timestamptz, p_end timestamptz,
                               p_attendees jsonb default '[{"email": "anna@test.example"}]',
                               p_on_conflict text default 'fail') returns jsonb
language sql as $$
  select public.book_meeting_series(p_title => p_title, p_recurrence => p_rule, p_start => p_start, p_end => p_end,
    p_time_zone => 'America/New_York', p_attendees => p_attendees, p_on_conflict => p_on_conflict,
    p_now => tests.pinned_now());
$$;
create function pg_temp.occurrence(p_title text, p_index integer) returns public.meetings
language sql security definer as $$
  select m.* from public.meetings m where m.title = p_title and m.status = 'confirmed'
  order by m.start_at offset p_index limit 1;
$$;
grant execute on all functions in schema pg_temp to authenticated;

-- DST ----------------------------------------------------------------------------

select tests.authenticate_as('olga') \g /dev/null
select lives_ok(
  $$select pg_temp.series('Standup', 'FREQ=WEEKLY;BYDAY=MO;COUNT=4', '2030-03-04 14:00+00', '2030-03-04 14:30+00')$$,
  'a weekly series across the March DST change books');
select results_eq(
  $$select (start_at at time zone 'America/New_York')::time, start_at from public.meetings
    where title = 'Standup' order by start_at$$,
  $$values ('09:00'::time, '2030-03-04 14:00+00'::timestamptz), ('09:00', '2030-03-11 13:00+00'),
           ('09:00', '2030-03-18 13:00+00'), ('09:00', '2030-03-25 13:00+00')$$,
  '09:00 in New York stays 09:00 local on both sides of the change');
select is(
  (select count(*)::integer from public.attendees a join public.meetings m on m.id = a.meeting_id
   where m.title = 'Standup'),
  8, 'every occurrence has the organiser and the attendee');
select is(
  (select count(*)::integer from public.meetings m where m.title = 'Standup'
   and exists (select 1 from public.attendees a where a.meeting_id = m.id and a.user_id = tests.user_id('anna'))),
  4, 'the attendee is in every occurrence');

-- Every occurrence is checked: a conflict on occurrence 37 ----------------------------

-- Anna is busy on the date of the 37th daily occurrence (index 36).
select tests.authenticate_as('anna') \g /dev/null
select lives_ok(
  $$select public.book_meeting(p_title => 'Anna busy', p_start => '2030-06-06 15:00+00', p_end => '2030-06-06 16:00+00',
                               p_time_zone => 'UTC', p_now => tests.pinned_now())$$,
  'anna books something on 6 June');
select tests.authenticate_as('olga') \g /dev/null
select is(
  (select jsonb_build_object('sqlstate', e ->> 'sqlstate', 'code', e -> 'detail' ->> 'code',
     'indexes', (select jsonb_agg(distinct (c ->> 'occurrence_index')::integer) from jsonb_array_elements(e -> 'detail' -> 'conflicts') c),
     'user', e -> 'detail' -> 'conflicts' -> 0 ->> 'user_id')
   from tests.probe_error($$select pg_temp.series('Daily sync', 'FREQ=DAILY;COUNT=60', '2030-05-01 15:00+00', '2030-05-01 15:30+00')$$) e),
  jsonb_build_object('sqlstate', 'PT409', 'code', 'series_conflict', 'indexes', jsonb_build_array(36),
                     'user', tests.user_id('anna')),
  'booking a 60-day series fails with PT409 naming occurrence 37 (index 36) and who is busy');
select is(
  (select count(*)::integer from public.meetings where title = 'Daily sync'), 0,
  'and books none of it');
select is(
  (select jsonb_build_object('skipped', (select jsonb_agg((s ->> 'occurrence_index')::integer) from jsonb_array_elements(r -> 'skipped') s),
                             'booked', jsonb_array_length(r -> 'occurrences'),
                             'exdates', r -> 'series' -> 'exdates')
   from pg_temp.series('Daily sync', 'FREQ=DAILY;COUNT=60', '2030-05-01 15:00+00', '2030-05-01 15:30+00',
                       p_on_conflict => 'skip') r),
  '{"skipped": [36], "booked": 59, "exdates": ["2030-06-06T11:00:00"]}'::jsonb,
  'with on_conflict skip the 37th date is skipped, said so, and recorded as an EXDATE');

-- 500 occurrences, all checked ---------------------------------------------------------

select tests.clear_authentication() \g /dev/null
update private.settings set series_horizon_days = 600;
select tests.authenticate_as('olga') \g /dev/null
select is(
  jsonb_array_length(pg_temp.series('Long', 'FREQ=DAILY;COUNT=500', '2030-01-02 20:00+00', '2030-01-02 20:15+00', '[]') -> 'occurrences'),
  500, 'a 500-occurrence series is booked whole within a 600-day horizon');
select tests.clear_authentication() \g /dev/null
select is(
  (select count(*)::integer from private.busy_blocks b join public.meetings m on m.id = b.meeting_id
   where m.title = 'Long' and b.active),
  500, 'each of the 500 occurrences holds the organiser''s time');
update private.settings set series_horizon_days = 365;
select tests.authenticate_as('olga') \g /dev/null

-- Overlapping occurrences are refused ----------------------------------------------------------

-- 21 hours a day plus a 4-hour wind-down cannot repeat daily.
select tests.clear_authentication() \g /dev/null
update public.profiles set buffer_after_minutes = 240 where id = tests.user_id('olga');
select tests.authenticate_as('olga') \g /dev/null
select is(
  tests.error_of($$select pg_temp.series('Too long', 'FREQ=DAILY;COUNT=3', '2030-09-01 00:00+00', '2030-09-01 21:00+00', '[]')$$)
    -> 'detail' -> 'errors' -> 0 ->> 'field',
  'recurrence', 'occurrences of one series may not overlap each other, buffers included (PT422 on recurrence)');
select tests.clear_authentication() \g /dev/null
update public.profiles set buffer_after_minutes = 0 where id = tests.user_id('olga');
select tests.authenticate_as('olga') \g /dev/null

-- Cancelling one occurrence frees its slot ----------------------------------------------------------

select is(
  (public.cancel_series(p_meeting_id => (pg_temp.occurrence('Standup', 1)).id, p_scope => 'this',
                        p_now => tests.pinned_now()) -> 'series' -> 'exdates'),
  '["2030-03-11T09:00:00"]'::jsonb, 'cancelling the second occurrence records its RECURRENCE-ID as an EXDATE');
select is(
  (select count(*)::integer from public.meetings where title = 'Standup' and status = 'confirmed'), 3,
  'the other occurrences stay');
select lives_ok(
  $$select public.book_meeting(p_title => 'In the freed slot', p_start => '2030-03-11 13:00+00',
      p_end => '2030-03-11 13:30+00', p_time_zone => 'UTC', p_attendees => '[{"email": "anna@test.example"}]',
      p_now => tests.pinned_now())$$,
  'the freed slot can be booked again at once, with the same attendee');

-- Edit all, this and following, this ---------------------------------------------------------

select is(
  (public.update_series(p_meeting_id => (pg_temp.occurrence('Standup', 0)).id, p_version => 1, p_scope => 'all',
     p_start => '2030-03-04 15:00+00', p_end => '2030-03-04 15:30+00', p_now => tests.pinned_now())
   -> 'series' ->> 'first_start_local'),
  '2030-03-04T10:00:00', 'moving the first occurrence by an hour with scope all moves the series');
select results_eq(
  $$select (start_at at time zone 'America/New_York')::time from public.meetings
    where title = 'Standup' and status = 'confirmed' order by start_at$$,
  $$values ('10:00'::time), ('10:00'), ('10:00')$$,
  'every remaining occurrence is at 10:00 local, before and after the DST change');
select ok(
  (select m.version = 2 from public.meetings m where m.title = 'Standup' and m.status = 'confirmed'
   order by m.start_at desc limit 1),
  'moved occurrences get a new version');

select is(
  (select r -> 'previous_series' ->> 'recurrence'
   from public.update_series(p_meeting_id => (pg_temp.occurrence('Long', 100)).id,
     p_version => (pg_temp.occurrence('Long', 100)).version, p_scope => 'this_and_following',
     p_title => 'Long, renamed', p_now => tests.pinned_now()) r),
  'FREQ=DAILY;UNTIL=20300412T185959Z',
  'editing this and following ends the original series just before this occurrence');
select results_eq(
  $$select title, count(*)::integer, count(distinct series_id)::integer from public.meetings
    where title like 'Long%' group by title order by title$$,
  $$values ('Long', 100, 1), ('Long, renamed', 400, 1)$$,
  'the first 100 occurrences stay, the following 400 belong to a new series with the change');
select is(
  (select s.rrule from public.meeting_series s where s.title = 'Long, renamed'),
  'FREQ=DAILY;COUNT=400', 'the new series carries the remaining count');

select is(
  (public.update_series(p_meeting_id => (pg_temp.occurrence('Standup', 1)).id,
     p_version => (pg_temp.occurrence('Standup', 1)).version, p_scope => 'this', p_title => 'Standup (moved room)',
     p_now => tests.pinned_now()) ->> 'title'),
  'Standup (moved room)', 'editing one occurrence changes only it');
select ok(
  (select detached from public.meetings where title = 'Standup (moved room)'),
  'and marks it detached, so series-wide edits leave it alone');

-- Horizon extension records conflicts and tells the organiser ---------------------------------

select is(
  jsonb_array_length(pg_temp.series('Weekly forever', 'FREQ=WEEKLY', '2030-01-07 21:00+00', '2030-01-07 21:30+00') -> 'occurrences'),
  53, 'an endless weekly series is materialised one year ahead of its first meeting');
select tests.authenticate_as('anna') \g /dev/null
select lives_ok(
  $$select public.book_meeting(p_title => 'Anna in 2031', p_start => '2031-01-13 21:00+00', p_end => '2031-01-13 22:00+00',
                               p_time_zone => 'UTC', p_now => tests.pinned_now())$$,
  'anna takes a slot beyond the horizon');
select tests.clear_authentication() \g /dev/null
select is(private.extend_series_horizons('2030-02-01 00:00+00'), 2,
  'a month later the daily job books the January 2031 Mondays that came into the horizon, but the 13th');
select is(
  (select jsonb_build_object('at', c.occurrence_start, 'who', c.conflicts -> 0 ->> 'user_id')
   from private.series_conflicts c join public.meeting_series s on s.id = c.series_id
   where s.title = 'Weekly forever'),
  jsonb_build_object('at', '2031-01-13T21:00:00+00:00', 'who', tests.user_id('anna')),
  'the occurrence that conflicts is recorded, not booked over anna');
select ok(
  exists (select 1 from private.email_outbox o join public.profiles p on p.email = o.recipient_email
          where p.id = tests.user_id('olga') and o.kind = 'series_conflict' and o.payload ? 'series_conflicts'),
  'and the organiser is told');
select is(
  (select private.email_message_json(o.id) -> 'series' ->> 'rrule'
   from private.email_outbox o join public.meetings m on m.id = o.meeting_id
   where m.title = 'Weekly forever' and o.kind = 'confirmation' and o.recipient_email = 'anna@test.example'),
  'FREQ=WEEKLY',
  'the series confirmation the sender renders carries the rule, for the invitation''s RRULE');

-- Who sees a series -------------------------------------------------------------------------

select tests.authenticate_as('sam') \g /dev/null
select is((select count(*)::integer from public.meeting_series), 0, 'a stranger sees no series');
select tests.authenticate_as('anna') \g /dev/null
select ok((select count(*) from public.meeting_series) >= 1, 'an attendee sees the series she is in');

select * from finish();
rollback;
