-- The audit trail: every insert, update and delete of meetings and attendees
-- (and profiles) leaves a row naming the actor (auth.uid() and role, or the
-- database role of a direct session), the action, and the old and new
-- values; an update keeps only the columns that changed. Participants read
-- it through get_meeting_history.
begin;
select plan(24);

do $$
begin
  perform tests.create_user('olga');
  perform tests.create_user('anna');
  perform tests.create_user('sam');
end
$$;

-- The audit rows of a named meeting (and its attendees), as the owner sees them.
create function pg_temp.audit(p_meeting text)
returns table (id bigint, actor text, actor_role text, table_name text, record_id uuid, action text,
               old_values jsonb, new_values jsonb)
language sql security definer as $$
  select l.id, coalesce(u.name, 'nobody'), l.actor_role, l.table_name, l.record_id, l.action,
         l.old_values, l.new_values
  from private.audit_log l left join tests.users u on u.id = l.actor_id
  where l.meeting_id = tests.meeting_id(p_meeting)
  order by l.id;
$$;
-- How many audit rows the log holds for a meeting so far.
create function pg_temp.audit_count(p_meeting text) returns integer
language sql security definer as $$
  select count(*)::integer from private.audit_log where meeting_id = tests.meeting_id(p_meeting);
$$;
-- The audit rows of a named meeting in the shape get_meeting_history answers.
create function pg_temp.raw_history(p_meeting text) returns jsonb
language sql security definer as $$
  select jsonb_agg(jsonb_build_object('at', l.occurred_at, 'actor_id', l.actor_id, 'actor_role', l.actor_role,
                                      'table', l.table_name, 'record_id', l.record_id, 'action', l.action,
                                      'old', l.old_values, 'new', l.new_values) order by l.id)
  from private.audit_log l where l.meeting_id = tests.meeting_id(p_meeting);
$$;
grant execute on all functions in schema pg_temp to authenticated;

-- Inserts -------------------------------------------------------------------------

select tests.authenticate_as('olga') \g /dev/null
select tests.remember_meeting('audited', public.book_meeting(
  p_title => 'Audited', p_start => '2030-01-10 10:00+00', p_end => '2030-01-10 11:00+00', p_time_zone => 'UTC',
  p_attendees => '[{"email": "anna@test.example"}, {"email": "guest@external.example"}]',
  p_now => tests.pinned_now())) \g /dev/null

select results_eq(
  $$select actor, actor_role, table_name, action, old_values is null from pg_temp.audit('audited')$$,
  $$values ('olga', 'authenticated', 'meetings', 'insert', true),
           ('olga', 'authenticated', 'attendees', 'insert', true),
           ('olga', 'authenticated', 'attendees', 'insert', true),
           ('olga', 'authenticated', 'attendees', 'insert', true)$$,
  'booking writes one insert row for the meeting and one per attendee, by olga, in the same transaction'
);
select is(
  (select new_values from pg_temp.audit('audited') where table_name = 'meetings'),
  (select to_jsonb(m) from public.meetings m where m.id = tests.meeting_id('audited')),
  'an insert keeps the whole new row'
);
select is(
  (select new_values ->> 'email' from pg_temp.audit('audited') a
   where a.table_name = 'attendees' and a.record_id = (
     select id from public.attendees where meeting_id = tests.meeting_id('audited')
       and email = 'guest@external.example')),
  'guest@external.example',
  'the attendee rows are recorded under their own ids, with the meeting they belong to'
);

-- Updates keep only what changed --------------------------------------------------

select public.update_meeting(tests.meeting_id('audited'), 1, p_title => 'Audited, renamed',
                             p_now => tests.pinned_now()) \g /dev/null
select results_eq(
  $$select actor, table_name, action, old_values, new_values from pg_temp.audit('audited') offset 4$$,
  $$values ('olga', 'meetings', 'update', '{"title": "Audited", "version": 1}'::jsonb,
            '{"title": "Audited, renamed", "version": 2}'::jsonb)$$,
  'a rename records only the title and version, old and new (updated_at is not a change)'
);

select public.reschedule_meeting(tests.meeting_id('audited'), 2, '2030-01-11 10:00+00', '2030-01-11 11:00+00',
                                 p_now => tests.pinned_now()) \g /dev/null
select is(
  (select old_values || jsonb_build_object('->', new_values) from pg_temp.audit('audited') offset 5),
  '{"start_at": "2030-01-10T10:00:00+00:00", "end_at": "2030-01-10T11:00:00+00:00", "version": 2,
    "->": {"start_at": "2030-01-11T10:00:00+00:00", "end_at": "2030-01-11T11:00:00+00:00", "version": 3}}'::jsonb,
  'a reschedule records the old and the new times'
);

select tests.authenticate_as('anna') \g /dev/null
select public.respond_to_meeting(tests.meeting_id('audited'), 'accepted', p_now => tests.pinned_now()) \g /dev/null
select results_eq(
  $$select actor, actor_role, table_name, action, old_values,
           array(select jsonb_object_keys(new_values) order by 1), new_values ->> 'response_status'
    from pg_temp.audit('audited') offset 6$$,
  $$values ('anna', 'authenticated', 'attendees', 'update',
            '{"response_status": "needs_action", "responded_at": null}'::jsonb,
            array['responded_at', 'response_status'], 'accepted')$$,
  'anna''s answer is recorded as hers: her attendee row, old and new answer'
);

-- Deletes keep the whole old row --------------------------------------------------

select tests.authenticate_as('olga') \g /dev/null
select public.update_meeting(tests.meeting_id('audited'), 3, p_attendees => '[{"email": "anna@test.example"}]',
                             p_now => tests.pinned_now()) \g /dev/null
select results_eq(
  $$select actor, table_name, action, old_values ->> 'email', old_values ->> 'role', new_values
    from pg_temp.audit('audited') where action = 'delete'$$,
  $$values ('olga', 'attendees', 'delete', 'guest@external.example', 'required', null::jsonb)$$,
  'removing the guest records a delete with the whole old row'
);
select is(
  (select array_agg(table_name || ' ' || action order by id) from pg_temp.audit('audited') offset 0),
  array['meetings insert', 'attendees insert', 'attendees insert', 'attendees insert',
        'meetings update', 'meetings update', 'attendees update', 'attendees delete', 'meetings update'],
  'the attendee removal and the version it makes are both recorded, in order'
);

select public.cancel_meeting(tests.meeting_id('audited'), 'Done', p_now => tests.pinned_now()) \g /dev/null
select is(
  (select array(select jsonb_object_keys(new_values) order by 1) from pg_temp.audit('audited')
   order by id desc limit 1),
  array['cancel_reason', 'cancelled_at', 'cancelled_by', 'status', 'version'],
  'a cancellation records status, when, who, why and the new version'
);
select is(
  (select new_values ->> 'cancelled_by' from pg_temp.audit('audited') order by id desc limit 1),
  tests.user_id('olga')::text,
  '... with olga as the one who cancelled'
);

-- No change, no row; a direct session is named by its database role -----------

select tests.clear_authentication() \g /dev/null
select pg_temp.audit_count('audited') as audit_rows_before \gset
select is(
  tests.row_count(format('update public.meetings set title = title where id = %L', tests.meeting_id('audited'))),
  1,
  'an operator updates the meeting without changing it'
);
select is(
  pg_temp.audit_count('audited'),
  :audit_rows_before,
  'an update that changes nothing writes no audit row'
);
select lives_ok(
  format($$update public.meetings set location = 'Room 7' where id = %L$$, tests.meeting_id('audited')),
  'an operator fixes the location in a direct database session'
);
select results_eq(
  $$select actor, actor_role, old_values, new_values from pg_temp.audit('audited') order by id desc limit 1$$,
  format($$values ('nobody', %L, '{"location": ""}'::jsonb, '{"location": "Room 7"}'::jsonb)$$, session_user),
  'a direct session is recorded with no user and the database role it logged in as'
);
select lives_ok(
  format($$delete from public.attendees where meeting_id = %L and email = 'anna@test.example'$$,
         tests.meeting_id('audited')),
  'the operator deletes an attendee row by hand'
);
select is(
  (select action || ' ' || (old_values ->> 'email') from pg_temp.audit('audited') order by id desc limit 1),
  'delete anna@test.example',
  '... and even that is recorded'
);

-- Profiles are audited too ---------------------------------------------------------

select tests.authenticate_as('sam') \g /dev/null
update public.profiles set display_name = 'Samuel' where id = tests.user_id('sam');
select tests.clear_authentication() \g /dev/null
select results_eq(
  format($$select action, actor_id, old_values, new_values from private.audit_log
           where table_name = 'profiles' and record_id = %L order by id$$, tests.user_id('sam')),
  format($$values ('insert', null::uuid, null::jsonb, (select new_values from private.audit_log
                     where table_name = 'profiles' and record_id = %1$L and action = 'insert')),
                  ('update', %1$L::uuid, '{"display_name": "Sam"}'::jsonb, '{"display_name": "Samuel"}'::jsonb)$$,
         tests.user_id('sam')),
  'a profile''s creation and each change of it are recorded'
);

-- get_meeting_history --------------------------------------------------------------

select tests.authenticate_as('olga') \g /dev/null
select tests.remember_meeting('watched', public.book_meeting(
  p_title => 'Watched', p_start => '2030-01-12 10:00+00', p_end => '2030-01-12 11:00+00', p_time_zone => 'UTC',
  p_attendees => '[{"email": "anna@test.example"}]', p_now => tests.pinned_now())) \g /dev/null
select public.update_meeting(tests.meeting_id('watched'), 1, p_description => 'Agenda: everything',
                             p_now => tests.pinned_now()) \g /dev/null
select tests.authenticate_as('anna') \g /dev/null
select public.respond_to_meeting(tests.meeting_id('watched'), 'tentative', p_now => tests.pinned_now())
  \g /dev/null

select is(
  public.get_meeting_history(tests.meeting_id('watched')),
  pg_temp.raw_history('watched'),
  'get_meeting_history gives anna, an attendee, every audit row of the meeting, in order'
);
select is(
  (select jsonb_agg(h ->> 'action' order by o) from jsonb_array_elements(
     public.get_meeting_history(tests.meeting_id('watched'))) with ordinality as t(h, o)),
  '["insert", "insert", "insert", "update", "update"]'::jsonb,
  'the history reads booking, the two attendees, the description change and anna''s answer'
);
select tests.authenticate_as('olga') \g /dev/null
select is(
  jsonb_array_length(public.get_meeting_history(tests.meeting_id('watched'))),
  5,
  'olga, the organiser, reads the same history'
);
select tests.authenticate_as('sam') \g /dev/null
select throws_ok(
  format('select public.get_meeting_history(%L)', tests.meeting_id('watched')),
  'PT404', 'meeting not found',
  'sam, a stranger, cannot read it'
);
select throws_ok(
  format('select public.get_meeting_history(%L)', gen_random_uuid()),
  'PT404', 'meeting not found',
  'nor the history of a meeting that does not exist'
);
-- Signed in as a role but with no user in the token.
select set_config('request.jwt.claims', '{"role": "authenticated"}', true) \g /dev/null
select throws_ok(
  format('select public.get_meeting_history(%L)', tests.meeting_id('watched')),
  'PT401', 'sign in required',
  'without a user, get_meeting_history is PT401'
);
select tests.authenticate_as('olga') \g /dev/null
select is(
  (select count(*)::integer from jsonb_array_elements(public.get_meeting_history(tests.meeting_id('watched'))) h
   where h ->> 'actor_id' = tests.user_id('anna')::text),
  1,
  'the history names anna as the actor of her answer'
);

select * from finish();
rollback;
