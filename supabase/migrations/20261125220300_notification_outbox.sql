-- The e-mail outbox: one row per logical notice, written in the same
-- transaction as the meeting change that causes it, so a notice exists if and
-- only if the change committed. Delivery (templates, Postmark, reminders)
-- builds on this table; here it is the contract the booking functions write.

create table private.email_outbox (
  id bigint generated always as identity primary key,
  meeting_id uuid not null references public.meetings (id),
  recipient_email text not null check (char_length(recipient_email) <= 320),
  recipient_user_id uuid references public.profiles (id),
  kind text not null check (kind in ('confirmation', 'update', 'reschedule', 'cancellation')),
  -- The meeting version the notice describes; with the unique key below a
  -- retried transaction can never queue the same notice twice.
  meeting_version integer not null,
  status text not null default 'queued'
    check (status in ('queued', 'sending', 'sent', 'failed', 'dead', 'cancelled')),
  due_at timestamptz not null default now(),
  attempts integer not null default 0 check (attempts >= 0),
  payload jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint email_outbox_once unique (meeting_id, recipient_email, kind, meeting_version)
);
comment on table private.email_outbox is
  'Notices to send, written with the meeting change that causes them.';

create index email_outbox_due_idx on private.email_outbox (due_at)
  where status in ('queued', 'failed');
create index email_outbox_recipient_user_idx on private.email_outbox (recipient_user_id)
  where recipient_user_id is not null;

create trigger email_outbox_touch before update on private.email_outbox
  for each row execute function private.touch_updated_at();

alter table private.email_outbox enable row level security;
grant select on private.email_outbox to service_role;

-- Queue one kind of notice about a meeting to its attendees (all, or only the
-- listed e-mails), snapshotting what the template will need.
create function private.enqueue_meeting_notice(
  p_meeting_id uuid,
  p_kind text,
  p_only_emails text[] default null,
  p_payload jsonb default '{}'::jsonb
) returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_count integer;
begin
  insert into private.email_outbox (meeting_id, recipient_email, recipient_user_id, kind,
                                    meeting_version, payload)
  select m.id, a.email, a.user_id, p_kind, m.version, p_payload
  from public.meetings m
  join public.attendees a on a.meeting_id = m.id
  where m.id = p_meeting_id
    and (p_only_emails is null or a.email = any (p_only_emails))
  on conflict on constraint email_outbox_once do nothing;
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

-- Notices that no longer make sense (a confirmation for a meeting cancelled
-- before it went out) are cancelled, not sent.
create function private.cancel_pending_notices(
  p_meeting_id uuid,
  p_kinds text[],
  p_only_emails text[] default null
) returns void
language sql
set search_path = ''
as $$
  update private.email_outbox
  set status = 'cancelled'
  where meeting_id = p_meeting_id
    and status in ('queued', 'failed')
    and kind = any (p_kinds)
    and (p_only_emails is null or recipient_email = any (p_only_emails));
$$;
