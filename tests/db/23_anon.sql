-- What anon (a request with the anon key and no user) may do: nothing. It
-- holds no privilege on any of our tables or functions (tests/db/10 lists
-- the grants as data); here we check that every door is really shut, with
-- PostgREST's 42501 (answered as 401/403) rather than an empty answer or an
-- error that depends on what exists. Fixture (sql/test_helpers.sql): olga's
-- 'planning' with anna, sam's 'sams'.
begin;
select plan(35);

do $$ begin perform tests.create_actor_fixture(); end $$;

select tests.authenticate_as_anon() \g /dev/null

select is(current_user::text, 'anon', 'the suite runs as anon');

-- public tables: no read, no write --------------------------------------------

select throws_ok('select * from public.profiles', '42501', 'permission denied for table profiles',
  'anon cannot read profiles');
select throws_ok($$insert into public.profiles (id, email) values (gen_random_uuid(), 'anon@test.example')$$,
  '42501', 'permission denied for table profiles', 'anon cannot insert a profile');
select throws_ok($$update public.profiles set display_name = 'anon'$$,
  '42501', 'permission denied for table profiles', 'anon cannot update profiles');
select throws_ok('delete from public.profiles',
  '42501', 'permission denied for table profiles', 'anon cannot delete profiles');

select throws_ok('select * from public.meetings', '42501', 'permission denied for table meetings',
  'anon cannot read meetings');
select throws_ok($$insert into public.meetings (organizer_id, title, start_at, end_at, time_zone)
                   values (gen_random_uuid(), 'x', '2030-02-01 10:00+00', '2030-02-01 11:00+00', 'UTC')$$,
  '42501', 'permission denied for table meetings', 'anon cannot insert a meeting');
select throws_ok($$update public.meetings set title = 'anon'$$,
  '42501', 'permission denied for table meetings', 'anon cannot update meetings');
select throws_ok('delete from public.meetings',
  '42501', 'permission denied for table meetings', 'anon cannot delete meetings');

select throws_ok('select * from public.attendees', '42501', 'permission denied for table attendees',
  'anon cannot read attendees');
select throws_ok(
  format($$insert into public.attendees (meeting_id, email) values (%L, 'anon@test.example')$$,
         tests.meeting_id('planning')),
  '42501', 'permission denied for table attendees', 'anon cannot add an attendee');
select throws_ok($$update public.attendees set response_status = 'declined'$$,
  '42501', 'permission denied for table attendees', 'anon cannot update attendees');
select throws_ok('delete from public.attendees',
  '42501', 'permission denied for table attendees', 'anon cannot delete attendees');

-- private tables: the schema itself is closed to anon --------------------------

select throws_ok('select * from private.busy_blocks', '42501', 'permission denied for schema private',
  'anon cannot read private.busy_blocks');
select throws_ok('delete from private.busy_blocks', '42501', 'permission denied for schema private',
  'anon cannot release busy time');
select throws_ok('select * from private.audit_log', '42501', 'permission denied for schema private',
  'anon cannot read private.audit_log');
select throws_ok('delete from private.audit_log', '42501', 'permission denied for schema private',
  'anon cannot erase history');
select throws_ok('select * from private.email_outbox', '42501', 'permission denied for schema private',
  'anon cannot read private.email_outbox');
select throws_ok($$update private.email_outbox set status = 'sent'$$, '42501',
  'permission denied for schema private', 'anon cannot change the outbox');
select throws_ok('select * from private.settings', '42501', 'permission denied for schema private',
  'anon cannot read private.settings');
select throws_ok('update private.settings set max_meeting_minutes = 10080', '42501',
  'permission denied for schema private', 'anon cannot change private.settings');
select throws_ok('select * from private.time_zone_names', '42501', 'permission denied for schema private',
  'anon cannot read private.time_zone_names');
select throws_ok($$insert into private.time_zone_names values ('Mars/Olympus_Mons')$$, '42501',
  'permission denied for schema private', 'anon cannot add a time zone');

-- public functions: none may be called -----------------------------------------

select throws_ok(
  $$select public.book_meeting(p_title => 'anon', p_start => '2030-01-10 10:00+00',
      p_end => '2030-01-10 11:00+00', p_time_zone => 'UTC', p_now => '2030-01-01 00:00+00')$$,
  '42501', 'permission denied for function book_meeting', 'anon cannot book');
select throws_ok(
  format('select public.update_meeting(%L, 1, p_title => %L)', tests.meeting_id('planning'), 'anon'),
  '42501', 'permission denied for function update_meeting', 'anon cannot update a meeting');
select throws_ok(
  format('select public.reschedule_meeting(%L, 1, %L, %L)', tests.meeting_id('planning'),
         '2030-01-11 10:00+00', '2030-01-11 11:00+00'),
  '42501', 'permission denied for function reschedule_meeting', 'anon cannot reschedule');
select throws_ok(
  format('select public.cancel_meeting(%L)', tests.meeting_id('planning')),
  '42501', 'permission denied for function cancel_meeting', 'anon cannot cancel');
select throws_ok(
  format('select public.respond_to_meeting(%L, %L)', tests.meeting_id('planning'), 'declined'),
  '42501', 'permission denied for function respond_to_meeting', 'anon cannot respond');
select throws_ok(
  format('select public.get_meeting(%L)', tests.meeting_id('planning')),
  '42501', 'permission denied for function get_meeting', 'anon cannot get a meeting');
select throws_ok(
  format('select public.get_meeting_history(%L)', tests.meeting_id('planning')),
  '42501', 'permission denied for function get_meeting_history', 'anon cannot read a history');
-- The answer does not depend on whether the meeting exists.
select is(
  tests.error_of(format('select public.get_meeting(%L)', tests.meeting_id('planning'))),
  tests.error_of(format('select public.get_meeting(%L)', gen_random_uuid())),
  'anon gets the same refusal for an existing and an unknown meeting'
);

-- private helpers the policies use: closed to anon too -------------------------

select throws_ok(
  format('select private.can_see_meeting(%L)', tests.meeting_id('planning')),
  '42501', 'permission denied for schema private', 'anon cannot probe visibility');
select throws_ok(
  format('select private.meeting_json(%L)', tests.meeting_id('planning')),
  '42501', 'permission denied for schema private', 'anon cannot render a meeting');
select throws_ok($$select private.is_valid_time_zone('UTC')$$,
  '42501', 'permission denied for schema private', 'anon cannot call is_valid_time_zone');

-- Nothing anon tried changed anything.
select tests.clear_authentication() \g /dev/null
select results_eq(
  format('select title, status, version, (select count(*)::integer from public.attendees a where a.meeting_id = m.id)
          from public.meetings m where m.id = %L', tests.meeting_id('planning')),
  $$values ('Planning', 'confirmed', 1, 3)$$,
  'olga''s meeting and its attendees are untouched'
);

select * from finish();
rollback;
