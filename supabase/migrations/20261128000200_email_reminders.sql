-- Reminders one day and one hour before a meeting, kept right by triggers in
-- the same transaction as the change that affects them, whatever function or
-- statement makes it:
--   attendee added            -> their reminders scheduled (moments still ahead only)
--   attendee removed/declined -> their pending reminders cancelled
--   meeting moved             -> pending reminders cancelled, new ones at the new time
--   meeting cancelled         -> every pending reminder cancelled
-- Scheduled reminders wait in status `scheduled`; the pg_cron tick promotes
-- them to `queued` when their moment comes (20261128000300_email_wakeup.sql)
-- and the sender checks once more at send time.

-- Internal functions -----------------------------------------------------------

-- The reminders a meeting should have now: one per attendee who has not
-- declined and per lead time, for a confirmed meeting, whose moment is still
-- ahead of p_now.
create function private.desired_reminders(p_meeting_id uuid, p_emails text[], p_now timestamptz)
returns table (recipient_email text, recipient_user_id uuid, kind text, due_at timestamptz,
               meeting_version integer)
language sql
stable
as $$
  select a.email, a.user_id, r.kind, m.start_at - r.lead, m.version
  from public.meetings m
  join public.attendees a on a.meeting_id = m.id
  cross join (values ('reminder_24h', interval '24 hours'),
                     ('reminder_1h', interval '1 hour')) as r(kind, lead)
  where m.id = p_meeting_id
    and m.status = 'confirmed'
    and a.response_status <> 'declined'
    and (p_emails is null or a.email = any (p_emails))
    and m.start_at - r.lead > p_now;
$$;

-- Reconcile a meeting's pending reminders (all recipients, or those listed)
-- with the desired set: cancel what is no longer wanted, add what is missing.
-- A reminder already sent for the same moment is not sent again; a cancelled
-- one for the same key comes back (an attendee who declined and accepted again).
create function private.sync_meeting_reminders(p_meeting_id uuid, p_emails text[] default null)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := now();
begin
  update private.email_outbox o
  set status = 'cancelled', last_error = 'superseded: meeting moved, cancelled or attendee gone'
  where o.meeting_id = p_meeting_id
    and o.kind in ('reminder_24h', 'reminder_1h')
    and o.status in ('scheduled', 'queued', 'failed')
    and (p_emails is null or o.recipient_email = any (p_emails))
    and not exists (
      select 1 from private.desired_reminders(p_meeting_id, p_emails, v_now) d
      where d.recipient_email = o.recipient_email and d.kind = o.kind and d.due_at = o.due_at);

  insert into private.email_outbox (meeting_id, recipient_email, recipient_user_id, kind,
                                    meeting_version, status, due_at, next_attempt_at)
  select p_meeting_id, d.recipient_email, d.recipient_user_id, d.kind, d.meeting_version,
         'scheduled', d.due_at, d.due_at
  from private.desired_reminders(p_meeting_id, p_emails, v_now) d
  where not exists (
    select 1 from private.email_outbox o
    where o.meeting_id = p_meeting_id and o.recipient_email = d.recipient_email
      and o.kind = d.kind and o.due_at = d.due_at and o.status <> 'cancelled')
  on conflict on constraint email_outbox_once do update
  set status = 'scheduled', due_at = excluded.due_at, next_attempt_at = excluded.next_attempt_at,
      recipient_user_id = excluded.recipient_user_id, last_error = null
  where private.email_outbox.status = 'cancelled';
end
$$;

create function private.reminders_follow_attendee() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.sync_meeting_reminders(new.meeting_id, array[new.email]);
  elsif tg_op = 'DELETE' then
    perform private.sync_meeting_reminders(old.meeting_id, array[old.email]);
  else
    perform private.sync_meeting_reminders(new.meeting_id, array[old.email, new.email]);
  end if;
  return null;
end
$$;

-- New attendees, all at once: one INSERT for every new attendee row of the
-- statement (a series writes hundreds), their two reminders each where the
-- moment is still ahead. A reminder cancelled earlier for the same key (an
-- attendee removed and invited again) comes back.
create function private.reminders_for_new_attendees() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into private.email_outbox (meeting_id, recipient_email, recipient_user_id, kind,
                                    meeting_version, status, due_at, next_attempt_at)
  select n.meeting_id, n.email, n.user_id, r.kind, m.version, 'scheduled', m.start_at - r.lead,
         m.start_at - r.lead
  from new_attendees n
  join public.meetings m on m.id = n.meeting_id
  cross join (values ('reminder_24h', interval '24 hours'),
                     ('reminder_1h', interval '1 hour')) as r(kind, lead)
  where m.status = 'confirmed'
    and n.response_status <> 'declined'
    and m.start_at - r.lead > now()
  on conflict on constraint email_outbox_once do update
  set status = 'scheduled', due_at = excluded.due_at, next_attempt_at = excluded.next_attempt_at,
      recipient_user_id = excluded.recipient_user_id, last_error = null
  where private.email_outbox.status = 'cancelled';
  return null;
end
$$;

-- Removed attendees: their pending reminders are cancelled, all at once.
create function private.reminders_for_removed_attendees() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update private.email_outbox o
  set status = 'cancelled', last_error = 'superseded: meeting moved, cancelled or attendee gone'
  from old_attendees d
  where o.meeting_id = d.meeting_id and o.recipient_email = d.email
    and o.kind in ('reminder_24h', 'reminder_1h')
    and o.status in ('scheduled', 'queued', 'failed');
  return null;
end
$$;

-- Moved or cancelled meetings, all at once (a series edit moves hundreds):
-- reconcile each changed meeting's reminders with the desired set.
create function private.reminders_follow_meetings() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id uuid;
begin
  for v_id in
    select n.id from new_meetings n join old_meetings o on o.id = n.id
    where o.start_at is distinct from n.start_at or o.status is distinct from n.status
  loop
    perform private.sync_meeting_reminders(v_id);
  end loop;
  return null;
end
$$;

-- Triggers ---------------------------------------------------------------------

create trigger meetings_sync_reminders
  after update on public.meetings
  referencing old table as old_meetings new table as new_meetings
  for each statement execute function private.reminders_follow_meetings();

create trigger attendees_reminders_on_insert
  after insert on public.attendees
  referencing new table as new_attendees
  for each statement execute function private.reminders_for_new_attendees();

create trigger attendees_reminders_on_delete
  after delete on public.attendees
  referencing old table as old_attendees
  for each statement execute function private.reminders_for_removed_attendees();

create trigger attendees_sync_reminders_on_change
  after update of email, response_status on public.attendees
  for each row
  when (old.email is distinct from new.email or old.response_status is distinct from new.response_status)
  execute function private.reminders_follow_attendee();
