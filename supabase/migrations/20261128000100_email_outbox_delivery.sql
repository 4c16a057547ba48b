-- E-mail delivery state on the outbox: reminder kinds, a `scheduled` state for
-- mail that is not due yet, leases, retries, permanent failures, the provider's
-- message id; the SQL side of the sender (claim due rows, record what Postmark
-- answered), dead-letter alerts, and the e-mail log organisers can read.
--
-- Life of a row:
--   scheduled --(due; pg_cron tick)--> queued --(claim)--> sending --> sent
--   queued/failed --(claim)--> sending --(429/5xx/network)--> failed (retry later)
--   sending --(406, ErrorCode 300, bad template; or attempts exhausted)--> dead (+ alert)
--   sending --(lease expired: sender died)--> claimable again
--   scheduled/queued/failed --(meeting cancelled, moved, attendee gone)--> cancelled
--
-- One column, next_attempt_at, says when a row may next be claimed whatever
-- its state: the due time of queued mail, the backoff of failed mail, and the
-- lease expiry of mail being sent. So one partial index answers "what is due",
-- including rows whose sender died mid-send, without an OR across states.

-- Tables -----------------------------------------------------------------------

alter table private.email_outbox drop constraint email_outbox_kind_check;
alter table private.email_outbox add constraint email_outbox_kind_check
  check (kind in ('confirmation', 'update', 'reschedule', 'cancellation', 'reminder_24h', 'reminder_1h'));

alter table private.email_outbox drop constraint email_outbox_status_check;
alter table private.email_outbox add constraint email_outbox_status_check
  check (status in ('scheduled', 'queued', 'sending', 'sent', 'failed', 'dead', 'cancelled'));

alter table private.email_outbox
  add column next_attempt_at timestamptz,
  add column lease_token uuid,
  add column leased_until timestamptz,
  add column last_attempt_at timestamptz,
  add column last_error text check (char_length(last_error) <= 2000),
  add column last_error_code integer,
  add column last_http_status integer,
  add column dead_reason text
    check (dead_reason in ('permanent_error', 'attempts_exhausted', 'render_error')),
  add column provider_message_id text check (char_length(provider_message_id) <= 200),
  add column sent_at timestamptz,
  add column late boolean not null default false;

update private.email_outbox set next_attempt_at = due_at where next_attempt_at is null;
alter table private.email_outbox
  alter column next_attempt_at set default now(),
  alter column next_attempt_at set not null;

alter table private.email_outbox
  -- Nothing is attempted before it is due.
  add constraint email_outbox_not_before_due check (next_attempt_at >= due_at),
  -- A row being sent always carries the lease that proves who sends it.
  add constraint email_outbox_lease_while_sending
    check ((status = 'sending') = (lease_token is not null and leased_until is not null)),
  add constraint email_outbox_sent_recorded check ((status = 'sent') = (sent_at is not null)),
  add constraint email_outbox_dead_explained check ((status = 'dead') = (dead_reason is not null));

comment on column private.email_outbox.due_at is
  'When the notice should go out (reminders: the reminder moment).';
comment on column private.email_outbox.next_attempt_at is
  'When the row may next be claimed: due time, retry time after a backoff, or lease expiry while sending.';
comment on column private.email_outbox.late is
  'Set when a reminder went out more than email_settings.late_after_seconds after its due time.';

-- Operator-tunable delivery limits, one row.
create table private.email_settings (
  singleton boolean primary key default true check (singleton),
  max_attempts integer not null default 8 check (max_attempts between 1 and 100),
  lease_seconds integer not null default 120 check (lease_seconds between 5 and 3600),
  late_after_seconds integer not null default 300 check (late_after_seconds between 0 and 86400)
);
insert into private.email_settings default values;
comment on table private.email_settings is
  'Delivery limits: attempts before a notice is dead, sender lease length, when a reminder counts as late.';

-- What needs a human: notices that will never be delivered.
create table private.email_alerts (
  id bigint generated always as identity primary key,
  created_at timestamptz not null default now(),
  outbox_id bigint references private.email_outbox (id),
  kind text not null check (kind in ('permanent_failure', 'attempts_exhausted', 'render_error')),
  message text not null,
  detail jsonb not null default '{}'::jsonb,
  acknowledged_at timestamptz
);
comment on table private.email_alerts is
  'One row per notice that went dead: why, and the last error. Acknowledge by setting acknowledged_at.';

-- Indexes ----------------------------------------------------------------------

-- The due-mail query: everything claimable, earliest first.
create index email_outbox_claimable_idx on private.email_outbox (next_attempt_at)
  where status in ('queued', 'failed', 'sending');
-- The pg_cron tick: reminders whose moment has come.
create index email_outbox_scheduled_idx on private.email_outbox (due_at)
  where status = 'scheduled';
-- Superseded by email_outbox_claimable_idx (due_at no longer says when to retry).
drop index private.email_outbox_due_idx;
create index email_alerts_outbox_idx on private.email_alerts (outbox_id);
create index email_alerts_open_idx on private.email_alerts (created_at) where acknowledged_at is null;

-- RLS --------------------------------------------------------------------------

alter table private.email_settings enable row level security;
alter table private.email_alerts enable row level security;

create function private.organized_meeting_ids() returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
  select m.id from public.meetings m where m.organizer_id = (select auth.uid());
$$;

create policy "Organisers can read the notices about their meetings" on private.email_outbox
  for select to authenticated
  using (meeting_id in (select private.organized_meeting_ids()));

-- The e-mail log: what was (or will be) sent about a meeting, readable by its
-- organiser through the API and nothing else. security_invoker, so the
-- policy above decides; only these columns are granted.
create view public.email_log with (security_invoker = true) as
select o.id, o.meeting_id, o.recipient_email, o.kind, o.meeting_version, o.status, o.due_at,
       o.attempts, o.sent_at, o.late, o.last_error, o.dead_reason, o.created_at, o.updated_at
from private.email_outbox o;
comment on view public.email_log is
  'E-mails about meetings you organise: kind, recipient, status, attempts, when sent, last error.';

-- Internal functions -----------------------------------------------------------

-- Everything a template and the invitation need about one claimed notice,
-- read at send time: the meeting as it is now (a later change supersedes the
-- data of an earlier notice), the recipient's zone and language (guests get
-- the meeting's zone and the organiser's language).
create function private.email_message_json(p_outbox_id bigint) returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return (
    select jsonb_build_object(
      'outbox_id', o.id,
      'kind', o.kind,
      'meeting_version', o.meeting_version,
      'due_at', o.due_at,
      'attempt', o.attempts,
      'late', o.late,
      'payload', o.payload,
      'recipient', jsonb_build_object(
        'email', o.recipient_email,
        'name', coalesce(nullif(ra.display_name, ''), nullif(rp.display_name, ''), ''),
        'role', coalesce(ra.role, 'removed'),
        'time_zone', coalesce(rp.time_zone, m.time_zone),
        'locale', coalesce(rp.locale, op.locale, 'en')),
      'organizer', jsonb_build_object(
        'email', oa.email,
        'name', coalesce(nullif(oa.display_name, ''), nullif(op.display_name, ''), oa.email)),
      'meeting', jsonb_build_object(
        'id', m.id,
        'title', m.title,
        'description', m.description,
        'location', m.location,
        'start', m.start_at,
        'end', m.end_at,
        'time_zone', m.time_zone,
        'all_day', m.all_day,
        'start_date', m.start_date,
        'end_date', m.end_date,
        'status', m.status,
        'version', m.version,
        'cancel_reason', m.cancel_reason),
      'attendees', coalesce((
        select jsonb_agg(jsonb_build_object(
                 'email', a.email,
                 'name', a.display_name,
                 'role', a.role,
                 'response_status', a.response_status) order by a.role <> 'organizer', a.email)
        from public.attendees a where a.meeting_id = m.id), '[]'::jsonb))
    from private.email_outbox o
    join public.meetings m on m.id = o.meeting_id
    left join public.attendees ra on ra.meeting_id = o.meeting_id and ra.email = o.recipient_email
    left join public.profiles rp on rp.id = o.recipient_user_id and rp.deleted_at is null
    left join public.attendees oa on oa.meeting_id = m.id and oa.role = 'organizer'
    left join public.profiles op on op.id = m.organizer_id
    where o.id = p_outbox_id);
end
$$;

-- Would this notice still make sense if sent at p_now? Never a reminder for a
-- cancelled meeting or once it has started; no invitation or change notice
-- for a cancelled meeting; nothing to a deleted account.
create function private.email_obsolete_reason(
  p_kind text, p_meeting public.meetings, p_recipient_deleted boolean, p_now timestamptz
) returns text
language sql
immutable
as $$
  select case
    when p_recipient_deleted then 'recipient account deleted'
    when p_kind in ('reminder_24h', 'reminder_1h') and p_meeting.status = 'cancelled'
      then 'meeting cancelled'
    when p_kind in ('reminder_24h', 'reminder_1h') and p_meeting.start_at <= p_now
      then 'meeting already started'
    when p_kind in ('confirmation', 'update', 'reschedule') and p_meeting.status = 'cancelled'
      then 'meeting cancelled'
  end;
$$;

-- Claim up to p_limit due notices for one sender: lock them (skip what other
-- senders hold), drop what became obsolete, lease the rest and return what
-- the templates need. A lease that expires (the sender died between claim
-- and record) makes the row due again; a row that used its last attempt that
-- way goes dead instead.
create function private.claim_due_emails(
  p_limit integer default 100,
  p_lease_seconds integer default null,
  p_now timestamptz default null
) returns table (outbox_id bigint, lease_token uuid, message jsonb)
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := private.effective_now(p_now);
  v_settings private.email_settings;
  v_ids bigint[];
  v_leased bigint[];
begin
  if p_limit is null or p_limit not between 1 and 500 then
    perform private.raise_if_invalid(jsonb_build_array(
      private.field_error('limit', 'must be between 1 and 500 (Postmark''s batch limit)')));
  end if;
  select * into v_settings from private.email_settings;

  select array_agg(d.id) into v_ids
  from (
    select o.id from private.email_outbox o
    where o.status in ('queued', 'failed', 'sending') and o.next_attempt_at <= v_now
    order by o.next_attempt_at
    limit p_limit
    for update skip locked
  ) d;
  if v_ids is null then
    return;
  end if;

  update private.email_outbox o
  set status = 'cancelled', lease_token = null, leased_until = null,
      last_error = 'not sent: ' || x.reason
  from (
    select o2.id, private.email_obsolete_reason(o2.kind, m, p.deleted_at is not null, v_now) as reason
    from private.email_outbox o2
    join public.meetings m on m.id = o2.meeting_id
    left join public.profiles p on p.id = o2.recipient_user_id
    where o2.id = any (v_ids)
  ) x
  where o.id = x.id and x.reason is not null;

  with exhausted as (
    update private.email_outbox o
    set status = 'dead', dead_reason = 'attempts_exhausted', lease_token = null, leased_until = null,
        last_error = coalesce(o.last_error || '; ', '') || 'lease expired on the last attempt'
    where o.id = any (v_ids) and o.status = 'sending' and o.attempts >= v_settings.max_attempts
    returning o.id, o.attempts, o.last_error
  )
  insert into private.email_alerts (outbox_id, kind, message, detail)
  select e.id, 'attempts_exhausted', format('notice %s gave up after %s attempts', e.id, e.attempts),
         jsonb_build_object('last_error', e.last_error)
  from exhausted e;

  with leased as (
    update private.email_outbox o
    set status = 'sending',
        attempts = o.attempts + 1,
        lease_token = extensions.gen_random_uuid(),
        leased_until = v_now + make_interval(secs => coalesce(p_lease_seconds, v_settings.lease_seconds)),
        next_attempt_at = v_now + make_interval(secs => coalesce(p_lease_seconds, v_settings.lease_seconds)),
        last_attempt_at = v_now,
        late = o.kind in ('reminder_24h', 'reminder_1h')
               and v_now > o.due_at + make_interval(secs => v_settings.late_after_seconds)
    where o.id = any (v_ids) and o.status in ('queued', 'failed', 'sending')
    returning o.id
  )
  select array_agg(l.id) into v_leased from leased l;

  -- A separate statement, so the message sees the lease just taken.
  return query
  select o.id, o.lease_token, private.email_message_json(o.id)
  from private.email_outbox o
  where o.id = any (v_leased)
  order by o.next_attempt_at, o.id;
end
$$;

-- Record what Postmark answered for claimed notices, in one round trip:
-- p_results = [{outbox_id, lease_token, outcome, message_id?, error?,
-- error_code?, http_status?, retry_in_seconds?}], outcome one of
--   sent         Postmark accepted it (MessageID recorded);
--   retry        429, 5xx, timeout or network error: try again after
--                retry_in_seconds (the sender's capped, jittered backoff),
--                or go dead once max_attempts are used;
--   permanent    406 inactive recipient, ErrorCode 300 invalid request and
--                other errors no retry can fix: dead at once;
--   render_error our template or data could not produce the message: dead.
-- Only the holder of the lease may fail a row. A success is recorded even
-- from a sender whose lease ran out, because the mail did go out.
create function private.record_email_results(p_results jsonb, p_now timestamptz default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := private.effective_now(p_now);
  v_settings private.email_settings;
  v_sent integer;
  v_retrying integer;
  v_dead integer;
begin
  if p_results is null or jsonb_typeof(p_results) <> 'array' then
    perform private.raise_if_invalid(jsonb_build_array(
      private.field_error('results', 'must be an array of {outbox_id, lease_token, outcome}')));
  end if;
  perform private.raise_if_invalid((
    select coalesce(jsonb_agg(private.field_error(format('results[%s].outcome', i - 1),
                    'must be sent, retry, permanent or render_error')), '[]'::jsonb)
    from jsonb_array_elements(p_results) with ordinality as t(e, i)
    where coalesce(e ->> 'outcome', '') not in ('sent', 'retry', 'permanent', 'render_error')));
  select * into v_settings from private.email_settings;

  with r as (
    select * from jsonb_to_recordset(p_results)
      as x(outbox_id bigint, lease_token uuid, outcome text, message_id text)
    where x.outcome = 'sent'
  ), done as (
    update private.email_outbox o
    set status = 'sent', sent_at = v_now, provider_message_id = left(r.message_id, 200),
        lease_token = null, leased_until = null, dead_reason = null
    from r
    where o.id = r.outbox_id and o.status in ('sending', 'failed', 'dead')
    returning o.id
  )
  select count(*) into v_sent from done;

  with r as (
    select * from jsonb_to_recordset(p_results)
      as x(outbox_id bigint, lease_token uuid, outcome text, error text, error_code integer,
           http_status integer, retry_in_seconds numeric)
    where x.outcome = 'retry'
  ), retried as (
    update private.email_outbox o
    set status = case when o.attempts >= v_settings.max_attempts then 'dead' else 'failed' end,
        dead_reason = case when o.attempts >= v_settings.max_attempts then 'attempts_exhausted' end,
        next_attempt_at = greatest(o.due_at,
          v_now + make_interval(secs => greatest(coalesce(r.retry_in_seconds, 60), 0)::double precision)),
        lease_token = null, leased_until = null,
        last_error = left(coalesce(r.error, 'unknown error'), 2000),
        last_error_code = r.error_code, last_http_status = r.http_status
    from r
    where o.id = r.outbox_id and o.lease_token = r.lease_token and o.status = 'sending'
    returning o.id, o.status, o.attempts, o.last_error
  ), alerted as (
    insert into private.email_alerts (outbox_id, kind, message, detail)
    select d.id, 'attempts_exhausted', format('notice %s gave up after %s attempts', d.id, d.attempts),
           jsonb_build_object('last_error', d.last_error)
    from retried d where d.status = 'dead'
  )
  select count(*) filter (where x.status = 'failed'),
         count(*) filter (where x.status = 'dead')
  into v_retrying, v_dead
  from retried x;

  with r as (
    select * from jsonb_to_recordset(p_results)
      as x(outbox_id bigint, lease_token uuid, outcome text, error text, error_code integer,
           http_status integer)
    where x.outcome in ('permanent', 'render_error')
  ), failed as (
    update private.email_outbox o
    set status = 'dead',
        dead_reason = case r.outcome when 'permanent' then 'permanent_error' else 'render_error' end,
        lease_token = null, leased_until = null,
        last_error = left(coalesce(r.error, 'unknown error'), 2000),
        last_error_code = r.error_code, last_http_status = r.http_status
    from r
    where o.id = r.outbox_id and o.lease_token = r.lease_token and o.status = 'sending'
    returning o.id, o.dead_reason, o.last_error, o.last_error_code, o.last_http_status
  ), alerted as (
    insert into private.email_alerts (outbox_id, kind, message, detail)
    select f.id,
           case f.dead_reason when 'permanent_error' then 'permanent_failure' else 'render_error' end,
           format('notice %s will not be delivered: %s', f.id, f.last_error),
           jsonb_build_object('error_code', f.last_error_code, 'http_status', f.last_http_status)
    from failed f
    returning outbox_id
  )
  select v_dead + count(*) into v_dead from alerted;

  return jsonb_build_object('sent', v_sent, 'retrying', v_retrying, 'dead', v_dead,
                            'ignored', jsonb_array_length(p_results) - v_sent - v_retrying - v_dead);
end
$$;

-- Grants -----------------------------------------------------------------------

grant select (id, meeting_id, recipient_email, kind, meeting_version, status, due_at, attempts,
              sent_at, late, last_error, dead_reason, created_at, updated_at)
  on private.email_outbox to authenticated;
grant select on public.email_log to authenticated, service_role;
grant select, update on private.email_settings to service_role;
grant select, update (acknowledged_at) on private.email_alerts to service_role;
grant execute on function private.organized_meeting_ids() to authenticated, service_role;
grant execute on function
  private.claim_due_emails(integer, integer, timestamptz),
  private.record_email_results(jsonb, timestamptz)
  to service_role;
