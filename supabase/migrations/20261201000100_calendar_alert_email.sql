-- The calendar sync alert (issue 6) as an e-mail through the outbox: when a
-- connection goes to `error`, private.finish_calendar_sync queues one
-- `calendar_sync_failed` notice to its owner. It is about a calendar, not a
-- meeting: the row has no meeting, its payload says which connection failed
-- and why, and the sender renders it with templates/<locale>/
-- calendar_sync_failed (functions/_shared/email/calendar_alert.ts).
--
-- Composes with the e-mail migrations: the kind list is every kind they
-- define plus this one, and private.email_message_json is the definition of
-- 20261130000100_meeting_series.sql with calendar alerts answered first.

-- Tables -----------------------------------------------------------------------

alter table private.email_outbox drop constraint email_outbox_kind_check;
alter table private.email_outbox add constraint email_outbox_kind_check
  check (kind in ('confirmation', 'update', 'reschedule', 'cancellation', 'reminder_24h', 'reminder_1h', 'series_conflict',
                  'calendar_sync_failed'));
alter table private.email_outbox alter column meeting_id drop not null;
alter table private.email_outbox add constraint email_outbox_meeting_unless_calendar_alert
  check (meeting_id is not null or kind = 'calendar_sync_failed');

-- Internal functions -------------------------------------------------------------

-- What the sender renders a calendar alert from: the row's payload (written
-- by finish_calendar_sync) and the recipient's zone and language.
create function private.calendar_alert_message_json(p_outbox_id bigint) returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
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
      'name', coalesce(p.display_name, ''),
      'role', 'owner',
      'time_zone', coalesce(p.time_zone, 'UTC'),
      'locale', coalesce(p.locale, 'en')))
  from private.email_outbox o
  left join public.profiles p on p.id = o.recipient_user_id and p.deleted_at is null
  where o.id = p_outbox_id;
$$;

create or replace function private.email_message_json(p_outbox_id bigint) returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  -- Calendar alerts concern a connection, not a meeting.
  if exists (select 1 from private.email_outbox o
             where o.id = p_outbox_id and o.kind = 'calendar_sync_failed') then
    return private.calendar_alert_message_json(p_outbox_id);
  end if;
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
        'cancel_reason', m.cancel_reason,
        'series_id', m.series_id,
        'recurrence_id', m.recurrence_id),
      'series', (
        select jsonb_build_object(
          'id', s.id,
          'rrule', s.rrule,
          'time_zone', s.time_zone,
          'first_start_local', s.first_start_local,
          'duration_minutes', (extract(epoch from s.duration) / 60)::integer,
          'all_day', s.all_day,
          'exdates', to_jsonb(s.exdates),
          'status', s.status,
          'version', s.version)
        from public.meeting_series s
        where s.id = coalesce((o.payload ->> 'series_id')::uuid, m.series_id)),
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
