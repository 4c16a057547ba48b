-- Warnings on meetings from external calendars (issue 6): a participant's
-- external busy time (a synced Google, Outlook, CalDAV or ICS event) that
-- overlaps the meeting, as `calendar_warnings` (the booking functions'
-- `warnings` key is theirs: notice warnings, added to this object, which
-- would override a second meaning of the same key). Derived when the meeting is read, so a warning
-- appears as soon as the sync brings such an event in and goes as soon as
-- the event moves away; nothing to keep up to date.
--
-- private.meeting_json is replaced with the definition of
-- 20261130000100_meeting_series.sql plus `calendar_warnings`; everything else it
-- returns is unchanged.

-- Participants may see when their co-participants' calendars conflict, not
-- what with: only the user and the overlapping range, never a title. The
-- external busy table is private, hence security definer, guarded by the
-- meeting's own visibility rule for API callers.
create function private.meeting_calendar_warnings(p_meeting_id uuid) returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v jsonb;
begin
  select jsonb_agg(w.warning order by w.start_at, w.user_id)
    into v
  from (
    select distinct jsonb_build_object(
             'code', 'external_calendar_conflict',
             'user_id', b.user_id,
             'message', 'busy in a connected calendar during the meeting',
             'start', lower(b.range),
             'end', upper(b.range)) as warning,
           lower(b.range) as start_at, b.user_id
    from public.meetings m
    join public.attendees a on a.meeting_id = m.id
    join private.external_busy b
      on b.user_id = a.user_id and b.range && tstzrange(m.start_at, m.end_at)
    where m.id = p_meeting_id
      and m.status = 'confirmed'
      and a.user_id is not null
      and a.response_status <> 'declined'
  ) w;
  -- Usually there is nothing to say; only when there is, check that an API
  -- caller may see the meeting (external busy time is private otherwise).
  if v is null then
    return '[]'::jsonb;
  end if;
  if coalesce((select auth.role()), 'direct') in ('authenticated', 'anon')
     and not private.can_see_meeting(p_meeting_id) then
    return '[]'::jsonb;
  end if;
  return v;
end
$$;
comment on function private.meeting_calendar_warnings is
  'External busy time of a meeting''s participants that overlaps it: [{code, user_id, message, start, end}].';

create or replace function private.meeting_json(p_meeting_id uuid) returns jsonb
language plpgsql
stable
set search_path = ''
as $$
begin
  return (select jsonb_build_object(
    'id', m.id,
    'organizer_id', m.organizer_id,
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
    'created_at', m.created_at,
    'updated_at', m.updated_at,
    'cancelled_at', m.cancelled_at,
    'cancel_reason', m.cancel_reason,
    'series_id', m.series_id,
    'recurrence_id', m.recurrence_id,
    'occurrence_index', m.occurrence_index,
    'recurrence', (select s.rrule from public.meeting_series s where s.id = m.series_id),
    'calendar_warnings', private.meeting_calendar_warnings(m.id),
    'attendees', coalesce((
      select jsonb_agg(jsonb_build_object(
               'id', a.id,
               'user_id', a.user_id,
               'email', a.email,
               'display_name', a.display_name,
               'role', a.role,
               'response_status', a.response_status,
               'responded_at', a.responded_at
             ) order by a.role <> 'organizer', a.email)
      from public.attendees a
      where a.meeting_id = m.id
    ), '[]'::jsonb)
  )
  from public.meetings m
  where m.id = p_meeting_id);
end
$$;

grant execute on function private.meeting_calendar_warnings(uuid) to authenticated;
