-- What an organiser may and may not do. Fixture (sql/test_helpers.sql):
-- olga organises 'planning' with anna and an external guest; sam, a stranger
-- to it, organises 'sams'. Here we act as olga.
begin;
select plan(41);

do $$ begin perform tests.create_actor_fixture(); end $$;
-- A meeting where olga is invited, not organising, for respond_to_meeting.
do $$
begin
  perform tests.authenticate_as('anna');
  perform tests.remember_meeting('annas', public.book_meeting(
    p_title => 'Anna asks Olga', p_start => '2030-01-13 09:00:00+00', p_end => '2030-01-13 09:30:00+00',
    p_time_zone => 'UTC', p_attendees => '[{"email": "olga@test.example"}]', p_now => tests.pinned_now()));
  perform tests.clear_authentication();
end
$$;

select tests.authenticate_as('olga') \g /dev/null

-- profiles ------------------------------------------------------------------

select results_eq(
  'select display_name from public.profiles order by display_name',
  array['Anna', 'Olga'],
  'olga reads her own profile and those of the people she meets'
);
select is_empty(
  format('select 1 from public.profiles where id = %L', tests.user_id('sam')),
  'olga cannot read the profile of sam, whom she never met'
);
select is(
  tests.row_count(format('update public.profiles set display_name = %L, buffer_after_minutes = 10 where id = %L',
                         'Olga O.', tests.user_id('olga'))),
  1,
  'olga updates her own display name and buffer'
);
select is(
  (select display_name from public.profiles where id = tests.user_id('olga')),
  'Olga O.',
  'the update of her own profile is visible to her'
);
select is(
  tests.row_count(format('update public.profiles set display_name = %L where id = %L',
                         'Hacked', tests.user_id('anna'))),
  0,
  'olga cannot update the profile of anna, which she may read'
);
select throws_ok(
  format('update public.profiles set email = %L where id = %L', 'x@test.example', tests.user_id('olga')),
  '42501', 'permission denied for table profiles',
  'olga cannot change her own profile e-mail (it follows the auth user)'
);
select throws_ok(
  format('insert into public.profiles (id, email) values (%L, %L)', gen_random_uuid(), 'new@test.example'),
  '42501', 'permission denied for table profiles',
  'olga cannot insert a profile'
);
select throws_ok(
  format('delete from public.profiles where id = %L', tests.user_id('olga')),
  '42501', 'permission denied for table profiles',
  'olga cannot delete her profile directly'
);

-- meetings ------------------------------------------------------------------

select results_eq(
  'select title from public.meetings order by title',
  array['Anna asks Olga', 'Planning'],
  'olga reads the meetings she organises or attends, and no other'
);
select is_empty(
  format('select 1 from public.meetings where id = %L', tests.meeting_id('sams')),
  'olga cannot read sam''s meeting'
);
select throws_ok(
  format($$insert into public.meetings (organizer_id, title, start_at, end_at, time_zone)
           values (%L, 'Direct', '2030-02-01 10:00+00', '2030-02-01 11:00+00', 'UTC')$$,
         tests.user_id('olga')),
  '42501', 'permission denied for table meetings',
  'olga cannot insert a meeting directly, only through book_meeting'
);
select throws_ok(
  format('update public.meetings set title = %L where id = %L', 'Renamed', tests.meeting_id('planning')),
  '42501', 'permission denied for table meetings',
  'olga cannot update her meeting directly, only through update_meeting'
);
select throws_ok(
  format('delete from public.meetings where id = %L', tests.meeting_id('planning')),
  '42501', 'permission denied for table meetings',
  'olga cannot delete her meeting; cancel_meeting is the soft delete'
);

-- attendees -----------------------------------------------------------------

select results_eq(
  format('select email, role, response_status from public.attendees where meeting_id = %L order by email',
         tests.meeting_id('planning')),
  $$values ('anna@test.example', 'required', 'needs_action'),
           ('guest@external.example', 'required', 'needs_action'),
           ('olga@test.example', 'organizer', 'accepted')$$,
  'olga reads every attendee of her meeting, external guests included'
);
select is_empty(
  format('select 1 from public.attendees where meeting_id = %L', tests.meeting_id('sams')),
  'olga cannot read the attendees of sam''s meeting'
);
select throws_ok(
  format($$insert into public.attendees (meeting_id, email) values (%L, 'extra@external.example')$$,
         tests.meeting_id('planning')),
  '42501', 'permission denied for table attendees',
  'olga cannot add an attendee directly, only through update_meeting'
);
select throws_ok(
  format($$update public.attendees set response_status = 'accepted' where meeting_id = %L$$,
         tests.meeting_id('planning')),
  '42501', 'permission denied for table attendees',
  'olga cannot change attendee rows directly'
);
select throws_ok(
  format('delete from public.attendees where meeting_id = %L', tests.meeting_id('planning')),
  '42501', 'permission denied for table attendees',
  'olga cannot remove attendees directly'
);

-- private tables: never read or written directly, only through the functions

select throws_ok('select * from private.busy_blocks', '42501', 'permission denied for table busy_blocks',
  'olga cannot read private.busy_blocks');
select throws_ok('select * from private.audit_log', '42501', 'permission denied for table audit_log',
  'olga cannot read private.audit_log');
select throws_ok('select * from private.email_outbox', '42501', 'permission denied for table email_outbox',
  'olga cannot read private.email_outbox');
select throws_ok('update private.settings set max_meeting_minutes = 10080', '42501',
  'permission denied for table settings', 'olga cannot change private.settings');
select throws_ok('select * from private.time_zone_names', '42501',
  'permission denied for table time_zone_names', 'olga cannot read private.time_zone_names');
select ok(
  private.is_valid_time_zone('Europe/Berlin') and not private.is_valid_time_zone('Mars/Olympus_Mons'),
  'olga validates time zones against private.time_zone_names through is_valid_time_zone'
);

-- book_meeting: busy rows are written for her, and they guard her time.
select lives_ok(
  $$select tests.remember_meeting('follow-up', public.book_meeting(
      p_title => 'Follow-up', p_start => '2030-01-11 10:00:00+00', p_end => '2030-01-11 11:00:00+00',
      p_time_zone => 'UTC', p_now => tests.pinned_now()))$$,
  'olga books a meeting'
);
select is(
  (select status || ' by ' || organizer_id from public.meetings where id = tests.meeting_id('follow-up')),
  'confirmed by ' || tests.user_id('olga'),
  'her booking is a confirmed meeting she organises'
);
select is(
  tests.error_of($$select public.book_meeting(p_title => 'Overlap', p_start => '2030-01-10 10:30:00+00',
                   p_end => '2030-01-10 11:30:00+00', p_time_zone => 'UTC', p_now => tests.pinned_now())$$)
    -> 'detail' -> 'conflicts',
  jsonb_build_array(jsonb_build_object('meeting_id', tests.meeting_id('planning'),
    'user_id', tests.user_id('olga'), 'start', '2030-01-10T10:00:00+00:00', 'end', '2030-01-10T11:00:00+00:00')),
  'olga cannot book over her own meeting: PT409 names it, her and its range'
);

-- get_meeting ---------------------------------------------------------------

select is(
  (select (m ->> 'title') || ' / ' || jsonb_array_length(m -> 'attendees')
   from public.get_meeting(tests.meeting_id('planning')) m),
  'Planning / 3',
  'olga gets her meeting with its attendees'
);
select throws_ok(
  format('select public.get_meeting(%L)', tests.meeting_id('sams')),
  'PT404', 'meeting not found',
  'olga gets PT404 for sam''s meeting'
);

-- get_meeting_history -------------------------------------------------------

select is(
  (select h -> 0 ->> 'table' || ' ' || (h -> 0 ->> 'action') || ' by ' || (h -> 0 ->> 'actor_id')
   from public.get_meeting_history(tests.meeting_id('planning')) h),
  'meetings insert by ' || tests.user_id('olga'),
  'olga reads the history of her meeting, starting with her booking'
);
select throws_ok(
  format('select public.get_meeting_history(%L)', tests.meeting_id('sams')),
  'PT404', 'meeting not found',
  'olga gets PT404 for the history of sam''s meeting'
);

-- update_meeting ------------------------------------------------------------

select is(
  (select (m ->> 'title') || ' v' || (m ->> 'version')
   from public.update_meeting(tests.meeting_id('follow-up'), 1, p_title => 'Follow-up (moved room)',
                              p_now => tests.pinned_now()) m),
  'Follow-up (moved room) v2',
  'olga updates her meeting with the version she read'
);
select throws_ok(
  format('select public.update_meeting(%L, 1, p_title => %L, p_now => %L)',
         tests.meeting_id('follow-up'), 'Stale', tests.pinned_now()),
  'PT412', 'version mismatch',
  'olga cannot update with a stale version'
);

-- reschedule_meeting --------------------------------------------------------

select is(
  (select m ->> 'start'
   from public.reschedule_meeting(tests.meeting_id('follow-up'), 2, '2030-01-12 10:00:00+00',
                                  '2030-01-12 11:00:00+00', p_now => tests.pinned_now()) m),
  '2030-01-12T10:00:00+00:00',
  'olga reschedules her meeting'
);
select throws_ok(
  format('select public.reschedule_meeting(%L, 1, %L, %L, p_now => %L)', tests.meeting_id('sams'),
         '2030-01-20 10:00+00', '2030-01-20 11:00+00', tests.pinned_now()),
  'PT404', 'meeting not found',
  'olga cannot reschedule sam''s meeting; it does not exist for her'
);

-- cancel_meeting ------------------------------------------------------------

select is(
  public.cancel_meeting(tests.meeting_id('follow-up'), 'No longer needed', p_now => tests.pinned_now())
    ->> 'status',
  'cancelled',
  'olga cancels her meeting'
);
select throws_ok(
  format('select public.cancel_meeting(%L, p_now => %L)', tests.meeting_id('sams'), tests.pinned_now()),
  'PT404', 'meeting not found',
  'olga cannot cancel sam''s meeting; it does not exist for her'
);

-- respond_to_meeting --------------------------------------------------------

select is(
  (select a ->> 'response_status'
   from jsonb_array_elements(public.respond_to_meeting(tests.meeting_id('annas'), 'accepted',
                                                       p_now => tests.pinned_now()) -> 'attendees') a
   where a ->> 'email' = 'olga@test.example'),
  'accepted',
  'olga answers an invitation to anna''s meeting'
);
select throws_ok(
  format('select public.respond_to_meeting(%L, %L, p_now => %L)', tests.meeting_id('planning'), 'declined',
         tests.pinned_now()),
  'PT422', 'the organiser does not respond to their own meeting',
  'olga cannot respond to the meeting she organises'
);

-- Effects checked as the database owner: what her calls wrote where she may not look.
select tests.clear_authentication() \g /dev/null

select results_eq(
  format($$select kind, status from private.email_outbox
           where meeting_id = %L and recipient_email = 'anna@test.example' and kind not like 'reminder%%'
           order by id$$,
         tests.meeting_id('planning')),
  $$values ('confirmation', 'queued')$$,
  'booking queued a confirmation for anna in private.email_outbox'
);
select is(
  (select display_name from public.profiles where id = tests.user_id('anna')),
  'Anna',
  'anna''s profile is unchanged by olga''s attempt'
);

select * from finish();
rollback;
