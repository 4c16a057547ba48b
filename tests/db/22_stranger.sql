-- What a stranger may and may not do. Fixture (sql/test_helpers.sql): olga
-- organises 'planning' with anna and an external guest; sam organises 'sams'
-- alone. Here we act as sam: for him 'planning' does not exist, and nothing
-- he can call tells him otherwise.
begin;
select plan(36);

do $$ begin perform tests.create_actor_fixture(); end $$;

select tests.authenticate_as('sam') \g /dev/null

-- profiles ------------------------------------------------------------------

select results_eq(
  format('select id from public.profiles where id in (%L, %L, %L)',
         tests.user_id('olga'), tests.user_id('anna'), tests.user_id('sam')),
  format('values (%L::uuid)', tests.user_id('sam')),
  'sam reads his own profile only'
);
select is_empty(
  format('select 1 from public.profiles where id in (%L, %L)', tests.user_id('olga'), tests.user_id('anna')),
  'sam cannot read the profiles of olga or anna'
);
select is(
  tests.row_count(format('update public.profiles set buffer_before_minutes = 5 where id = %L',
                         tests.user_id('sam'))),
  1,
  'sam updates his own profile'
);
select is(
  tests.row_count(format('update public.profiles set buffer_before_minutes = 240 where id = %L',
                         tests.user_id('olga'))),
  0,
  'sam cannot update olga''s profile: to him it does not exist'
);

-- meetings ------------------------------------------------------------------

select results_eq(
  'select title from public.meetings',
  array['Sam alone'],
  'sam reads his own meeting only'
);
select is_empty(
  format('select 1 from public.meetings where id = %L', tests.meeting_id('planning')),
  'sam cannot read olga''s meeting'
);
select throws_ok(
  format('update public.meetings set status = %L where id = %L', 'cancelled', tests.meeting_id('planning')),
  '42501', 'permission denied for table meetings',
  'sam cannot write the meetings table'
);
select throws_ok(
  format('delete from public.meetings where id = %L', tests.meeting_id('sams')),
  '42501', 'permission denied for table meetings',
  'sam cannot delete even his own meeting directly'
);

-- attendees -----------------------------------------------------------------

select results_eq(
  format('select email, role from public.attendees where meeting_id = %L', tests.meeting_id('sams')),
  $$values ('sam@test.example', 'organizer')$$,
  'sam reads the attendees of his own meeting'
);
select is_empty(
  format('select 1 from public.attendees where meeting_id = %L', tests.meeting_id('planning')),
  'sam cannot read the attendees of olga''s meeting'
);
select throws_ok(
  format($$insert into public.attendees (meeting_id, user_id, email) values (%L, %L, 'sam@test.example')$$,
         tests.meeting_id('planning'), tests.user_id('sam')),
  '42501', 'permission denied for table attendees',
  'sam cannot invite himself to olga''s meeting by writing the table'
);

-- private tables ------------------------------------------------------------

select throws_ok('select * from private.busy_blocks', '42501', 'permission denied for table busy_blocks',
  'sam cannot read private.busy_blocks');
select throws_ok('select * from private.audit_log', '42501', 'permission denied for table audit_log',
  'sam cannot read private.audit_log');
select throws_ok($$insert into private.email_outbox (meeting_id, recipient_email, kind, meeting_version)
                   values (gen_random_uuid(), 'x@test.example', 'update', 1)$$,
  '42501', 'permission denied for table email_outbox', 'sam cannot queue e-mail');
select throws_ok('delete from private.settings', '42501', 'permission denied for table settings',
  'sam cannot touch private.settings');
select throws_ok('select * from private.time_zone_names', '42501',
  'permission denied for table time_zone_names', 'sam cannot read private.time_zone_names');

-- Every function answers PT404 for olga's meeting, as for one that does not exist.

select throws_ok(
  format('select public.get_meeting(%L)', tests.meeting_id('planning')),
  'PT404', 'meeting not found', 'get_meeting: PT404 for sam');
select throws_ok(
  format('select public.get_meeting_history(%L)', tests.meeting_id('planning')),
  'PT404', 'meeting not found', 'get_meeting_history: PT404 for sam');
select throws_ok(
  format('select public.cancel_meeting(%L, p_now => %L)', tests.meeting_id('planning'), tests.pinned_now()),
  'PT404', 'meeting not found', 'cancel_meeting: PT404 for sam, not PT403');
select throws_ok(
  format('select public.reschedule_meeting(%L, 1, %L, %L, p_now => %L)', tests.meeting_id('planning'),
         '2030-01-11 10:00+00', '2030-01-11 11:00+00', tests.pinned_now()),
  'PT404', 'meeting not found', 'reschedule_meeting: PT404 for sam, not PT403');
select throws_ok(
  format('select public.update_meeting(%L, 1, p_title => %L, p_now => %L)', tests.meeting_id('planning'),
         'Mine now', tests.pinned_now()),
  'PT404', 'meeting not found', 'update_meeting: PT404 for sam, not PT403');
select throws_ok(
  format('select public.respond_to_meeting(%L, %L, p_now => %L)', tests.meeting_id('planning'), 'accepted',
         tests.pinned_now()),
  'PT404', 'meeting not found', 'respond_to_meeting: PT404 for sam');

-- The whole error, not only its code, is that of a meeting that does not exist.
select is(
  (select jsonb_agg((tests.error_of(format(q, tests.meeting_id('planning'))) #- '{detail,meeting_id}')
                    order by q)
   from unnest(array['select public.get_meeting(%L)', 'select public.get_meeting_history(%L)',
                     'select public.cancel_meeting(%L)', 'select public.update_meeting(%L, 1)',
                     'select public.respond_to_meeting(%L, ''declined'')']) q),
  (select jsonb_agg((tests.error_of(format(q, gen_random_uuid())) #- '{detail,meeting_id}') order by q)
   from unnest(array['select public.get_meeting(%L)', 'select public.get_meeting_history(%L)',
                     'select public.cancel_meeting(%L)', 'select public.update_meeting(%L, 1)',
                     'select public.respond_to_meeting(%L, ''declined'')']) q),
  'each function''s error for olga''s meeting equals its error for an unknown id'
);
select is(
  (select count(*)::integer from public.meetings where id = tests.meeting_id('planning')),
  0,
  'and nothing sam tried made the meeting visible to him'
);

-- A conflict names the busy person and range, never a meeting sam may not see.

select is(
  tests.error_of($$select public.book_meeting(p_title => 'Poach anna', p_start => '2030-01-10 10:30:00+00',
                   p_end => '2030-01-10 11:30:00+00', p_time_zone => 'UTC',
                   p_attendees => '[{"email": "anna@test.example"}]', p_now => tests.pinned_now())$$)
    - 'message',
  jsonb_build_object('sqlstate', 'PT409', 'detail', jsonb_build_object('code', 'meeting_conflict',
    'conflicts', jsonb_build_array(jsonb_build_object('meeting_id', null, 'user_id', tests.user_id('anna'),
      'start', '2030-01-10T10:00:00+00:00', 'end', '2030-01-10T11:00:00+00:00')))),
  'sam inviting a busy anna gets PT409 with her busy range and no meeting id'
);
select unalike(
  tests.error_of($$select public.book_meeting(p_title => 'Poach anna', p_start => '2030-01-10 10:30:00+00',
                   p_end => '2030-01-10 11:30:00+00', p_time_zone => 'UTC',
                   p_attendees => '[{"email": "anna@test.example"}]', p_now => tests.pinned_now())$$)::text,
  '%' || tests.meeting_id('planning') || '%',
  'the meeting id appears nowhere in the error, message included'
);
select is(
  tests.error_of(format($$select public.update_meeting(%L, 1,
                   p_attendees => '[{"email": "olga@test.example"}, {"email": "anna@test.example"}]',
                   p_start => '2030-01-10 10:45:00+00', p_end => '2030-01-10 11:15:00+00', p_now => %L)$$,
                 tests.meeting_id('sams'), tests.pinned_now()))
    -> 'detail' -> 'conflicts',
  jsonb_build_array(
    jsonb_build_object('meeting_id', null, 'user_id', least(tests.user_id('olga'), tests.user_id('anna')),
      'start', '2030-01-10T10:00:00+00:00', 'end', '2030-01-10T11:00:00+00:00'),
    jsonb_build_object('meeting_id', null, 'user_id', greatest(tests.user_id('olga'), tests.user_id('anna')),
      'start', '2030-01-10T10:00:00+00:00', 'end', '2030-01-10T11:00:00+00:00')),
  'moving his meeting onto olga and anna lists both conflicts, neither with a meeting id'
);

-- What sam may do: his own meetings.

select is(
  public.get_meeting(tests.meeting_id('sams')) ->> 'title',
  'Sam alone',
  'sam gets his own meeting'
);
select is(
  public.get_meeting_history(tests.meeting_id('sams')) -> 0 ->> 'action',
  'insert',
  'sam reads the history of his own meeting'
);
select lives_ok(
  $$select tests.remember_meeting('sams-2', public.book_meeting(p_title => 'Sam with anna',
      p_start => '2030-01-10 11:00:00+00', p_end => '2030-01-10 11:30:00+00', p_time_zone => 'UTC',
      p_attendees => '[{"email": "anna@test.example"}]', p_now => tests.pinned_now()))$$,
  'sam books anna right after her meeting with olga'
);
select is(
  public.update_meeting(tests.meeting_id('sams'), 1, p_title => 'Sam, still alone', p_now => tests.pinned_now())
    ->> 'title',
  'Sam, still alone',
  'sam updates his own meeting'
);
select is(
  public.reschedule_meeting(tests.meeting_id('sams'), 2, '2030-01-10 15:00:00+00', '2030-01-10 16:00:00+00',
                            p_now => tests.pinned_now()) ->> 'end',
  '2030-01-10T16:00:00+00:00',
  'sam reschedules his own meeting'
);
select is(
  public.cancel_meeting(tests.meeting_id('sams'), p_now => tests.pinned_now()) ->> 'status',
  'cancelled',
  'sam cancels his own meeting'
);

-- respond_to_meeting: anna answers sam's invitation; sam, its organiser, may not.
select tests.authenticate_as('anna') \g /dev/null
select is(
  public.respond_to_meeting(tests.meeting_id('sams-2'), 'accepted', p_now => tests.pinned_now())
    #>> '{attendees,1,response_status}',
  'accepted',
  'an attendee of sam''s meeting answers it'
);
select tests.authenticate_as('sam') \g /dev/null
select throws_ok(
  format('select public.respond_to_meeting(%L, %L, p_now => %L)', tests.meeting_id('sams-2'), 'declined',
         tests.pinned_now()),
  'PT422', 'the organiser does not respond to their own meeting',
  'sam may not answer his own meeting'
);

select tests.clear_authentication() \g /dev/null
select results_eq(
  format('select title, status, version from public.meetings where id = %L', tests.meeting_id('planning')),
  $$values ('Planning', 'confirmed', 1)$$,
  'olga''s meeting is exactly as it was'
);

select * from finish();
rollback;
