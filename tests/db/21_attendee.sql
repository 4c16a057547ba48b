-- What an attendee may and may not do. Fixture (sql/test_helpers.sql): olga
-- organises 'planning' with anna and an external guest; sam organises 'sams'
-- alone. Here we act as anna: she sees the meeting she is invited to and
-- answers it, but only olga changes it.
begin;
select plan(40);

do $$ begin perform tests.create_actor_fixture(); end $$;

select tests.authenticate_as('anna') \g /dev/null

-- profiles ------------------------------------------------------------------

select results_eq(
  'select display_name from public.profiles order by display_name',
  array['Anna', 'Olga'],
  'anna reads her own profile and that of olga, whom she meets'
);
select is_empty(
  format('select 1 from public.profiles where id = %L', tests.user_id('sam')),
  'anna cannot read the profile of sam'
);
select is(
  tests.row_count(format('update public.profiles set time_zone = %L where id = %L', 'Europe/Berlin',
                         tests.user_id('anna'))),
  1,
  'anna changes her own time zone'
);
select is(
  tests.row_count(format('update public.profiles set display_name = %L where id = %L', 'Renamed by anna',
                         tests.user_id('olga'))),
  0,
  'anna cannot update the profile of olga, though she may read it'
);
select throws_ok(
  format('update public.profiles set deleted_at = now() where id = %L', tests.user_id('anna')),
  '42501', 'permission denied for table profiles',
  'anna cannot mark her own profile deleted'
);

-- meetings ------------------------------------------------------------------

select results_eq(
  'select title from public.meetings order by title',
  array['Planning'],
  'anna reads the meeting she is invited to'
);
select is_empty(
  format('select 1 from public.meetings where id = %L', tests.meeting_id('sams')),
  'anna cannot read sam''s meeting'
);
select throws_ok(
  format('update public.meetings set start_at = start_at + interval %L where id = %L', '1 hour',
         tests.meeting_id('planning')),
  '42501', 'permission denied for table meetings',
  'anna cannot move the meeting by writing the table'
);
select throws_ok(
  format($$insert into public.meetings (organizer_id, title, start_at, end_at, time_zone)
           values (%L, 'Direct', '2030-02-01 10:00+00', '2030-02-01 11:00+00', 'UTC')$$,
         tests.user_id('anna')),
  '42501', 'permission denied for table meetings',
  'anna cannot insert a meeting directly'
);

-- attendees -----------------------------------------------------------------

select results_eq(
  format('select email from public.attendees where meeting_id = %L order by email',
         tests.meeting_id('planning')),
  array['anna@test.example', 'guest@external.example', 'olga@test.example'],
  'anna reads everyone invited to the meeting she attends'
);
select is_empty(
  format('select 1 from public.attendees where meeting_id = %L', tests.meeting_id('sams')),
  'anna cannot read the attendees of sam''s meeting'
);
select throws_ok(
  format($$update public.attendees set response_status = 'accepted' where meeting_id = %L and email = %L$$,
         tests.meeting_id('planning'), 'anna@test.example'),
  '42501', 'permission denied for table attendees',
  'anna cannot answer by writing her attendee row; respond_to_meeting is the way'
);
select throws_ok(
  format($$delete from public.attendees where meeting_id = %L and email = %L$$,
         tests.meeting_id('planning'), 'anna@test.example'),
  '42501', 'permission denied for table attendees',
  'anna cannot remove herself by deleting her attendee row'
);

-- private tables ------------------------------------------------------------

select throws_ok('select * from private.busy_blocks', '42501', 'permission denied for table busy_blocks',
  'anna cannot read private.busy_blocks');
select throws_ok('select * from private.audit_log', '42501', 'permission denied for table audit_log',
  'anna cannot read private.audit_log');
select throws_ok('select * from private.email_outbox', '42501', 'permission denied for table email_outbox',
  'anna cannot read private.email_outbox');
select throws_ok('select * from private.settings', '42501', 'permission denied for table settings',
  'anna cannot read private.settings');
select throws_ok('select * from private.time_zone_names', '42501',
  'permission denied for table time_zone_names', 'anna cannot read private.time_zone_names');

-- get_meeting and get_meeting_history ---------------------------------------

select is(
  (select jsonb_agg(a ->> 'email' order by a ->> 'email') from jsonb_array_elements(
     public.get_meeting(tests.meeting_id('planning')) -> 'attendees') a),
  '["anna@test.example", "guest@external.example", "olga@test.example"]'::jsonb,
  'anna gets the meeting she attends, with its attendees'
);
select throws_ok(
  format('select public.get_meeting(%L)', tests.meeting_id('sams')),
  'PT404', 'meeting not found',
  'anna gets PT404 for sam''s meeting'
);
select is(
  jsonb_array_length(public.get_meeting_history(tests.meeting_id('planning'))),
  4,
  'anna reads the history of the meeting she attends (the meeting and its three attendees)'
);
select throws_ok(
  format('select public.get_meeting_history(%L)', tests.meeting_id('sams')),
  'PT404', 'meeting not found',
  'anna gets PT404 for the history of sam''s meeting'
);

-- respond_to_meeting --------------------------------------------------------

select is(
  (select a ->> 'response_status' from jsonb_array_elements(
     public.respond_to_meeting(tests.meeting_id('planning'), 'tentative', p_now => tests.pinned_now())
       -> 'attendees') a
   where a ->> 'email' = 'anna@test.example'),
  'tentative',
  'anna answers the invitation'
);
select is(
  tests.error_of(format('select public.respond_to_meeting(%L, %L, p_now => %L)',
                        tests.meeting_id('planning'), 'maybe', tests.pinned_now())) -> 'detail',
  '{"code": "validation_failed", "errors": [{"field": "response", "message": "must be accepted, declined or tentative"}]}'::jsonb,
  'anna cannot give an answer that does not exist: PT422 names the field'
);
select throws_ok(
  format('select public.respond_to_meeting(%L, %L, p_now => %L)', tests.meeting_id('sams'), 'accepted',
         tests.pinned_now()),
  'PT404', 'meeting not found',
  'anna cannot answer a meeting she is not invited to'
);

-- Changing the meeting is olga's: PT403 for anna, who can see it.

select throws_ok(
  format('select public.reschedule_meeting(%L, 1, %L, %L, p_now => %L)', tests.meeting_id('planning'),
         '2030-01-10 12:00+00', '2030-01-10 13:00+00', tests.pinned_now()),
  'PT403', 'only the organiser can change this meeting',
  'anna cannot reschedule olga''s meeting'
);
select throws_ok(
  format('select public.cancel_meeting(%L, p_now => %L)', tests.meeting_id('planning'), tests.pinned_now()),
  'PT403', 'only the organiser can change this meeting',
  'anna cannot cancel olga''s meeting'
);
select throws_ok(
  format('select public.update_meeting(%L, 1, p_title => %L, p_now => %L)', tests.meeting_id('planning'),
         'Anna''s title', tests.pinned_now()),
  'PT403', 'only the organiser can change this meeting',
  'anna cannot update olga''s meeting'
);

-- Her own meeting: what she may do as an organiser of her own.

select lives_ok(
  $$select tests.remember_meeting('annas', public.book_meeting(
      p_title => 'Anna''s own', p_start => '2030-01-10 16:00:00+00', p_end => '2030-01-10 16:30:00+00',
      p_time_zone => 'UTC', p_now => tests.pinned_now()))$$,
  'anna books a meeting of her own'
);
select is(
  tests.error_of($$select public.book_meeting(p_title => 'Double', p_start => '2030-01-10 10:30:00+00',
                   p_end => '2030-01-10 10:45:00+00', p_time_zone => 'UTC', p_now => tests.pinned_now())$$)
    #>> '{detail,conflicts,0,meeting_id}',
  tests.meeting_id('planning')::text,
  'anna cannot book over the meeting she attends: PT409 names it, since she may see it'
);
select is(
  public.update_meeting(tests.meeting_id('annas'), 1, p_location => 'Room 2', p_now => tests.pinned_now())
    ->> 'location',
  'Room 2',
  'anna updates her own meeting'
);
select is(
  public.reschedule_meeting(tests.meeting_id('annas'), 2, '2030-01-10 17:00:00+00', '2030-01-10 17:30:00+00',
                            p_now => tests.pinned_now()) ->> 'version',
  '3',
  'anna reschedules her own meeting'
);
select is(
  public.cancel_meeting(tests.meeting_id('annas'), p_now => tests.pinned_now()) ->> 'status',
  'cancelled',
  'anna cancels her own meeting'
);

-- Declining frees her time (her busy row in private.busy_blocks goes
-- inactive): the slot of 'planning' becomes bookable for her.
select lives_ok(
  format('select public.respond_to_meeting(%L, %L, p_now => %L)', tests.meeting_id('planning'), 'declined',
         tests.pinned_now()),
  'anna declines'
);
select lives_ok(
  $$select tests.remember_meeting('instead', public.book_meeting(
      p_title => 'Instead of planning', p_start => '2030-01-10 10:00:00+00', p_end => '2030-01-10 11:00:00+00',
      p_time_zone => 'UTC', p_now => tests.pinned_now()))$$,
  'after declining, anna may book the same slot'
);

-- Removed from the meeting, she can no longer see it: it is as if it never existed.
select tests.authenticate_as('olga') \g /dev/null
select lives_ok(
  format($$select public.update_meeting(%L, 1, p_attendees => '[{"email": "guest@external.example"}]',
                                        p_now => %L)$$,
         tests.meeting_id('planning'), tests.pinned_now()),
  'olga removes anna from the meeting'
);
select tests.authenticate_as('anna') \g /dev/null
select is_empty(
  format('select 1 from public.meetings where id = %L', tests.meeting_id('planning')),
  'a removed attendee no longer reads the meeting'
);
select throws_ok(
  format('select public.get_meeting(%L)', tests.meeting_id('planning')),
  'PT404', 'meeting not found',
  'a removed attendee gets PT404 for the meeting'
);
select throws_ok(
  format('select public.respond_to_meeting(%L, %L, p_now => %L)', tests.meeting_id('planning'), 'accepted',
         tests.pinned_now()),
  'PT404', 'meeting not found',
  'a removed attendee cannot answer the meeting any more'
);

select tests.clear_authentication() \g /dev/null
select is(
  (select time_zone from public.profiles where id = tests.user_id('anna'))
    || ' / ' || (select display_name from public.profiles where id = tests.user_id('olga')),
  'Europe/Berlin / Olga',
  'anna''s own change stuck; olga''s profile is untouched'
);

select * from finish();
rollback;
