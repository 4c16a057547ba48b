-- Every booking rule, proven through the functions users call. The clock is
-- pinned (tests.pinned_now() = 2030-01-01 00:00 UTC) and every meeting lies
-- in 2030, so the suite never ages.
begin;
select plan(64);

do $$
begin
  perform tests.create_user('olga');                       -- 15 minutes after each meeting
  perform tests.create_user('bella');                      -- 30 minutes before each meeting
  perform tests.create_user('anna');                       -- no buffers
  perform tests.create_user('sam');
  perform tests.create_user('nina', 'America/New_York');
  update public.profiles set buffer_after_minutes = 15 where id = tests.user_id('olga');
  update public.profiles set buffer_before_minutes = 30 where id = tests.user_id('bella');
end
$$;

-- Books as the current user; the meeting is remembered under p_name.
create function pg_temp.book(p_name text, p_start timestamptz, p_end timestamptz,
                             p_attendees jsonb default '[]') returns uuid
language sql as $$
  select tests.remember_meeting(p_name, public.book_meeting(
    p_title => p_name, p_start => p_start, p_end => p_end, p_time_zone => 'UTC',
    p_attendees => p_attendees, p_now => tests.pinned_now()));
$$;
-- The error a booking of [p_start, p_end) in UTC by the current user would
-- raise, or null if it would be accepted; the probe itself books nothing.
create function pg_temp.booking_error(p_start timestamptz, p_end timestamptz,
                                      p_attendees jsonb default '[]') returns jsonb
language sql as $$
  select tests.probe_error(format(
    'select public.book_meeting(p_title => %L, p_start => %L, p_end => %L, p_time_zone => %L, '
    'p_attendees => %L, p_now => %L)',
    'probe', p_start, p_end, 'UTC', p_attendees, tests.pinned_now()));
$$;
-- A user's active busy ranges, as the database owner sees them.
create function pg_temp.busy(p_user text) returns setof tstzrange
language sql security definer as $$
  select range from private.busy_blocks where user_id = tests.user_id(p_user) and active order by range;
$$;
-- The busy rows of a named meeting, by user name, as the database owner sees them.
create function pg_temp.busy_rows(p_meeting text)
returns table (user_name text, buffer_before integer, buffer_after integer, range tstzrange, active boolean)
language sql security definer as $$
  select u.name, b.buffer_before_minutes, b.buffer_after_minutes, b.range, b.active
  from private.busy_blocks b join tests.users u on u.id = b.user_id
  where b.meeting_id = tests.meeting_id(p_meeting)
  order by u.name;
$$;
grant execute on all functions in schema pg_temp to authenticated;

-- Buffers ---------------------------------------------------------------------

select tests.authenticate_as('olga') \g /dev/null
select pg_temp.book('ten', '2030-01-10 10:00+00', '2030-01-10 11:00+00', '[{"email": "anna@test.example"}]')
  \g /dev/null

select results_eq(
  $$select * from pg_temp.busy('olga')$$,
  $$values (tstzrange('2030-01-10 10:00+00', '2030-01-10 11:15+00'))$$,
  'olga''s busy time is her meeting padded by her 15-minute after-buffer'
);
select results_eq(
  $$select * from pg_temp.busy('anna')$$,
  $$values (tstzrange('2030-01-10 10:00+00', '2030-01-10 11:00+00'))$$,
  'anna, in the same meeting, is busy for the meeting alone: buffers are per user'
);
select is(
  pg_temp.booking_error('2030-01-10 11:00+00', '2030-01-10 11:30+00'),
  jsonb_build_object('sqlstate', 'PT409',
    'message', format('user %s is busy from 2030-01-10T10:00:00+00:00 to 2030-01-10T11:15:00+00:00 (meeting %s)',
                      tests.user_id('olga'), tests.meeting_id('ten')),
    'detail', jsonb_build_object('code', 'meeting_conflict', 'conflicts', jsonb_build_array(jsonb_build_object(
      'meeting_id', tests.meeting_id('ten'), 'user_id', tests.user_id('olga'),
      'start', '2030-01-10T10:00:00+00:00', 'end', '2030-01-10T11:15:00+00:00')))),
  'with a 15-minute after-buffer, 10:00-11:00 blocks a meeting at 11:00: PT409 names meeting, user and range'
);
select is(
  pg_temp.booking_error('2030-01-10 11:15+00', '2030-01-10 11:45+00'),
  null,
  '... but not one at 11:15'
);
select tests.authenticate_as('sam') \g /dev/null
select is(
  pg_temp.booking_error('2030-01-10 11:00+00', '2030-01-10 11:15+00', '[{"email": "anna@test.example"}]'),
  null,
  'anna, who has no buffer, can be booked at 11:00 by someone else'
);

select tests.authenticate_as('bella') \g /dev/null
select pg_temp.book('bella-two', '2030-01-10 14:00+00', '2030-01-10 15:00+00') \g /dev/null
select results_eq(
  $$select * from pg_temp.busy('bella')$$,
  $$values (tstzrange('2030-01-10 13:30+00', '2030-01-10 15:00+00'))$$,
  'bella''s 30-minute before-buffer pads her meeting at the start'
);
select is(
  pg_temp.booking_error('2030-01-10 13:00+00', '2030-01-10 13:30+00'),
  null,
  'bella may meet until 13:30, where her preparation for 14:00 begins'
);
select is(
  pg_temp.booking_error('2030-01-10 15:00+00', '2030-01-10 15:30+00') #>> '{detail,conflicts,0,end}',
  '2030-01-10T15:00:00+00:00',
  'a meeting at 15:00 needs bella free from 14:30, so it conflicts with her 14:00-15:00'
);
select tests.authenticate_as('sam') \g /dev/null
select is(
  pg_temp.booking_error('2030-01-10 13:40+00', '2030-01-10 13:50+00', '[{"email": "bella@test.example"}]')
    #> '{detail,conflicts,0}',
  jsonb_build_object('meeting_id', null, 'user_id', tests.user_id('bella'),
                     'start', '2030-01-10T13:30:00+00:00', 'end', '2030-01-10T15:00:00+00:00'),
  'others cannot book bella inside her before-buffer either'
);

-- No booking in the past, sensible lengths --------------------------------------

select is(
  pg_temp.booking_error('2029-12-31 23:59+00', '2030-01-01 00:30+00') #> '{detail,errors}',
  '[{"field": "start", "message": "is in the past"}]'::jsonb,
  'a start one minute before the pinned now is in the past'
);
select is(
  pg_temp.booking_error('2030-01-01 00:00+00', '2030-01-01 00:30+00'),
  null,
  'a start exactly at the pinned now is allowed'
);
-- Through PostgREST (session user authenticator) the clock cannot be pinned
-- into the past, or "not in the past" would mean nothing.
set local session authorization authenticator;
select tests.authenticate_as('sam') \g /dev/null
select is(
  tests.error_of($$select public.book_meeting(p_title => 'Back then', p_start => '2020-06-01 10:00+00',
                   p_end => '2020-06-01 11:00+00', p_time_zone => 'UTC', p_now => '2020-01-01 00:00+00')$$)
    - 'message',
  '{"sqlstate": "PT403", "detail": {"code": "clock_pin_forbidden",
    "errors": [{"field": "now", "message": "must not be in the past"}]}}'::jsonb,
  'a PostgREST caller cannot pin p_now into the past to book there'
);
select is(
  pg_temp.booking_error('2030-01-01 00:00+00', '2030-01-01 00:30+00'),
  null,
  '... but may pin it into the future, as these suites do'
);
reset session authorization;
select tests.authenticate_as('sam') \g /dev/null
select is(
  pg_temp.booking_error('2030-01-11 10:00+00', '2030-01-11 10:00+00') #> '{detail,errors}',
  '[{"field": "end", "message": "must be after start"}]'::jsonb,
  'end equal to start is refused'
);
select is(
  pg_temp.booking_error('2030-01-11 10:00+00', '2030-01-11 09:00+00') #> '{detail,errors}',
  '[{"field": "end", "message": "must be after start"}]'::jsonb,
  'end before start is refused'
);
select is(
  pg_temp.booking_error('2030-01-11 10:00+00', '2030-01-11 10:00:59+00') #> '{detail,errors}',
  '[{"field": "end", "message": "must be at least 1 minute after start"}]'::jsonb,
  'a meeting of 59 seconds is refused'
);
select is(
  pg_temp.booking_error('2030-01-11 11:00+00', '2030-01-11 11:01+00'),
  null,
  'a meeting of exactly 1 minute is allowed'
);
select is(
  pg_temp.booking_error('2030-01-12 00:00+00', '2030-01-13 00:00+00'),
  null,
  'a timed meeting of exactly 24 hours is allowed by default'
);
select is(
  pg_temp.booking_error('2030-01-14 00:00+00', '2030-01-15 00:01+00') #> '{detail,errors}',
  '[{"field": "end", "message": "a meeting may last at most 1440 minutes"}]'::jsonb,
  'a timed meeting of 24 hours and 1 minute is refused by default'
);

select tests.authenticate_as_service_role() \g /dev/null
update private.settings set max_meeting_minutes = 60;
select tests.authenticate_as('sam') \g /dev/null
select is(
  pg_temp.booking_error('2030-01-16 10:00+00', '2030-01-16 11:01+00') #> '{detail,errors}',
  '[{"field": "end", "message": "a meeting may last at most 60 minutes"}]'::jsonb,
  'the maximum comes from private.settings: lowered to 60 minutes, 61 are refused'
);
select is(
  pg_temp.booking_error('2030-01-16 10:00+00', '2030-01-16 11:00+00'),
  null,
  '... and 60 are allowed'
);
select tests.authenticate_as_service_role() \g /dev/null
update private.settings set max_meeting_minutes = default, max_all_day_days = 2;
select tests.authenticate_as('sam') \g /dev/null
select is(
  tests.error_of(format($$select public.book_meeting(p_title => 'Retreat', p_all_day => true,
                   p_start_date => '2030-06-01', p_end_date => '2030-06-04', p_time_zone => 'UTC', p_now => %L)$$,
                 tests.pinned_now())) #> '{detail,errors}',
  '[{"field": "end_date", "message": "an all-day meeting may span at most 2 days"}]'::jsonb,
  'the all-day maximum comes from private.settings too'
);
select tests.authenticate_as_service_role() \g /dev/null
update private.settings set max_all_day_days = default;

-- All-day meetings ----------------------------------------------------------------

select tests.authenticate_as('nina') \g /dev/null
select tests.remember_meeting('spring', public.book_meeting(p_title => 'Spring forward', p_all_day => true,
  p_start_date => '2030-03-10', p_time_zone => 'America/New_York', p_now => tests.pinned_now())) \g /dev/null
select is(
  (select format('%s..%s = %s hours', m ->> 'start', m ->> 'end',
                 (extract(epoch from (m ->> 'end')::timestamptz - (m ->> 'start')::timestamptz) / 3600)::integer)
   from public.get_meeting(tests.meeting_id('spring')) m),
  '2030-03-10T05:00:00+00:00..2030-03-11T04:00:00+00:00 = 23 hours',
  'an all-day meeting on 2030-03-10 in New York is the whole local day: 23 hours'
);
select is(
  (select format('%s..%s = %s hours', m ->> 'start', m ->> 'end',
                 (extract(epoch from (m ->> 'end')::timestamptz - (m ->> 'start')::timestamptz) / 3600)::integer)
   from public.book_meeting(p_title => 'Fall back', p_all_day => true, p_start_date => '2030-11-03',
          p_time_zone => 'America/New_York', p_now => tests.pinned_now()) m),
  '2030-11-03T04:00:00+00:00..2030-11-04T05:00:00+00:00 = 25 hours',
  'an all-day meeting on 2030-11-03 in New York is 25 hours'
);
select is(
  (select format('%s..%s %s..%s', m ->> 'start_date', m ->> 'end_date', m ->> 'start', m ->> 'end')
   from public.book_meeting(p_title => 'Offsite', p_all_day => true, p_start_date => '2030-06-01',
          p_end_date => '2030-06-04', p_time_zone => 'America/New_York', p_now => tests.pinned_now()) m),
  '2030-06-01..2030-06-04 2030-06-01T04:00:00+00:00..2030-06-04T04:00:00+00:00',
  'a multi-day all-day meeting covers whole local days, end date exclusive'
);
select results_eq(
  $$select * from pg_temp.busy('nina')$$,
  $$values (tstzrange('2030-03-10 05:00+00', '2030-03-11 04:00+00')),
           (tstzrange('2030-06-01 04:00+00', '2030-06-04 04:00+00')),
           (tstzrange('2030-11-03 04:00+00', '2030-11-04 05:00+00'))$$,
  'nina is busy for exactly those local days'
);
select is(
  tests.error_of($$select public.book_meeting(p_title => 'Lunch', p_start => '2030-03-10 12:00-04',
                   p_end => '2030-03-10 13:00-04', p_time_zone => 'America/New_York', p_now => tests.pinned_now())$$)
    #> '{detail,conflicts,0}',
  jsonb_build_object('meeting_id', tests.meeting_id('spring'), 'user_id', tests.user_id('nina'),
                     'start', '2030-03-10T05:00:00+00:00', 'end', '2030-03-11T04:00:00+00:00'),
  'the all-day meeting blocks a timed one that day'
);
select is(
  tests.probe_error($$select public.book_meeting(p_title => 'Early', p_start => '2030-03-11 00:00-04',
                   p_end => '2030-03-11 01:00-04', p_time_zone => 'America/New_York', p_now => tests.pinned_now())$$),
  null,
  '... and not the next local day, from its midnight on'
);
select tests.authenticate_as('olga') \g /dev/null
select tests.remember_meeting('holiday', public.book_meeting(p_title => 'Holiday', p_all_day => true,
  p_start_date => '2030-02-01', p_time_zone => 'UTC', p_now => tests.pinned_now())) \g /dev/null
select results_eq(
  $$select user_name, buffer_before, buffer_after, range from pg_temp.busy_rows('holiday')$$,
  $$values ('olga', 0, 0, tstzrange('2030-02-01 00:00+00', '2030-02-02 00:00+00'))$$,
  'an all-day meeting takes no buffers, even for olga who keeps 15 minutes after meetings'
);

-- Idempotency -----------------------------------------------------------------------

create function pg_temp.book_with_key(p_key text, p_title text) returns jsonb
language sql as $$
  select public.book_meeting(p_title => p_title, p_start => '2030-01-20 10:00+00', p_end => '2030-01-20 11:00+00',
    p_time_zone => 'UTC', p_attendees => '[{"email": "guest@external.example"}]',
    p_idempotency_key => p_key, p_now => tests.pinned_now());
$$;
grant execute on function pg_temp.book_with_key(text, text) to authenticated;

select tests.remember_meeting('keyed', pg_temp.book_with_key('req-1', 'Keyed')) \g /dev/null
select is(
  (select case when (r ->> 'id')::uuid = tests.meeting_id('keyed') then 'same meeting' else 'another' end
          || ', replayed: ' || (r ->> 'replayed')
   from pg_temp.book_with_key('req-1', 'Keyed') r),
  'same meeting, replayed: true',
  'the same key with the same payload returns the same meeting, marked replayed'
);
select is(
  (select count(*)::integer from public.meetings where organizer_id = tests.user_id('olga') and title = 'Keyed'),
  1,
  'a replay books nothing new'
);
select is(
  tests.error_of($$select pg_temp.book_with_key('req-1', 'Keyed, but renamed')$$) - 'message',
  jsonb_build_object('sqlstate', 'PT422', 'detail', jsonb_build_object('code', 'idempotency_key_reused',
    'meeting_id', tests.meeting_id('keyed'), 'errors', '[{"field": "idempotency_key",
      "message": "was already used for a different request"}]'::jsonb)),
  'the same key with another payload is PT422 idempotency_key_reused'
);
select tests.authenticate_as('sam') \g /dev/null
select is(
  (select case when (r ->> 'id')::uuid = tests.meeting_id('keyed') then 'olga''s meeting' else 'another' end
          || ', replayed: ' || (r ->> 'replayed')
   from pg_temp.book_with_key('req-1', 'Keyed') r),
  'another, replayed: false',
  'keys are per organiser: sam''s req-1 is a new meeting of his'
);

-- Reschedule with optimistic locking -------------------------------------------------

select tests.authenticate_as('olga') \g /dev/null
select pg_temp.book('movable', '2030-01-21 10:00+00', '2030-01-21 11:00+00', '[{"email": "anna@test.example"}]')
  \g /dev/null
select lives_ok(
  format('select public.update_meeting(%L, 1, p_title => %L, p_now => %L)', tests.meeting_id('movable'),
         'Movable (v2)', tests.pinned_now()),
  'olga renames the meeting: version 2'
);
select is(
  tests.error_of(format('select public.reschedule_meeting(%L, 1, %L, %L, p_now => %L)', tests.meeting_id('movable'),
                        '2030-01-22 10:00+00', '2030-01-22 11:00+00', tests.pinned_now())),
  jsonb_build_object('sqlstate', 'PT412', 'message', 'version mismatch', 'detail', jsonb_build_object(
    'code', 'version_mismatch', 'meeting_id', tests.meeting_id('movable'),
    'expected_version', 1, 'current_version', 2)),
  'a reschedule with a stale version is refused: PT412 version mismatch'
);
select results_eq(
  format($$select m.start_at, m.version, (select range from pg_temp.busy_rows('movable') where user_name = 'olga')
           from public.meetings m where m.id = %L$$, tests.meeting_id('movable')),
  $$values ('2030-01-21 10:00+00'::timestamptz, 2, tstzrange('2030-01-21 10:00+00', '2030-01-21 11:15+00'))$$,
  '... and changes nothing: time, version and busy time stay'
);
select is(
  tests.error_of(format('select public.reschedule_meeting(%L, null, %L, %L, p_now => %L)',
                        tests.meeting_id('movable'), '2030-01-22 10:00+00', '2030-01-22 11:00+00',
                        tests.pinned_now())) - 'message',
  '{"sqlstate": "PT428", "detail": {"code": "version_required", "current_version": 2}}'::jsonb,
  'a reschedule without a version is PT428'
);
select is(
  public.reschedule_meeting(tests.meeting_id('movable'), 2, '2030-01-22 10:00+00', '2030-01-22 11:00+00',
                            p_now => tests.pinned_now()) ->> 'version',
  '3',
  'with the current version the meeting moves, version 3'
);
select results_eq(
  $$select user_name, range from pg_temp.busy_rows('movable') where active$$,
  $$values ('anna', tstzrange('2030-01-22 10:00+00', '2030-01-22 11:00+00')),
           ('olga', tstzrange('2030-01-22 10:00+00', '2030-01-22 11:15+00'))$$,
  'the busy rows moved with it, each padded by its user''s buffers'
);
select tests.authenticate_as('anna') \g /dev/null
select is(
  pg_temp.booking_error('2030-01-21 10:00+00', '2030-01-21 11:00+00'),
  null,
  'the old slot is free again for anna'
);

-- Cancel: a soft delete that frees the slot at once --------------------------------

select tests.authenticate_as('olga') \g /dev/null
select lives_ok(
  format('select public.cancel_meeting(%L, %L, p_now => %L)', tests.meeting_id('movable'), 'Plans changed',
         tests.pinned_now()),
  'olga cancels'
);
select results_eq(
  format('select status, cancelled_at is not null, cancelled_by, cancel_reason, version from public.meetings where id = %L',
         tests.meeting_id('movable')),
  format($$values ('cancelled', true, %L::uuid, 'Plans changed', 4)$$, tests.user_id('olga')),
  'the meeting stays, cancelled: status, time, who, reason, and a new version'
);
select results_eq(
  $$select user_name, active from pg_temp.busy_rows('movable')$$,
  $$values ('anna', false), ('olga', false)$$,
  'its busy rows are released at once'
);
select is(
  pg_temp.booking_error('2030-01-22 10:00+00', '2030-01-22 11:00+00', '[{"email": "anna@test.example"}]'),
  null,
  'the slot can be booked again in the same transaction, with the same people'
);
select is(
  public.cancel_meeting(tests.meeting_id('movable'), 'Again', p_now => tests.pinned_now())
    - 'updated_at' - 'attendees',
  (select private.meeting_json(tests.meeting_id('movable')) - 'updated_at' - 'attendees'),
  'cancelling twice answers the cancelled meeting again'
);
select results_eq(
  format('select cancel_reason, version from public.meetings where id = %L', tests.meeting_id('movable')),
  $$values ('Plans changed', 4)$$,
  '... and changes nothing'
);

-- update_meeting replaces the attendee list --------------------------------------

select pg_temp.book('team', '2030-01-23 10:00+00', '2030-01-23 11:00+00', '[{"email": "anna@test.example"}]')
  \g /dev/null
select lives_ok(
  format($$select public.update_meeting(%L, 1, p_attendees => '[{"email": "bella@test.example"}]', p_now => %L)$$,
         tests.meeting_id('team'), tests.pinned_now()),
  'olga replaces anna with bella'
);
select results_eq(
  $$select user_name, range, active from pg_temp.busy_rows('team') where user_name <> 'olga'$$,
  $$values ('bella', tstzrange('2030-01-23 09:30+00', '2030-01-23 11:00+00'), true)$$,
  'bella, added, is busy (with her before-buffer); anna, removed, holds no busy row'
);
select tests.authenticate_as('anna') \g /dev/null
select lives_ok(
  $$select pg_temp.book('annas-instead', '2030-01-23 10:00+00', '2030-01-23 11:00+00')$$,
  'anna''s time is free again: she books it'
);
select tests.authenticate_as('olga') \g /dev/null
select is(
  tests.error_of(format($$select public.update_meeting(%L, 2, p_attendees => '[{"email": "anna@test.example"}]',
                          p_now => %L)$$, tests.meeting_id('team'), tests.pinned_now())) #>> '{detail,conflicts,0,user_id}',
  tests.user_id('anna')::text,
  'adding anna back now conflicts with the meeting she booked meanwhile'
);

-- Decline frees the time; accepting again needs it free ---------------------------

select pg_temp.book('review', '2030-01-24 10:00+00', '2030-01-24 11:00+00', '[{"email": "sam@test.example"}]')
  \g /dev/null
select tests.authenticate_as('sam') \g /dev/null
select lives_ok(
  format('select public.respond_to_meeting(%L, %L, p_now => %L)', tests.meeting_id('review'), 'declined',
         tests.pinned_now()),
  'sam declines olga''s review'
);
select tests.authenticate_as('anna') \g /dev/null
select lives_ok(
  $$select pg_temp.book('annas-with-sam', '2030-01-24 10:30+00', '2030-01-24 11:30+00',
                        '[{"email": "sam@test.example"}]')$$,
  'his time is free: anna books him over it'
);
select tests.authenticate_as('sam') \g /dev/null
select is(
  (tests.error_of(format('select public.respond_to_meeting(%L, %L, p_now => %L)', tests.meeting_id('review'),
                        'accepted', tests.pinned_now())) #> '{detail,conflicts,0}') - 'meeting_id',
  jsonb_build_object('user_id', tests.user_id('sam'), 'start', '2030-01-24T10:30:00+00:00',
                     'end', '2030-01-24T11:30:00+00:00'),
  'accepting the review again conflicts with anna''s meeting, which took the time meanwhile'
);
select is(
  (select response_status from public.attendees where meeting_id = tests.meeting_id('review')
     and user_id = tests.user_id('sam')),
  'declined',
  '... and his answer stays declined'
);

-- Accepting again pads with the buffers the attendee keeps now (regression:
-- the padding from before the decline could overlap a meeting booked since,
-- and the answer was a raw exclusion error instead of an acceptance).
select tests.authenticate_as('anna') \g /dev/null
update public.profiles set buffer_after_minutes = 30 where id = tests.user_id('anna');
select tests.authenticate_as('olga') \g /dev/null
select pg_temp.book('late', '2030-01-26 10:00+00', '2030-01-26 11:00+00', '[{"email": "anna@test.example"}]')
  \g /dev/null
select tests.authenticate_as('anna') \g /dev/null
select public.respond_to_meeting(tests.meeting_id('late'), 'declined', p_now => tests.pinned_now()) \g /dev/null
update public.profiles set buffer_after_minutes = 0 where id = tests.user_id('anna');
select tests.authenticate_as('sam') \g /dev/null
select pg_temp.book('sam-after-late', '2030-01-26 11:15+00', '2030-01-26 11:45+00', '[{"email": "anna@test.example"}]')
  \g /dev/null
select tests.authenticate_as('anna') \g /dev/null
select lives_ok(
  format('select public.respond_to_meeting(%L, %L, p_now => %L)', tests.meeting_id('late'), 'accepted',
         tests.pinned_now()),
  'anna, who dropped her 30-minute buffer after declining, accepts again next to a meeting booked since'
);
select results_eq(
  $$select range, buffer_after, active from pg_temp.busy_rows('late') where user_name = 'anna'$$,
  $$values (tstzrange('2030-01-26 10:00+00', '2030-01-26 11:00+00'), 0, true)$$,
  'her busy row is active again, padded by the buffer she keeps now'
);

-- Time zones and validation --------------------------------------------------------

select tests.authenticate_as('sam') \g /dev/null

select is(
  tests.error_of($$select public.book_meeting(p_title => 'Somewhere', p_start => '2030-01-25 10:00+00',
                   p_end => '2030-01-25 11:00+00', p_time_zone => 'Europe/Atlantis', p_now => tests.pinned_now())$$)
    - 'message',
  '{"sqlstate": "PT422", "detail": {"code": "validation_failed", "errors": [{"field": "time_zone",
    "message": "unknown time zone ''Europe/Atlantis''; use an IANA name such as Europe/Berlin"}]}}'::jsonb,
  'a zone unknown to pg_timezone_names is PT422 naming time_zone'
);
select is(
  tests.error_of($$select public.book_meeting(p_title => 'Somewhere', p_start => '2030-01-25 10:00+00',
                   p_end => '2030-01-25 11:00+00', p_time_zone => 'EUROPE/BERLIN', p_now => tests.pinned_now())$$)
    #>> '{detail,errors,0,field}',
  'time_zone',
  'zone names are matched exactly, as IANA spells them'
);
select tests.clear_authentication() \g /dev/null
select is_empty(
  $$select name from pg_catalog.pg_timezone_names except select name from private.time_zone_names$$,
  'the copy validation reads holds every zone in pg_timezone_names'
);
select tests.authenticate_as('sam') \g /dev/null
select throws_ok(
  format($$update public.profiles set time_zone = 'Moon/Tranquility' where id = %L$$, tests.user_id('sam')),
  'PT422', 'time_zone: unknown time zone ''Moon/Tranquility''',
  'a profile''s zone is validated too'
);
select is(
  tests.error_of($$select public.book_meeting(p_title => ' ', p_start => '2030-01-25 11:00+00',
                   p_end => '2030-01-25 10:00+00', p_time_zone => 'Mars/Olympus_Mons',
                   p_attendees => '[{"email": "anna@test.example"}, {"email": "not-an-address"}, {"role": "chair"}]',
                   p_idempotency_key => '', p_now => tests.pinned_now())$$) #> '{detail,errors}',
  '[{"field": "title", "message": "is required"},
    {"field": "time_zone", "message": "unknown time zone ''Mars/Olympus_Mons''; use an IANA name such as Europe/Berlin"},
    {"field": "end", "message": "must be after start"},
    {"field": "attendees[1].email", "message": "is not a valid e-mail address"},
    {"field": "attendees[2]", "message": "needs an email or a user_id"},
    {"field": "idempotency_key", "message": "must be 1 to 200 characters"}]'::jsonb,
  'a validation error lists every bad field at once'
);

-- Switching between all-day and timed over the same instants re-pads the busy rows.

select tests.authenticate_as('olga') \g /dev/null
select tests.remember_meeting('day', public.book_meeting(p_title => 'Day', p_all_day => true,
  p_start_date => '2030-02-10', p_time_zone => 'UTC', p_now => tests.pinned_now())) \g /dev/null
select lives_ok(
  format('select public.update_meeting(%L, 1, p_all_day => false, p_start => %L, p_end => %L, p_now => %L)',
         tests.meeting_id('day'), '2030-02-10 00:00+00', '2030-02-11 00:00+00', tests.pinned_now()),
  'olga turns her all-day meeting into a timed one over the same 24 hours'
);
select is(
  pg_temp.booking_error('2030-02-11 00:05+00', '2030-02-11 00:30+00') #>> '{detail,conflicts,0,end}',
  '2030-02-11T00:15:00+00:00',
  'now timed, it carries her after-buffer: a meeting 5 minutes after it conflicts'
);

-- Regression: adding an attendee re-checked the existing ones with their
-- current buffers, so one whose buffers had grown since got a PT409 although
-- nothing changed for them. Only newcomers are checked now.
select tests.authenticate_as('anna') \g /dev/null
select pg_temp.book('annas-own', '2030-03-05 11:00+00', '2030-03-05 12:00+00') \g /dev/null
select tests.authenticate_as('olga') \g /dev/null
select pg_temp.book('grown', '2030-03-05 09:00+00', '2030-03-05 10:45+00', '[{"email": "anna@test.example"}]')
  \g /dev/null
select tests.clear_authentication() \g /dev/null
update public.profiles set buffer_after_minutes = 30 where id = tests.user_id('anna');
select tests.authenticate_as('olga') \g /dev/null
select is(
  tests.error_of(format(
    'select public.update_meeting(p_meeting_id => %L, p_version => 1, p_attendees => %L, p_now => %L)',
    tests.meeting_id('grown'), '[{"email": "anna@test.example"}, {"email": "sam@test.example"}]',
    tests.pinned_now())),
  null,
  'adding sam does not refuse because anna''s buffers grew since she was invited'
);

select * from finish();
rollback;
