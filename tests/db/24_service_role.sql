-- What service_role (the trusted server key) may and may not do. It bypasses
-- RLS and reads everything, including the private tables, and an operator may
-- change the project's limits in private.settings. It writes nothing else:
-- meetings change only through the booking functions, which act for a
-- signed-in user (auth.uid()) and so are granted to authenticated alone, and
-- history and busy time are never edited by hand. Fixture
-- (sql/test_helpers.sql): olga's 'planning' with anna and an external guest,
-- sam's 'sams'.
begin;
select plan(35);

do $$ begin perform tests.create_actor_fixture(); end $$;

select tests.authenticate_as_service_role() \g /dev/null

-- public tables: every row, no write ------------------------------------------

select results_eq(
  format('select display_name from public.profiles where id in (%L, %L, %L) order by 1',
         tests.user_id('olga'), tests.user_id('anna'), tests.user_id('sam')),
  array['Anna', 'Olga', 'Sam'],
  'service_role reads every profile, whoever met whom'
);
select throws_ok(
  format($$update public.profiles set display_name = 'Ops' where id = %L$$, tests.user_id('olga')),
  '42501', 'permission denied for table profiles', 'service_role cannot update a profile');
select throws_ok(
  format('delete from public.profiles where id = %L', tests.user_id('olga')),
  '42501', 'permission denied for table profiles', 'service_role cannot delete a profile');

select results_eq(
  format('select title from public.meetings where id in (%L, %L) order by 1',
         tests.meeting_id('planning'), tests.meeting_id('sams')),
  array['Planning', 'Sam alone'],
  'service_role reads every meeting'
);
select throws_ok(
  format($$insert into public.meetings (organizer_id, title, start_at, end_at, time_zone)
           values (%L, 'Ops', '2030-02-01 10:00+00', '2030-02-01 11:00+00', 'UTC')$$, tests.user_id('olga')),
  '42501', 'permission denied for table meetings', 'service_role cannot insert a meeting');
select throws_ok(
  format($$update public.meetings set status = 'cancelled' where id = %L$$, tests.meeting_id('planning')),
  '42501', 'permission denied for table meetings', 'service_role cannot update a meeting');
select throws_ok(
  format('delete from public.meetings where id = %L', tests.meeting_id('planning')),
  '42501', 'permission denied for table meetings', 'service_role cannot delete a meeting');

select is(
  (select count(*)::integer from public.attendees
   where meeting_id in (tests.meeting_id('planning'), tests.meeting_id('sams'))),
  4,
  'service_role reads every attendee row'
);
select throws_ok(
  format($$insert into public.attendees (meeting_id, email) values (%L, 'ops@test.example')$$,
         tests.meeting_id('planning')),
  '42501', 'permission denied for table attendees', 'service_role cannot add an attendee');
select throws_ok(
  format($$update public.attendees set response_status = 'declined' where meeting_id = %L$$,
         tests.meeting_id('planning')),
  '42501', 'permission denied for table attendees', 'service_role cannot change an answer');
select throws_ok(
  format('delete from public.attendees where meeting_id = %L', tests.meeting_id('planning')),
  '42501', 'permission denied for table attendees', 'service_role cannot remove an attendee');

-- private tables ------------------------------------------------------------

select results_eq(
  format('select user_id, range from private.busy_blocks where meeting_id = %L and active order by user_id',
         tests.meeting_id('planning')),
  format($$select id, tstzrange('2030-01-10 10:00+00', '2030-01-10 11:00+00') from (values (%L::uuid), (%L::uuid)) u(id)
           order by id$$, tests.user_id('olga'), tests.user_id('anna')),
  'service_role reads busy time: one row per internal participant, none for the external guest'
);
select throws_ok(
  format('update private.busy_blocks set active = false where meeting_id = %L', tests.meeting_id('planning')),
  '42501', 'permission denied for table busy_blocks', 'service_role cannot release busy time by hand');
select throws_ok(
  format('delete from private.busy_blocks where meeting_id = %L', tests.meeting_id('planning')),
  '42501', 'permission denied for table busy_blocks', 'service_role cannot delete busy time');

select results_eq(
  format('select table_name, action from private.audit_log where meeting_id = %L order by id',
         tests.meeting_id('planning')),
  $$values ('meetings', 'insert'), ('attendees', 'insert'), ('attendees', 'insert'), ('attendees', 'insert')$$,
  'service_role reads the audit log'
);
select throws_ok(
  format('delete from private.audit_log where meeting_id = %L', tests.meeting_id('planning')),
  '42501', 'permission denied for table audit_log', 'service_role cannot erase history');
select throws_ok(
  format($$update private.audit_log set actor_id = null where meeting_id = %L$$, tests.meeting_id('planning')),
  '42501', 'permission denied for table audit_log', 'service_role cannot rewrite history');

select results_eq(
  format($$select recipient_email, kind from private.email_outbox where meeting_id = %L
           and kind not like 'reminder%%' order by recipient_email$$,
         tests.meeting_id('planning')),
  $$values ('anna@test.example', 'confirmation'), ('guest@external.example', 'confirmation'),
           ('olga@test.example', 'confirmation')$$,
  'service_role reads the e-mail outbox'
);
select throws_ok(
  format($$update private.email_outbox set status = 'sent' where meeting_id = %L$$, tests.meeting_id('planning')),
  '42501', 'permission denied for table email_outbox', 'service_role cannot mark notices sent');
select throws_ok(
  format($$insert into private.email_outbox (meeting_id, recipient_email, kind, meeting_version)
           values (%L, 'ops@test.example', 'update', 1)$$, tests.meeting_id('planning')),
  '42501', 'permission denied for table email_outbox', 'service_role cannot queue e-mail by hand');

select is(
  tests.row_count('update private.settings set max_meeting_minutes = 120'),
  1,
  'service_role changes the project''s limits'
);
select is(
  (select max_meeting_minutes from private.settings),
  120,
  'and reads them back'
);
select throws_ok('delete from private.settings', '42501', 'permission denied for table settings',
  'service_role cannot delete the settings row');
select throws_ok('insert into private.settings default values', '42501', 'permission denied for table settings',
  'service_role cannot add a second settings row');

select throws_ok('select * from private.time_zone_names', '42501', 'permission denied for table time_zone_names',
  'service_role cannot read private.time_zone_names directly');
select ok(private.is_valid_time_zone('America/New_York') and not private.is_valid_time_zone('America/Gotham'),
  'service_role validates zones through is_valid_time_zone');

-- public functions: they act for a signed-in user; service_role is none -------

select throws_ok(
  $$select public.book_meeting(p_title => 'Ops', p_start => '2030-01-10 10:00+00',
      p_end => '2030-01-10 11:00+00', p_time_zone => 'UTC', p_now => '2030-01-01 00:00+00')$$,
  '42501', 'permission denied for function book_meeting', 'service_role cannot book');
select throws_ok(
  format('select public.update_meeting(%L, 1, p_title => %L)', tests.meeting_id('planning'), 'Ops'),
  '42501', 'permission denied for function update_meeting', 'service_role cannot update a meeting');
select throws_ok(
  format('select public.reschedule_meeting(%L, 1, %L, %L)', tests.meeting_id('planning'),
         '2030-01-11 10:00+00', '2030-01-11 11:00+00'),
  '42501', 'permission denied for function reschedule_meeting', 'service_role cannot reschedule');
select throws_ok(
  format('select public.cancel_meeting(%L)', tests.meeting_id('planning')),
  '42501', 'permission denied for function cancel_meeting', 'service_role cannot cancel');
select throws_ok(
  format('select public.respond_to_meeting(%L, %L)', tests.meeting_id('planning'), 'declined'),
  '42501', 'permission denied for function respond_to_meeting', 'service_role cannot respond');
select throws_ok(
  format('select public.get_meeting(%L)', tests.meeting_id('planning')),
  '42501', 'permission denied for function get_meeting',
  'service_role cannot call get_meeting (it reads the tables instead)');
select throws_ok(
  format('select public.get_meeting_history(%L)', tests.meeting_id('planning')),
  '42501', 'permission denied for function get_meeting_history',
  'service_role cannot call get_meeting_history (it reads private.audit_log instead)');

-- The settings it changed govern the next booking, made by a user.
select tests.authenticate_as('olga') \g /dev/null
select is(
  tests.error_of($$select public.book_meeting(p_title => 'Long', p_start => '2030-01-11 09:00+00',
                   p_end => '2030-01-11 12:00+00', p_time_zone => 'UTC', p_now => tests.pinned_now())$$)
    #> '{detail,errors}',
  '[{"field": "end", "message": "a meeting may last at most 120 minutes"}]'::jsonb,
  'the limit service_role set applies to olga''s next booking'
);

select tests.clear_authentication() \g /dev/null
select results_eq(
  format($$select (select count(*)::integer from public.attendees where meeting_id = m.id),
                  (select count(*)::integer from private.busy_blocks where meeting_id = m.id and active),
                  m.status, m.version
           from public.meetings m where m.id = %L$$, tests.meeting_id('planning')),
  $$values (3, 2, 'confirmed', 1)$$,
  'olga''s meeting, its attendees and busy time are untouched'
);

select * from finish();
rollback;
