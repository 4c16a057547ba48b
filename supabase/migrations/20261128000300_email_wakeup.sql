-- Prompt delivery. Mail that is due on commit (confirmations, notices) wakes
-- the email-sender Edge Function at once through pg_net, from a statement
-- trigger on the outbox, sent by pg_net's worker only if the transaction
-- commits. Wake-ups are coalesced to one per second: reading the Vault
-- secrets and queueing a request on every booking cost more than half of a
-- booking's throughput, and one sender run drains everything that is due
-- anyway (it waits a moment before its last claim, so bookings that commit
-- just after the wake-up are still covered). A pg_cron job every minute is the safety
-- net: it promotes reminders whose moment has come, retires rows whose last
-- lease ran out, and wakes the sender whenever anything is due (retries after
-- a backoff included). If cron misses minutes, the next tick promotes every
-- reminder it missed; the sender marks them late and sends them unless the
-- meeting has started.
--
-- Where the sender lives and the key it needs come from Vault, as Supabase
-- documents for pg_cron + pg_net calls to Edge Functions:
--   select vault.create_secret('https://<project-ref>.supabase.co', 'project_url');
--   select vault.create_secret('<service role key>', 'service_role_key');
-- Until both exist the wake-ups are skipped with a warning (mail stays queued,
-- nothing is lost); the local stack creates them after migrating.

-- Internal functions -----------------------------------------------------------

create function private.wake_email_sender() returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_url text;
  v_key text;
begin
  select s.decrypted_secret into v_url from vault.decrypted_secrets s where s.name = 'project_url';
  select s.decrypted_secret into v_key from vault.decrypted_secrets s where s.name = 'service_role_key';
  if v_url is null or v_key is null then
    raise warning 'email sender not woken: Vault secrets project_url and service_role_key are not set';
    return null;
  end if;
  return net.http_post(
    url => rtrim(v_url, '/') || '/functions/v1/email-sender',
    body => jsonb_build_object('reason', 'wake'),
    headers => jsonb_build_object('Content-Type', 'application/json',
                                  'Authorization', 'Bearer ' || v_key),
    -- The sender answers when its run is done; the lease, not this timeout,
    -- protects the mail.
    timeout_milliseconds => 30000);
end
$$;

-- Which seconds already had their wake-up. Unlogged: losing it in a crash
-- costs at most one extra wake-up.
create unlogged table private.email_wakeups (
  second bigint primary key,
  request_id bigint,
  created_at timestamptz not null default now()
);
alter table private.email_wakeups enable row level security;

-- At most one wake-up per second, without making concurrent bookings wait:
-- the first transaction of a second takes a try-lock and leaves a mark; the
-- others see the lock or the mark and rely on that wake-up.
create function private.wake_email_sender_once_per_second() returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_second bigint := floor(extract(epoch from clock_timestamp()))::bigint;
begin
  if not pg_try_advisory_xact_lock(hashtext('email-sender-wake'), (v_second % 2147483647)::integer) then
    return;
  end if;
  if exists (select 1 from private.email_wakeups w where w.second = v_second) then
    return;
  end if;
  insert into private.email_wakeups (second, request_id)
  values (v_second, private.wake_email_sender());
end
$$;

create function private.wake_sender_for_due_mail() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if exists (select 1 from new_rows n where n.status = 'queued' and n.next_attempt_at <= now()) then
    perform private.wake_email_sender_once_per_second();
  end if;
  return null;
end
$$;

-- Promote due reminders, retire rows whose last lease expired, and report
-- what is due. p_now pins the clock (tests, what-if).
create function private.promote_due_reminders(p_now timestamptz default null) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := private.effective_now(p_now);
  v_settings private.email_settings;
  v_promoted integer;
  v_cancelled integer;
  v_exhausted integer;
begin
  select * into v_settings from private.email_settings;
  delete from private.email_wakeups w where w.created_at < v_now - interval '10 minutes';

  with due as (
    select o.id, private.email_obsolete_reason(o.kind, m, p.deleted_at is not null, v_now) as reason
    from private.email_outbox o
    join public.meetings m on m.id = o.meeting_id
    left join public.profiles p on p.id = o.recipient_user_id
    where o.status = 'scheduled' and o.due_at <= v_now
    for update of o skip locked
  ), changed as (
    update private.email_outbox o
    set status = case when due.reason is null then 'queued' else 'cancelled' end,
        last_error = case when due.reason is not null then 'not sent: ' || due.reason end
    from due
    where o.id = due.id
    returning o.status
  )
  select count(*) filter (where c.status = 'queued'), count(*) filter (where c.status = 'cancelled')
  into v_promoted, v_cancelled
  from changed c;

  with exhausted as (
    update private.email_outbox o
    set status = 'dead', dead_reason = 'attempts_exhausted', lease_token = null, leased_until = null,
        last_error = coalesce(o.last_error || '; ', '') || 'lease expired on the last attempt'
    where o.id in (
      select x.id from private.email_outbox x
      where x.status = 'sending' and x.next_attempt_at <= v_now
        and x.attempts >= v_settings.max_attempts
      for update skip locked)
    returning o.id, o.attempts, o.last_error
  ), alerted as (
    insert into private.email_alerts (outbox_id, kind, message, detail)
    select e.id, 'attempts_exhausted', format('notice %s gave up after %s attempts', e.id, e.attempts),
           jsonb_build_object('last_error', e.last_error)
    from exhausted e
    returning outbox_id
  )
  select count(*) into v_exhausted from alerted;

  return jsonb_build_object(
    'promoted', v_promoted,
    'cancelled', v_cancelled,
    'dead', v_exhausted,
    'due', exists (select 1 from private.email_outbox o
                   where o.status in ('queued', 'failed', 'sending') and o.next_attempt_at <= v_now));
end
$$;

-- The pg_cron job's body.
create function private.email_tick(p_now timestamptz default null) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_report jsonb := private.promote_due_reminders(p_now);
begin
  if (v_report ->> 'due')::boolean then
    v_report := v_report || jsonb_build_object('wake_request_id', private.wake_email_sender());
  end if;
  return v_report;
end
$$;

-- Triggers ---------------------------------------------------------------------

create trigger email_outbox_wake_sender
  after insert on private.email_outbox
  referencing new table as new_rows
  for each statement execute function private.wake_sender_for_due_mail();

-- Jobs -------------------------------------------------------------------------

select cron.schedule('email-sender-tick', '* * * * *', 'select private.email_tick()');

-- Grants -----------------------------------------------------------------------

grant execute on function private.promote_due_reminders(timestamptz), private.email_tick(timestamptz)
  to service_role;
