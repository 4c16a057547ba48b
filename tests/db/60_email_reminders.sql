-- Reminders are kept right by triggers in the same transaction as the
-- change: created one day and one hour before (only if still ahead), moved
-- with the meeting, cancelled with it or with the attendee; promoted by the
-- tick when due (late ones too, unless the meeting started); checked again
-- at claim time.
begin;
select plan(14);

select tests.create_user('olga', 'Europe/Berlin');
select tests.create_user('paul', 'Europe/Berlin');

select tests.authenticate_as('olga');
create temporary table mt on commit drop as
select (public.book_meeting(p_title => 'Review', p_start => date_trunc('minute', now()) + interval '3 days',
        p_end => date_trunc('minute', now()) + interval '3 days 30 minutes', p_time_zone => 'Europe/Berlin',
        p_attendees => '[{"email": "paul@test.example"}]')) as m;
select tests.clear_authentication();

create function pg_temp.reminders(p_status text default null)
returns table (email text, kind text, due timestamptz, version integer, status text)
language sql as $$
  select recipient_email, kind, due_at, meeting_version, status from private.email_outbox
  where meeting_id = (select (m ->> 'id')::uuid from mt) and kind like 'reminder%'
    and (p_status is null or status = p_status)
  order by recipient_email, kind, meeting_version
$$;

select is((select count(*)::int from pg_temp.reminders('scheduled')), 4,
  'two reminders per attendee, scheduled');
select ok((select bool_and(due = (select (m ->> 'start')::timestamptz from mt)
                               - case kind when 'reminder_24h' then interval '24 hours' else interval '1 hour' end)
           from pg_temp.reminders()),
  'due one day and one hour before the start');

-- A meeting 30 minutes away gets no reminders: both moments have passed.
select tests.authenticate_as('paul');
create temporary table soon on commit drop as
select (public.book_meeting(p_title => 'Soon', p_start => now() + interval '30 minutes',
        p_end => now() + interval '45 minutes', p_time_zone => 'UTC')) as m;
select tests.clear_authentication();
select is((select count(*)::int from private.email_outbox
           where meeting_id = (select (m ->> 'id')::uuid from soon) and kind like 'reminder%'),
  0, 'no reminder whose moment is already past');

-- Reschedule: moved in the same transaction.
select tests.authenticate_as('olga');
select public.reschedule_meeting((select (m ->> 'id')::uuid from mt), 1,
  (select (m ->> 'start')::timestamptz + interval '2 hours' from mt),
  (select (m ->> 'end')::timestamptz + interval '2 hours' from mt));
select tests.clear_authentication();
select is((select count(*)::int from pg_temp.reminders('cancelled') where version = 1), 4,
  'a reschedule cancels the old reminders');
select ok((select count(*) = 4 and bool_and(due = (select (m ->> 'start')::timestamptz + interval '2 hours' from mt)
                               - case kind when 'reminder_24h' then interval '24 hours' else interval '1 hour' end)
           from pg_temp.reminders('scheduled') where version = 2),
  'and schedules them at the new time, for the new version');

-- Declining drops an attendee's reminders; accepting again brings them back.
select tests.authenticate_as('paul');
select public.respond_to_meeting((select (m ->> 'id')::uuid from mt), 'declined');
select tests.clear_authentication();
select is((select count(*)::int from pg_temp.reminders('scheduled') where email = 'paul@test.example'), 0,
  'an attendee who declines gets no reminders');
select tests.authenticate_as('paul');
select public.respond_to_meeting((select (m ->> 'id')::uuid from mt), 'accepted');
select tests.clear_authentication();
select is((select count(*)::int from pg_temp.reminders('scheduled') where email = 'paul@test.example'), 2,
  'accepting again schedules them again');

-- The tick under a pinned clock.
select private.promote_due_reminders((select (m ->> 'start')::timestamptz + interval '2 hours'
                                             - interval '24 hours' - interval '1 minute' from mt));
select is((select count(*)::int from pg_temp.reminders('queued')), 0,
  'nothing is promoted a minute before the moment');
select ok((private.promote_due_reminders((select (m ->> 'start')::timestamptz + interval '2 hours'
                                                 - interval '24 hours' + interval '10 seconds' from mt)) ->> 'promoted')::int >= 2,
  'the day-before reminders are promoted at their moment');
select is((select array_agg(kind order by email) from pg_temp.reminders('queued')),
  array['reminder_24h', 'reminder_24h'], 'and are queued for the sender, the hour-before ones still wait');

-- Claimed 20 minutes late (cron missed minutes): sent, marked late.
select ok((select bool_and((c.message ->> 'late')::boolean)
           from private.claim_due_emails(100, 60, (select (m ->> 'start')::timestamptz + interval '2 hours'
                                                          - interval '24 hours' + interval '20 minutes' from mt)) c
           where c.message #>> '{meeting,id}' = (select m ->> 'id' from mt)
             and c.message ->> 'kind' like 'reminder%'),
  'a reminder claimed well after its moment is marked late');

-- Cancel: every pending reminder goes.
select tests.authenticate_as('olga');
select public.cancel_meeting((select (m ->> 'id')::uuid from mt));
select tests.clear_authentication();
select is((select count(*)::int from pg_temp.reminders() where status in ('scheduled', 'queued', 'failed')), 0,
  'cancelling the meeting cancels every pending reminder');

-- A reminder whose meeting started before the tick came round is not sent.
select tests.authenticate_as('paul');
create temporary table later on commit drop as
select (public.book_meeting(p_title => 'Later', p_start => date_trunc('minute', now()) + interval '2 days',
        p_end => date_trunc('minute', now()) + interval '2 days 30 minutes', p_time_zone => 'UTC')) as m;
select tests.clear_authentication();
select is((private.promote_due_reminders((select (m ->> 'start')::timestamptz + interval '1 minute' from later))
           ->> 'cancelled')::int >= 2, true,
  'reminders promoted after the start are cancelled, not sent');
select is((select array_agg(distinct last_error) from private.email_outbox
           where meeting_id = (select (m ->> 'id')::uuid from later) and kind like 'reminder%'),
  array['not sent: meeting already started'], 'with the reason recorded');

select * from finish();
rollback;
