-- The e-mail outbox: notices are written in the same transaction as the
-- meeting change that causes them, one per recipient, never twice.
begin;
select plan(19);

do $$
begin
  perform tests.create_user('olga');
  perform tests.create_user('anna');
  perform tests.create_user('bella');
end
$$;

-- The notices (not the reminders, proven in 60_email_reminders) of a named
-- meeting, as the owner sees them.
create function pg_temp.outbox(p_meeting text)
returns table (id bigint, recipient text, internal boolean, kind text, version integer, status text, payload jsonb)
language sql security definer as $$
  select o.id, o.recipient_email, o.recipient_user_id is not null, o.kind, o.meeting_version, o.status, o.payload
  from private.email_outbox o where o.meeting_id = tests.meeting_id(p_meeting)
    and o.kind not like 'reminder%'
  order by o.id;
$$;
grant execute on all functions in schema pg_temp to authenticated;

-- Booking ---------------------------------------------------------------------------

select tests.authenticate_as('olga') \g /dev/null
select tests.remember_meeting('kickoff', public.book_meeting(
  p_title => 'Kickoff', p_start => '2030-01-10 10:00+00', p_end => '2030-01-10 11:00+00', p_time_zone => 'UTC',
  p_attendees => '[{"email": "anna@test.example"}, {"email": "guest@external.example"}]',
  p_now => tests.pinned_now())) \g /dev/null

select results_eq(
  $$select recipient, internal, kind, version, status from pg_temp.outbox('kickoff') order by recipient$$,
  $$values ('anna@test.example', true, 'confirmation', 1, 'queued'),
           ('guest@external.example', false, 'confirmation', 1, 'queued'),
           ('olga@test.example', true, 'confirmation', 1, 'queued')$$,
  'booking queues one confirmation per attendee, the organiser and the external guest included'
);

-- Details change: an update notice to the attendees --------------------------------

select public.update_meeting(tests.meeting_id('kickoff'), 1, p_location => 'Room 1', p_now => tests.pinned_now())
  \g /dev/null
select results_eq(
  $$select recipient, version from pg_temp.outbox('kickoff') where kind = 'update' order by recipient$$,
  $$values ('anna@test.example', 2), ('guest@external.example', 2)$$,
  'a change of details queues an update for each attendee but the organiser, describing version 2'
);

-- Reschedule: notices carry the previous times -------------------------------------

select public.reschedule_meeting(tests.meeting_id('kickoff'), 2, '2030-01-11 14:00+00', '2030-01-11 15:00+00',
                                 p_now => tests.pinned_now()) \g /dev/null
select results_eq(
  $$select recipient, version, status, payload from pg_temp.outbox('kickoff') where kind = 'reschedule'
    order by recipient$$,
  $$select r, 3, 'queued', '{"previous_start": "2030-01-10T10:00:00+00:00", "previous_end": "2030-01-10T11:00:00+00:00",
                            "previous_time_zone": "UTC", "previous_all_day": false}'::jsonb
    from unnest(array['anna@test.example', 'guest@external.example', 'olga@test.example']) r$$,
  'a reschedule queues a notice per attendee carrying the previous times'
);
select results_eq(
  $$select status from pg_temp.outbox('kickoff') where kind = 'update'$$,
  $$values ('cancelled'), ('cancelled')$$,
  'the unsent update notices are superseded by the reschedule'
);

select public.reschedule_meeting(tests.meeting_id('kickoff'), 3, '2030-01-12 14:00+00', '2030-01-12 15:00+00',
                                 p_now => tests.pinned_now()) \g /dev/null
select results_eq(
  $$select version, status, payload ->> 'previous_start' from pg_temp.outbox('kickoff')
    where kind = 'reschedule' and recipient = 'anna@test.example'$$,
  $$values (3, 'cancelled', '2030-01-10T10:00:00+00:00'), (4, 'queued', '2030-01-11T14:00:00+00:00')$$,
  'a second move supersedes the unsent first notice; the new one names the time just left'
);

-- Attendee changes ---------------------------------------------------------------------

select public.update_meeting(tests.meeting_id('kickoff'), 4,
  p_attendees => '[{"email": "guest@external.example"}, {"email": "bella@test.example"}]',
  p_now => tests.pinned_now()) \g /dev/null
select results_eq(
  $$select kind, status, payload from pg_temp.outbox('kickoff') where recipient = 'anna@test.example'
    and status = 'queued'$$,
  $$values ('cancellation', 'queued', '{"reason": "removed from the meeting"}'::jsonb)$$,
  'a removed attendee gets a cancellation, and nothing else still queued'
);
select results_eq(
  $$select kind, status from pg_temp.outbox('kickoff') where recipient = 'anna@test.example' order by id$$,
  $$values ('confirmation', 'cancelled'), ('update', 'cancelled'), ('reschedule', 'cancelled'),
           ('reschedule', 'cancelled'), ('cancellation', 'queued')$$,
  '... her pending confirmation and reschedule notices are cancelled'
);
select results_eq(
  $$select kind, version, status from pg_temp.outbox('kickoff') where recipient = 'bella@test.example'$$,
  $$values ('confirmation', 5, 'queued')$$,
  'an added attendee gets a confirmation of the current version, not a change notice'
);

-- Cancel: a notice to every attendee, pending confirmations cancelled -----------------

select public.cancel_meeting(tests.meeting_id('kickoff'), 'Project stopped', p_now => tests.pinned_now())
  \g /dev/null
select results_eq(
  $$select recipient, version, status, payload from pg_temp.outbox('kickoff') where kind = 'cancellation'
    and version = 6 order by recipient$$,
  $$select r, 6, 'queued', '{"reason": "Project stopped"}'::jsonb
    from unnest(array['bella@test.example', 'guest@external.example', 'olga@test.example']) r$$,
  'cancelling queues a cancellation, with the reason, to every attendee'
);
select is_empty(
  $$select 1 from pg_temp.outbox('kickoff') where kind <> 'cancellation' and status = 'queued'$$,
  'no confirmation, update or reschedule notice is left to send for the cancelled meeting'
);
select results_eq(
  $$select status from pg_temp.outbox('kickoff') where recipient = 'bella@test.example' and kind = 'confirmation'$$,
  $$values ('cancelled')$$,
  'bella''s unsent confirmation in particular is cancelled'
);
select public.cancel_meeting(tests.meeting_id('kickoff'), 'Again', p_now => tests.pinned_now()) \g /dev/null
select is(
  (select count(*)::integer from pg_temp.outbox('kickoff') where kind = 'cancellation'),
  4,
  'cancelling again queues nothing more (anna''s removal notice and the three cancellations)'
);

-- Notices that went out are history: they are not cancelled afterwards.

select tests.authenticate_as('olga') \g /dev/null
select tests.remember_meeting('sent', public.book_meeting(
  p_title => 'Sent', p_start => '2030-01-20 10:00+00', p_end => '2030-01-20 11:00+00', p_time_zone => 'UTC',
  p_attendees => '[{"email": "anna@test.example"}]', p_now => tests.pinned_now())) \g /dev/null
select tests.clear_authentication() \g /dev/null
update private.email_outbox set status = 'sent', sent_at = now()
where meeting_id = tests.meeting_id('sent') and recipient_email = 'anna@test.example'
  and kind = 'confirmation';
select tests.authenticate_as('olga') \g /dev/null
select public.cancel_meeting(tests.meeting_id('sent'), p_now => tests.pinned_now()) \g /dev/null
select results_eq(
  $$select kind, status from pg_temp.outbox('sent') where recipient = 'anna@test.example' order by id$$,
  $$values ('confirmation', 'sent'), ('cancellation', 'queued')$$,
  'a confirmation already sent stays sent; the cancellation follows it'
);

-- The unique key: never the same notice twice --------------------------------------

select tests.clear_authentication() \g /dev/null
select is(
  private.enqueue_meeting_notice(tests.meeting_id('sent'), 'cancellation'),
  0,
  'queueing a notice that exists already (same meeting, recipient, kind and version) adds nothing'
);
select is(
  private.enqueue_meeting_notice(tests.meeting_id('sent'), 'update'),
  2,
  'a notice of another kind for the same version is new: one per attendee'
);
select throws_ok(
  format($$insert into private.email_outbox (meeting_id, recipient_email, kind, meeting_version)
           values (%L, 'anna@test.example', 'cancellation', 2)$$, tests.meeting_id('sent')),
  '23505', 'duplicate key value violates unique constraint "email_outbox_once"',
  'even a direct insert cannot queue the same notice twice'
);
select lives_ok(
  format($$insert into private.email_outbox (meeting_id, recipient_email, kind, meeting_version)
           values (%L, 'anna@test.example', 'cancellation', 3)$$, tests.meeting_id('sent')),
  'the same kind for another version is a different notice'
);

-- All in the booking's transaction: a refused booking leaves no notice.
select tests.authenticate_as('olga') \g /dev/null
select public.book_meeting(p_title => 'Blocker', p_start => '2030-01-25 10:00+00', p_end => '2030-01-25 11:00+00',
  p_time_zone => 'UTC', p_now => tests.pinned_now()) \g /dev/null
select tests.authenticate_as('anna') \g /dev/null
select is(
  tests.error_of($$select public.book_meeting(p_title => 'Clash', p_start => '2030-01-25 10:30+00',
    p_end => '2030-01-25 11:30+00', p_time_zone => 'UTC',
    p_attendees => '[{"email": "olga@test.example"}, {"email": "late@external.example"}]',
    p_now => tests.pinned_now())$$) ->> 'sqlstate',
  'PT409',
  'anna''s booking with olga and an external guest is refused: olga is busy'
);
select tests.clear_authentication() \g /dev/null
select is_empty(
  $$select 1 from private.email_outbox where recipient_email = 'late@external.example'$$,
  'a booking refused for a conflict queues nothing'
);

select * from finish();
rollback;
