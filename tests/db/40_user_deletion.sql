-- Deleting a user (auth.admin.deleteUser: the auth.users row is deleted, or
-- soft-deleted by setting deleted_at). Their future meetings are cancelled
-- with a notice to everyone else, their place in others' future meetings is
-- given up, and the past stays, with their name and e-mail gone from it.
-- Past meetings are booked with p_now pinned in 2020, which a direct session
-- may do; the deletion itself runs on the real clock, so 2020 is the past and
-- 2030 the future whenever the suite runs.
begin;
select plan(29);

do $$
begin
  perform tests.create_user('olga');
  perform tests.create_user('anna');
  perform tests.create_user('bob');
  perform tests.create_user('sam');
  perform tests.create_user('dora');

  perform tests.authenticate_as('olga');
  perform tests.remember_meeting('olga-past', public.book_meeting(p_title => 'Olga''s old one',
    p_start => '2020-06-01 10:00+00', p_end => '2020-06-01 11:00+00', p_time_zone => 'UTC',
    p_attendees => '[{"email": "anna@test.example"}]', p_now => '2020-01-01 00:00+00'));
  perform tests.remember_meeting('olga-future', public.book_meeting(p_title => 'Olga''s next one',
    p_start => '2030-01-10 10:00+00', p_end => '2030-01-10 11:00+00', p_time_zone => 'UTC',
    p_attendees => '[{"email": "anna@test.example"}, {"email": "guest@external.example"}]',
    p_now => tests.pinned_now()));
  perform public.update_meeting(tests.meeting_id('olga-future'), 1, p_title => 'Olga''s next one, renamed',
    p_now => tests.pinned_now());

  perform tests.authenticate_as('bob');
  perform tests.remember_meeting('bob-past', public.book_meeting(p_title => 'Bob''s old one',
    p_start => '2020-06-02 10:00+00', p_end => '2020-06-02 11:00+00', p_time_zone => 'UTC',
    p_attendees => '[{"email": "olga@test.example"}]', p_now => '2020-01-01 00:00+00'));
  perform tests.remember_meeting('bob-future', public.book_meeting(p_title => 'Bob''s next one',
    p_start => '2030-01-11 10:00+00', p_end => '2030-01-11 11:00+00', p_time_zone => 'UTC',
    p_attendees => '[{"email": "olga@test.example"}, {"email": "anna@test.example"}]',
    p_now => tests.pinned_now()));

  perform tests.authenticate_as('olga');
  perform public.respond_to_meeting(tests.meeting_id('bob-future'), 'accepted', p_now => tests.pinned_now());

  perform tests.authenticate_as('sam');
  perform tests.remember_meeting('sams', public.book_meeting(p_title => 'Sam and Anna',
    p_start => '2030-01-12 10:00+00', p_end => '2030-01-12 11:00+00', p_time_zone => 'UTC',
    p_attendees => '[{"email": "anna@test.example"}]', p_now => tests.pinned_now()));

  perform tests.authenticate_as('dora');
  perform tests.remember_meeting('dora-future', public.book_meeting(p_title => 'Dora''s next one',
    p_start => '2030-01-13 10:00+00', p_end => '2030-01-13 11:00+00', p_time_zone => 'UTC',
    p_attendees => '[{"email": "bob@test.example"}]', p_now => tests.pinned_now()));
  perform tests.authenticate_as('bob');
  perform tests.remember_meeting('bob-with-dora', public.book_meeting(p_title => 'Bob asks Dora',
    p_start => '2030-01-14 10:00+00', p_end => '2030-01-14 11:00+00', p_time_zone => 'UTC',
    p_attendees => '[{"email": "dora@test.example"}]', p_now => tests.pinned_now()));
  perform tests.clear_authentication();
end
$$;

-- What must survive untouched, snapshotted before the deletion.
create temporary table untouched as
  select 'meeting' as what, to_jsonb(m) - 'updated_at' as row from public.meetings m
  where m.id = tests.meeting_id('sams')
  union all
  select 'attendee', to_jsonb(a) from public.attendees a where a.meeting_id = tests.meeting_id('sams')
  union all
  select 'busy', to_jsonb(b) from private.busy_blocks b where b.meeting_id = tests.meeting_id('sams')
  union all
  select 'outbox', to_jsonb(o) from private.email_outbox o where o.meeting_id = tests.meeting_id('sams')
  union all
  select 'profile', to_jsonb(p) from public.profiles p where p.id = tests.user_id('anna');
select count(*) as audit_rows_before from private.audit_log
where meeting_id in (tests.meeting_id('olga-past'), tests.meeting_id('bob-past')) \gset

-- Hard delete, as the auth service does it -------------------------------------------

select lives_ok(
  format('delete from auth.users where id = %L', tests.user_id('olga')),
  'olga''s auth user is deleted'
);

select results_eq(
  format('select email, display_name, deleted_at is not null from public.profiles where id = %L',
         tests.user_id('olga')),
  $$values (null::text, 'Deleted user', true)$$,
  'her profile stays, for the history that points to it, without her name or e-mail'
);

-- Her future meetings: cancelled, everyone else told

select results_eq(
  format('select status, cancel_reason, cancelled_by, version from public.meetings where id = %L',
         tests.meeting_id('olga-future')),
  format($$values ('cancelled', 'The organiser''s account was deleted.', %L::uuid, 3)$$, tests.user_id('olga')),
  'the meeting she organised in the future is cancelled, saying why'
);
select results_eq(
  format($$select recipient_email, status, payload ->> 'reason' from private.email_outbox
           where meeting_id = %L and kind = 'cancellation' order by recipient_email$$,
         tests.meeting_id('olga-future')),
  $$values ('anna@test.example', 'queued', 'The organiser''s account was deleted.'),
           ('guest@external.example', 'queued', 'The organiser''s account was deleted.')$$,
  'every other attendee, the external guest included, gets a cancellation notice, and she none'
);
select is_empty(
  format($$select 1 from private.email_outbox where meeting_id = %L and kind <> 'cancellation'
           and status = 'queued'$$, tests.meeting_id('olga-future')),
  'the meeting''s unsent confirmations and updates are cancelled'
);
select is(
  (select count(*)::integer from private.busy_blocks where meeting_id = tests.meeting_id('olga-future') and active),
  0,
  'its busy time is released'
);
select tests.authenticate_as('anna') \g /dev/null
select is(
  tests.probe_error($$select public.book_meeting(p_title => 'Free again', p_start => '2030-01-10 10:00+00',
    p_end => '2030-01-10 11:00+00', p_time_zone => 'UTC', p_now => tests.pinned_now())$$),
  null,
  'anna may book the slot at once'
);
select tests.clear_authentication() \g /dev/null

-- Her place in others' future meetings: given up

select results_eq(
  format('select email, role from public.attendees where meeting_id = %L order by role, email',
         tests.meeting_id('bob-future')),
  $$values ('bob@test.example', 'organizer'), ('anna@test.example', 'required')$$,
  'she is removed from bob''s future meeting, which goes on with the others'
);
select results_eq(
  format('select status, version from public.meetings where id = %L', tests.meeting_id('bob-future')),
  $$values ('confirmed', 1)$$,
  'bob''s meeting itself is unchanged'
);
select is_empty(
  format($$select 1 from private.busy_blocks b join public.meetings m on m.id = b.meeting_id
           where b.user_id = %L and b.active and m.start_at > now()$$, tests.user_id('olga')),
  'she holds no busy time in the future any more'
);

-- The past: kept, anonymised

select results_eq(
  format($$select m.status, count(a.*)::integer from public.meetings m join public.attendees a on a.meeting_id = m.id
           where m.id = %L group by m.status$$, tests.meeting_id('olga-past')),
  $$values ('confirmed', 2)$$,
  'her past meeting is kept, with its attendees'
);
select results_eq(
  format($$select m.title, a.role, a.email, a.display_name from public.attendees a
           join public.meetings m on m.id = a.meeting_id where a.user_id = %L order by m.start_at$$,
         tests.user_id('olga')),
  format($$values ('Olga''s old one', 'organizer', %1$L, 'Deleted user'),
                  ('Bob''s old one', 'required', %1$L, 'Deleted user'),
                  ('Olga''s next one, renamed', 'organizer', %1$L, 'Deleted user')$$,
         'deleted-user-' || left(replace(tests.user_id('olga')::text, '-', ''), 12) || '@invalid.invalid'),
  'her attendee rows that stay (past meetings, and as organiser of the cancelled one) carry an alias, no name'
);
select is(
  (select count(*)::integer from private.audit_log
   where meeting_id in (tests.meeting_id('olga-past'), tests.meeting_id('bob-past'))) >= :audit_rows_before,
  true,
  'no audit row of the past meetings is lost'
);
select is_empty(
  $$select id from private.audit_log
    where concat(old_values::text, new_values::text) ~* '(olga@test\.example|"Olga")'$$,
  'no audit row anywhere still holds her e-mail or name, including the rows the anonymising itself wrote'
);
select is_empty(
  $$select 1 from private.email_outbox where recipient_email = 'olga@test.example'$$,
  'no outbox row holds her e-mail'
);
select is_empty(
  format($$select 1 from private.email_outbox where recipient_user_id = %L and status = 'queued'$$,
         tests.user_id('olga')),
  'nothing more will be sent to her'
);
select is_empty(
  $$select 1 from public.attendees where email = 'olga@test.example'
    union all select 1 from public.profiles where email = 'olga@test.example'$$,
  'her e-mail is gone from attendees and profiles'
);

-- Nothing else lost

select results_eq(
  $$select what, row from untouched order by what, row::text$$,
  format($$select what, row from (
      select 'meeting' as what, to_jsonb(m) - 'updated_at' as row from public.meetings m where m.id = %1$L
      union all select 'attendee', to_jsonb(a) from public.attendees a where a.meeting_id = %1$L
      union all select 'busy', to_jsonb(b) from private.busy_blocks b where b.meeting_id = %1$L
      union all select 'outbox', to_jsonb(o) from private.email_outbox o where o.meeting_id = %1$L
      union all select 'profile', to_jsonb(p) from public.profiles p where p.id = %2$L) now
    order by what, row::text$$, tests.meeting_id('sams'), tests.user_id('anna')),
  'a meeting she had no part in, its attendees, busy time and notices, and anna''s profile are exactly as before'
);
select is(
  (select count(*)::integer from untouched),
  12,
  'the comparison above covered something: the meeting, 2 attendees, 2 busy rows, 2 notices and '
  '4 reminders, 1 profile'
);
select tests.authenticate_as('anna') \g /dev/null
select results_eq(
  $$select title, status from public.meetings order by title$$,
  $$values ('Bob''s next one', 'confirmed'), ('Olga''s next one, renamed', 'cancelled'),
           ('Olga''s old one', 'confirmed'), ('Sam and Anna', 'confirmed')$$,
  'anna still reads every meeting she was part of, the cancelled one included'
);
select is(
  (select display_name from public.profiles where id = tests.user_id('olga')),
  'Deleted user',
  'and sees the organiser of the old meeting as a deleted user'
);
select tests.clear_authentication() \g /dev/null

-- The same e-mail signs up again: a new account, with none of the old history.
do $$ begin perform tests.create_user('olga-again', 'UTC', 'olga@test.example'); end $$;
select tests.authenticate_as('olga-again') \g /dev/null
select is_empty('select 1 from public.meetings',
  'a new account with her old e-mail sees none of her meetings');
select tests.clear_authentication() \g /dev/null

-- Soft delete (deleted_at), as auth.admin.deleteUser(id, true) does it ------------------

select lives_ok(
  format('update auth.users set deleted_at = now() where id = %L', tests.user_id('dora')),
  'dora is soft-deleted'
);
select results_eq(
  format($$select m.title, m.status,
                  (select count(*)::integer from private.email_outbox o where o.meeting_id = m.id
                     and o.kind = 'cancellation' and o.recipient_email = 'bob@test.example')
           from public.meetings m where m.id in (%L, %L) order by m.title$$,
         tests.meeting_id('dora-future'), tests.meeting_id('bob-with-dora')),
  $$values ('Bob asks Dora', 'confirmed', 0), ('Dora''s next one', 'cancelled', 1)$$,
  'her future meeting is cancelled with a notice to bob; bob''s meeting with her goes on'
);
select results_eq(
  format('select email from public.attendees where meeting_id = %L', tests.meeting_id('bob-with-dora')),
  $$values ('bob@test.example')$$,
  'she is no longer in bob''s meeting'
);
select results_eq(
  format('select email, display_name, deleted_at is not null from public.profiles where id = %L',
         tests.user_id('dora')),
  $$values (null::text, 'Deleted user', true)$$,
  'her profile is anonymised'
);
select lives_ok(
  format('delete from auth.users where id = %L', tests.user_id('dora')),
  'deleting her for good afterwards is no error'
);
select is(
  (select count(*)::integer from private.email_outbox where meeting_id = tests.meeting_id('dora-future')
     and kind = 'cancellation'),
  1,
  '... and tells no one twice'
);

-- Regression: anonymising wrote the alias into the profile audit row where
-- the e-mail had in fact become null.
select is(
  (select new_values -> 'email' from private.audit_log
   where table_name = 'profiles' and record_id = tests.user_id('dora') and action = 'update'
     and new_values ? 'deleted_at'),
  'null'::jsonb,
  'the audit row of her anonymised profile records the e-mail as null, not as an alias'
);

select * from finish();
rollback;
