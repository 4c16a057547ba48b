-- Booking: the only way meetings and attendees are written.
--
-- Each function is one transaction: meeting, attendees, busy rows (through
-- the triggers), outbox notices and audit rows commit together or not at all.
--
-- They are SECURITY DEFINER because writes go only through them: the tables
-- grant no INSERT/UPDATE/DELETE to API roles, and a booking writes rows the
-- caller does not own (other attendees' busy rows, the outbox, the audit
-- log). Each derives the caller from auth.uid(), checks visibility with the
-- same helper the RLS policies use, and answers PT404 for a meeting the
-- caller may not see, so a stranger cannot tell it exists. Read-only
-- get_meeting stays SECURITY INVOKER and relies on RLS alone.
--
-- Concurrency: every function that can make someone busy first takes a
-- transaction-level advisory lock per involved user, in one global order, so
-- concurrent bookings of the same person queue up briefly and can never
-- deadlock; the conflict check after the locks is then exact. The EXCLUDE
-- constraint stays the guarantee: its violation (possible only for writers
-- that skip these functions) is still answered as a PT409 naming the conflict.

-- Types ----------------------------------------------------------------------

create type private.meeting_times as (
  start_at timestamptz,
  end_at timestamptz,
  time_zone text,
  all_day boolean,
  start_date date,
  end_date date,
  errors jsonb
);

-- Internal functions ---------------------------------------------------------

-- The meeting as the API returns it. Security invoker: inside the definer
-- functions it sees everything, called by a user it sees what RLS allows.
create function private.meeting_json(p_meeting_id uuid) returns jsonb
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

-- Validate and normalise a meeting's time. Timed meetings take start/end
-- instants; all-day meetings take local dates in time_zone (end exclusive),
-- or are derived from start/end when only those are given. Collects every
-- error instead of stopping at the first.
create function private.normalize_times(
  p_start timestamptz,
  p_end timestamptz,
  p_time_zone text,
  p_all_day boolean,
  p_start_date date,
  p_end_date date,
  p_now timestamptz
) returns private.meeting_times
language plpgsql
stable
set search_path = ''
as $$
declare
  v private.meeting_times;
  v_settings private.settings;
  v_errors jsonb := '[]'::jsonb;
  v_tz_ok boolean;
  v_local_end timestamp;
begin
  select * into v_settings from private.settings;
  v.all_day := coalesce(p_all_day, false);
  v.time_zone := p_time_zone;
  v_tz_ok := p_time_zone is not null and private.is_valid_time_zone(p_time_zone);
  if p_time_zone is null then
    v_errors := v_errors || private.field_error('time_zone', 'is required');
  elsif not v_tz_ok then
    v_errors := v_errors || private.field_error('time_zone',
      'unknown time zone ' || quote_literal(p_time_zone) || '; use an IANA name such as Europe/Berlin');
  end if;

  if v.all_day then
    if v_tz_ok then
      v.start_date := coalesce(p_start_date, (p_start at time zone p_time_zone)::date);
      if p_end_date is not null then
        v.end_date := p_end_date;
      elsif p_end is not null then
        -- An end instant inside a day still covers that whole day.
        v_local_end := p_end at time zone p_time_zone;
        v.end_date := case when v_local_end = date_trunc('day', v_local_end)
                           then v_local_end::date else v_local_end::date + 1 end;
      else
        v.end_date := v.start_date + 1;
      end if;
    end if;
    if v.start_date is null and v_tz_ok then
      v_errors := v_errors || private.field_error('start_date', 'is required for an all-day meeting');
    elsif v_tz_ok then
      if v.end_date <= v.start_date then
        v_errors := v_errors || private.field_error('end_date',
          'must be after start_date (end_date is exclusive: a one-day meeting on 2027-03-14 ends 2027-03-15)');
      elsif v.end_date - v.start_date > v_settings.max_all_day_days then
        v_errors := v_errors || private.field_error('end_date',
          format('an all-day meeting may span at most %s days', v_settings.max_all_day_days));
      end if;
      if v.start_date < (p_now at time zone p_time_zone)::date then
        v_errors := v_errors || private.field_error('start_date', 'is in the past');
      end if;
      -- A local midnight that does not exist (a DST jump at midnight) is
      -- resolved by Postgres to the first instant of that day.
      v.start_at := v.start_date::timestamp at time zone p_time_zone;
      v.end_at := v.end_date::timestamp at time zone p_time_zone;
    end if;
  else
    if p_start_date is not null or p_end_date is not null then
      v_errors := v_errors || private.field_error(
        case when p_start_date is not null then 'start_date' else 'end_date' end,
        'is only for all-day meetings; a timed meeting takes start and end');
    end if;
    if p_start is null then
      v_errors := v_errors || private.field_error('start', 'is required');
    end if;
    if p_end is null then
      v_errors := v_errors || private.field_error('end', 'is required');
    end if;
    if p_start is not null and p_end is not null then
      if p_end <= p_start then
        v_errors := v_errors || private.field_error('end', 'must be after start');
      elsif p_end - p_start < interval '1 minute' then
        v_errors := v_errors || private.field_error('end', 'must be at least 1 minute after start');
      elsif p_end - p_start > make_interval(mins => v_settings.max_meeting_minutes) then
        v_errors := v_errors || private.field_error('end',
          format('a meeting may last at most %s minutes', v_settings.max_meeting_minutes));
      end if;
    end if;
    if p_start is not null and p_start < p_now then
      v_errors := v_errors || private.field_error('start', 'is in the past');
    end if;
    v.start_at := p_start;
    v.end_at := p_end;
  end if;
  v.errors := v_errors;
  return v;
end
$$;

-- Validate and resolve an attendee list: [{email | user_id, role?, display_name?}].
-- E-mails of internal users resolve to them, so their busy time counts. The
-- organiser is implied and skipped if listed. Returns {attendees, errors}.
create function private.normalize_attendees(
  p_attendees jsonb,
  p_organizer_id uuid
) returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v_max integer;
  v_errors jsonb := '[]'::jsonb;
  v_out jsonb := '[]'::jsonb;
  v_seen jsonb := '{}'::jsonb;
  v_item jsonb;
  v_index integer;
  v_field text;
  v_email text;
  v_user_text text;
  v_user_id uuid;
  v_role text;
  v_name text;
  v_profile public.profiles;
begin
  -- Most meetings invite nobody but the organiser: answer that without a query.
  if p_attendees is null or p_attendees = 'null'::jsonb or p_attendees = '[]'::jsonb then
    return jsonb_build_object('attendees', '[]'::jsonb, 'errors', '[]'::jsonb);
  end if;
  if jsonb_typeof(p_attendees) <> 'array' then
    return jsonb_build_object('attendees', '[]'::jsonb, 'errors',
      jsonb_build_array(private.field_error('attendees', 'must be an array')));
  end if;
  v_max := (select max_attendees from private.settings);
  if jsonb_array_length(p_attendees) > v_max then
    return jsonb_build_object('attendees', '[]'::jsonb, 'errors',
      jsonb_build_array(private.field_error('attendees', format('at most %s attendees', v_max))));
  end if;

  for v_item, v_index in
    select e, (o - 1)::integer from jsonb_array_elements(p_attendees) with ordinality as t(e, o)
  loop
    v_field := format('attendees[%s]', v_index);
    if jsonb_typeof(v_item) <> 'object' then
      v_errors := v_errors || private.field_error(v_field, 'must be an object with email or user_id');
      continue;
    end if;
    if jsonb_typeof(v_item -> 'email') not in ('string', 'null')
       or jsonb_typeof(v_item -> 'user_id') not in ('string', 'null')
       or jsonb_typeof(v_item -> 'role') not in ('string', 'null')
       or jsonb_typeof(v_item -> 'display_name') not in ('string', 'null') then
      v_errors := v_errors || private.field_error(v_field, 'email, user_id, role and display_name must be strings');
      continue;
    end if;
    v_email := lower(btrim(v_item ->> 'email'));
    v_user_text := btrim(v_item ->> 'user_id');
    v_role := coalesce(v_item ->> 'role', 'required');
    v_name := coalesce(v_item ->> 'display_name', '');
    v_user_id := null;
    v_profile := null;

    if coalesce(v_email, '') = '' and coalesce(v_user_text, '') = '' then
      v_errors := v_errors || private.field_error(v_field, 'needs an email or a user_id');
      continue;
    end if;
    if v_role not in ('required', 'optional') then
      v_errors := v_errors || private.field_error(v_field || '.role', 'must be required or optional');
    end if;
    if char_length(v_name) > 200 then
      v_errors := v_errors || private.field_error(v_field || '.display_name', 'at most 200 characters');
    end if;
    if coalesce(v_user_text, '') <> '' then
      if v_user_text !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
        v_errors := v_errors || private.field_error(v_field || '.user_id', 'must be a UUID');
        continue;
      end if;
      select * into v_profile from public.profiles
      where id = v_user_text::uuid and deleted_at is null;
      if v_profile.id is null then
        v_errors := v_errors || private.field_error(v_field || '.user_id', 'no such user');
        continue;
      end if;
      if v_profile.email is null then
        v_errors := v_errors || private.field_error(v_field || '.user_id', 'this user has no e-mail address');
        continue;
      end if;
      if coalesce(v_email, '') <> '' and v_email <> v_profile.email then
        v_errors := v_errors || private.field_error(v_field || '.email', 'does not match the user''s e-mail');
        continue;
      end if;
      v_email := v_profile.email;
    else
      if char_length(v_email) > 320
         or v_email !~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$' then
        v_errors := v_errors || private.field_error(v_field || '.email', 'is not a valid e-mail address');
        continue;
      end if;
      select * into v_profile from public.profiles
      where email = v_email and deleted_at is null;
    end if;
    v_user_id := v_profile.id;

    if v_user_id = p_organizer_id then
      continue;
    end if;
    if v_seen ? v_email then
      v_errors := v_errors || private.field_error(v_field,
        format('duplicate of attendees[%s]', v_seen ->> v_email));
      continue;
    end if;
    v_seen := v_seen || jsonb_build_object(v_email, v_index);
    v_out := v_out || jsonb_build_object(
      'email', v_email,
      'user_id', v_user_id,
      'role', v_role,
      'display_name', case when v_name = '' then coalesce(v_profile.display_name, '') else v_name end
    );
  end loop;

  return jsonb_build_object('attendees', v_out, 'errors', v_errors);
end
$$;

-- One expression, not a query, and no SET clause, like field_error: inlined
-- into the caller's assignment it is evaluated without starting an executor,
-- which a query here did on every booking.
create function private.text_field_errors(
  p_title text, p_description text, p_location text
) returns jsonb
language sql
stable
as $$
  select case when p_title is null or pg_catalog.btrim(p_title) = ''
              then pg_catalog.jsonb_build_array(private.field_error('title', 'is required'))
              else '[]'::jsonb end
      || case when pg_catalog.char_length(p_title) > 300
              then pg_catalog.jsonb_build_array(private.field_error('title', 'at most 300 characters'))
              else '[]'::jsonb end
      || case when pg_catalog.char_length(p_description) > 10000
              then pg_catalog.jsonb_build_array(private.field_error('description', 'at most 10000 characters'))
              else '[]'::jsonb end
      || case when pg_catalog.char_length(p_location) > 1000
              then pg_catalog.jsonb_build_array(private.field_error('location', 'at most 1000 characters'))
              else '[]'::jsonb end;
$$;

-- Serialise bookings per person: one advisory lock per user, always taken in
-- the same order, so two transactions can never wait on each other in a cycle.
create function private.lock_users(p_user_ids uuid[]) returns void
language plpgsql
set search_path = ''
as $$
begin
  perform pg_catalog.pg_advisory_xact_lock(k)
  from (
    select distinct pg_catalog.hashtextextended(u::text, 7301) as k
    from unnest(p_user_ids) as u
    where u is not null
    order by 1
  ) keys;
end
$$;

-- Active busy rows that a meeting at [p_start, p_end) would overlap, padded by
-- each user's buffers. A conflicting meeting is named only if the caller may
-- see it; otherwise only the user and the busy range are given.
--
-- One query per person (usually only the organiser). A single query over the
-- whole array (p.id = any (p_user_ids)) was planned again on every call: its
-- generic plan has to guess how many people the array holds and always lost
-- to a custom plan, so every booking paid the planner. With one user id the
-- plan does not depend on the values and plpgsql keeps its generic plan.
create function private.find_conflicts(
  p_user_ids uuid[],
  p_start timestamptz,
  p_end timestamptz,
  p_exclude_meeting_id uuid default null,
  p_all_day boolean default false
) returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v_user uuid;
  v_seen uuid[] := '{}'::uuid[];
  v_conflicts jsonb := '[]'::jsonb;
begin
  foreach v_user in array p_user_ids loop
    continue when v_user is null or v_user = any (v_seen);
    v_seen := v_seen || v_user;
    -- The padded range is computed per user first, so the busy rows are found
    -- by the gist index (user_id =, range &&), not by scanning the user's history.
    v_conflicts := v_conflicts || coalesce((
      select jsonb_agg(jsonb_build_object(
               'meeting_id', case when private.can_see_meeting(b.meeting_id) then b.meeting_id end,
               'user_id', b.user_id,
               'start', lower(b.range),
               'end', upper(b.range)
             ) order by lower(b.range))
      from public.profiles p
      cross join lateral private.buffers_for(p, p_all_day) f
      join private.busy_blocks b
        on b.user_id = p.id
       and b.active
       and b.range && private.busy_range(p_start, p_end, f.before, f.after)
      where p.id = v_user
        and b.meeting_id is distinct from p_exclude_meeting_id), '[]'::jsonb);
  end loop;
  if jsonb_array_length(v_conflicts) < 2 then
    return v_conflicts;
  end if;
  return (select jsonb_agg(c order by (c ->> 'start')::timestamptz, (c ->> 'user_id')::uuid)
          from jsonb_array_elements(v_conflicts) c);
end
$$;

create function private.raise_if_conflicts(p_conflicts jsonb) returns void
language plpgsql
set search_path = ''
as $$
declare
  v_first jsonb := p_conflicts -> 0;
begin
  if jsonb_array_length(p_conflicts) > 0 then
    perform private.raise_error(409, 'meeting_conflict',
      format('user %s is busy from %s to %s%s%s',
        v_first ->> 'user_id', v_first ->> 'start', v_first ->> 'end',
        case when v_first ->> 'meeting_id' is not null
             then ' (meeting ' || (v_first ->> 'meeting_id') || ')' else '' end,
        case when jsonb_array_length(p_conflicts) > 1
             then format(' and %s more conflict(s)', jsonb_array_length(p_conflicts) - 1) else '' end),
      jsonb_build_object('conflicts', p_conflicts));
  end if;
end
$$;

-- Minimum notice is a courtesy the attendee asked for; a direct booking that
-- ignores it is allowed but reported.
create function private.notice_warnings(
  p_user_ids uuid[], p_start timestamptz, p_now timestamptz
) returns jsonb
language plpgsql
stable
set search_path = ''
as $$
begin
  return (select coalesce(jsonb_agg(jsonb_build_object(
           'code', 'short_notice',
           'user_id', p.id,
           'message', format('%s asks for %s minutes notice', coalesce(nullif(p.display_name, ''), p.email),
                             p.minimum_notice_minutes)
         ) order by p.id), '[]'::jsonb)
  from public.profiles p
  where p.id = any (p_user_ids)
    and p.minimum_notice_minutes > 0
    and p_start < p_now + make_interval(mins => p.minimum_notice_minutes));
end
$$;

-- The meeting row, locked, if the caller may see it; PT404 otherwise.
create function private.lock_visible_meeting(p_meeting_id uuid) returns public.meetings
language plpgsql
set search_path = ''
as $$
declare
  v public.meetings;
begin
  if p_meeting_id is not null then
    select * into v from public.meetings where id = p_meeting_id for update;
  end if;
  if v.id is null or not private.can_see_meeting(v.id) then
    perform private.raise_error(404, 'meeting_not_found', 'meeting not found',
      jsonb_build_object('meeting_id', p_meeting_id));
  end if;
  return v;
end
$$;

create function private.require_organizer(p_meeting public.meetings, p_uid uuid) returns void
language plpgsql
set search_path = ''
as $$
begin
  if p_meeting.organizer_id <> p_uid then
    perform private.raise_error(403, 'not_organizer', 'only the organiser can change this meeting',
      jsonb_build_object('meeting_id', p_meeting.id));
  end if;
end
$$;

create function private.require_active_profile(p_uid uuid) returns public.profiles
language plpgsql
stable
set search_path = ''
as $$
declare
  v public.profiles;
begin
  select * into v from public.profiles where id = p_uid;
  if v.id is null or v.deleted_at is not null then
    perform private.raise_error(403, 'account_unavailable', 'your account has no active profile');
  end if;
  if v.email is null then
    perform private.raise_error(422, 'organizer_email_missing',
      'your account has no e-mail address; attendees could not be told about the meeting');
  end if;
  return v;
end
$$;

create function private.request_hash(p_request jsonb) returns text
language sql
immutable
set search_path = ''
as $$
  select encode(extensions.digest(p_request::text, 'sha256'), 'hex');
$$;

-- Public RPCs ----------------------------------------------------------------

create function public.book_meeting(
  p_title text,
  p_start timestamptz default null,
  p_end timestamptz default null,
  p_time_zone text default null,
  p_attendees jsonb default '[]'::jsonb,
  p_description text default '',
  p_location text default '',
  p_all_day boolean default false,
  p_start_date date default null,
  p_end_date date default null,
  p_idempotency_key text default null,
  p_now timestamptz default null
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := private.require_user();
  v_now timestamptz := private.effective_now(p_now);
  v_org public.profiles := private.require_active_profile(v_uid);
  v_times private.meeting_times;
  v_att jsonb;
  v_errors jsonb;
  v_users uuid[];
  v_hash text;
  v_existing public.meetings;
  v_meeting_id uuid;
  v_conflicts jsonb;
begin
  v_times := private.normalize_times(p_start, p_end, coalesce(p_time_zone, v_org.time_zone),
                                     p_all_day, p_start_date, p_end_date, v_now);
  v_att := private.normalize_attendees(p_attendees, v_uid);
  v_errors := private.text_field_errors(p_title, p_description, p_location)
              || v_times.errors || (v_att -> 'errors');
  if p_idempotency_key is not null and char_length(p_idempotency_key) not between 1 and 200 then
    v_errors := v_errors || private.field_error('idempotency_key', 'must be 1 to 200 characters');
  end if;
  if jsonb_array_length(v_errors) > 0 and p_idempotency_key is null then
    perform private.raise_if_invalid(v_errors);
  end if;

  if jsonb_array_length(v_att -> 'attendees') = 0 then
    v_users := array[v_uid];
  else
    v_users := array(select v_uid union
                     select (a ->> 'user_id')::uuid from jsonb_array_elements(v_att -> 'attendees') a
                     where a ->> 'user_id' is not null);
  end if;
  perform private.lock_users(v_users);

  if p_idempotency_key is not null then
    v_hash := private.request_hash(jsonb_build_object(
      'title', p_title, 'description', coalesce(p_description, ''), 'location', coalesce(p_location, ''),
      'start', v_times.start_at, 'end', v_times.end_at, 'time_zone', v_times.time_zone,
      'all_day', v_times.all_day,
      'attendees', (select coalesce(jsonb_agg(a order by a ->> 'email'), '[]'::jsonb)
                    from jsonb_array_elements(v_att -> 'attendees') a)));
    select * into v_existing from public.meetings
    where organizer_id = v_uid and idempotency_key = p_idempotency_key;
    if v_existing.id is not null then
      if v_existing.request_hash <> v_hash then
        perform private.raise_error(422, 'idempotency_key_reused',
          'idempotency_key was already used for a different request',
          jsonb_build_object('meeting_id', v_existing.id, 'errors', jsonb_build_array(
            private.field_error('idempotency_key', 'was already used for a different request'))));
      end if;
      return private.meeting_json(v_existing.id)
             || jsonb_build_object('replayed', true, 'warnings', '[]'::jsonb);
    end if;
    perform private.raise_if_invalid(v_errors);
  end if;

  v_conflicts := private.find_conflicts(v_users, v_times.start_at, v_times.end_at, null, v_times.all_day);
  if jsonb_array_length(v_conflicts) > 0 then
    perform private.raise_if_conflicts(v_conflicts);
  end if;

  begin
    insert into public.meetings (organizer_id, title, description, location, start_at, end_at,
                                 time_zone, all_day, start_date, end_date, idempotency_key,
                                 request_hash)
    values (v_uid, btrim(p_title), coalesce(p_description, ''), coalesce(p_location, ''),
            v_times.start_at, v_times.end_at, v_times.time_zone, v_times.all_day,
            case when v_times.all_day then v_times.start_date end,
            case when v_times.all_day then v_times.end_date end,
            p_idempotency_key, v_hash)
    returning id into v_meeting_id;

    insert into public.attendees (meeting_id, user_id, email, display_name, role, response_status,
                                  responded_at)
    select v_meeting_id, x.user_id, x.email, x.display_name, x.role, x.response_status, x.responded_at
    from (
      select v_uid as user_id, v_org.email as email, v_org.display_name as display_name,
             'organizer' as role, 'accepted' as response_status, now() as responded_at
      union all
      select (a ->> 'user_id')::uuid, a ->> 'email', a ->> 'display_name', a ->> 'role',
             'needs_action', null::timestamptz
      from jsonb_array_elements(v_att -> 'attendees') a
    ) x
    order by x.user_id nulls last, x.email;
  exception when exclusion_violation then
    v_conflicts := private.find_conflicts(v_users, v_times.start_at, v_times.end_at, null, v_times.all_day);
    perform private.raise_if_conflicts(v_conflicts);
    raise;
  end;

  perform private.enqueue_meeting_notice(v_meeting_id, 'confirmation');

  return private.meeting_json(v_meeting_id)
         || jsonb_build_object('replayed', false,
                               'warnings', case when cardinality(v_users) > 1
                                 then private.notice_warnings(array_remove(v_users, v_uid),
                                                              v_times.start_at, v_now)
                                 else '[]'::jsonb end);
end
$$;
comment on function public.book_meeting is
  'Book a meeting for the signed-in organiser. PT409 names conflicting meetings; PT422 names bad fields.';

create function public.update_meeting(
  p_meeting_id uuid,
  p_version integer,
  p_title text default null,
  p_description text default null,
  p_location text default null,
  p_start timestamptz default null,
  p_end timestamptz default null,
  p_time_zone text default null,
  p_all_day boolean default null,
  p_start_date date default null,
  p_end_date date default null,
  p_attendees jsonb default null,
  p_now timestamptz default null
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := private.require_user();
  v_now timestamptz := private.effective_now(p_now);
  m public.meetings;
  v_times private.meeting_times;
  v_time_given boolean;
  v_all_day boolean;
  v_start timestamptz;
  v_end timestamptz;
  v_start_date date;
  v_end_date date;
  v_att jsonb;
  v_errors jsonb;
  v_new_title text;
  v_new_description text;
  v_new_location text;
  v_time_changed boolean;
  v_details_changed boolean;
  v_added text[];
  v_removed text[];
  v_changed_roles integer;
  v_users uuid[];
  v_conflicts jsonb;
  v_warnings jsonb := '[]'::jsonb;
begin
  m := private.lock_visible_meeting(p_meeting_id);
  perform private.require_organizer(m, v_uid);
  perform private.require_active_profile(v_uid);
  if p_version is null then
    perform private.raise_error(428, 'version_required',
      'the meeting version you last read is required (If-Match)',
      jsonb_build_object('current_version', m.version));
  end if;
  if p_version <> m.version then
    perform private.raise_error(412, 'version_mismatch', 'version mismatch',
      jsonb_build_object('meeting_id', m.id, 'expected_version', p_version,
                         'current_version', m.version));
  end if;
  if m.status = 'cancelled' then
    perform private.raise_error(409, 'meeting_cancelled', 'meeting is cancelled',
      jsonb_build_object('meeting_id', m.id));
  end if;
  if m.end_at <= v_now then
    perform private.raise_error(422, 'meeting_ended', 'meeting has already ended',
      jsonb_build_object('meeting_id', m.id));
  end if;

  -- Time: fields not given keep their value; a new start without an end keeps
  -- the duration.
  v_time_given := coalesce(p_start, p_end) is not null or coalesce(p_start_date, p_end_date) is not null
                  or p_time_zone is not null or p_all_day is not null;
  v_all_day := coalesce(p_all_day, m.all_day);
  if v_all_day then
    v_start_date := coalesce(p_start_date,
      case when p_start is null then coalesce(m.start_date, (m.start_at at time zone coalesce(p_time_zone, m.time_zone))::date) end);
    v_end_date := coalesce(p_end_date,
      case when p_end is null and v_start_date is not null and m.all_day
           then v_start_date + (m.end_date - m.start_date) end);
    v_start := p_start;
    v_end := p_end;
  else
    v_start := coalesce(p_start, case when m.all_day then null else m.start_at end);
    v_end := coalesce(p_end,
      case when m.all_day then null
           when p_start is not null then p_start + (m.end_at - m.start_at)
           else m.end_at end);
  end if;
  v_times := private.normalize_times(v_start, v_end, coalesce(p_time_zone, m.time_zone), v_all_day,
                                     v_start_date, v_end_date, v_now);
  v_time_changed := v_time_given and (v_times.start_at is distinct from m.start_at
                                      or v_times.end_at is distinct from m.end_at
                                      or v_times.all_day is distinct from m.all_day
                                      or v_times.time_zone is distinct from m.time_zone);

  v_new_title := coalesce(p_title, m.title);
  v_new_description := coalesce(p_description, m.description);
  v_new_location := coalesce(p_location, m.location);
  v_errors := private.text_field_errors(v_new_title, v_new_description, v_new_location);
  if v_time_changed then
    v_errors := v_errors || v_times.errors;
    if m.start_at <= v_now then
      v_errors := v_errors || private.field_error('start', 'the meeting has started; its time can no longer change');
    end if;
  end if;
  if p_attendees is not null then
    v_att := private.normalize_attendees(p_attendees, v_uid);
    v_errors := v_errors || (v_att -> 'errors');
  end if;
  perform private.raise_if_invalid(v_errors);
  if not v_time_changed then
    v_times.start_at := m.start_at;
    v_times.end_at := m.end_at;
  end if;

  -- Attendee changes (replace semantics: the list given is the new list).
  if p_attendees is not null then
    select array_agg(n ->> 'email') into v_added
    from jsonb_array_elements(v_att -> 'attendees') n
    where not exists (select 1 from public.attendees a where a.meeting_id = m.id and a.email = n ->> 'email');
    select array_agg(a.email) into v_removed
    from public.attendees a
    where a.meeting_id = m.id and a.role <> 'organizer'
      and not exists (select 1 from jsonb_array_elements(v_att -> 'attendees') n where n ->> 'email' = a.email);
  end if;

  v_details_changed := v_new_title is distinct from m.title
                       or v_new_description is distinct from m.description
                       or v_new_location is distinct from m.location;
  select count(*) into v_changed_roles
  from jsonb_array_elements(coalesce(v_att -> 'attendees', '[]'::jsonb)) n
  join public.attendees a on a.meeting_id = m.id and a.email = n ->> 'email'
  where a.role <> n ->> 'role' or (n ->> 'display_name' <> '' and a.display_name <> n ->> 'display_name');

  if not v_time_changed and not v_details_changed and v_added is null and v_removed is null
     and v_changed_roles = 0 then
    return private.meeting_json(m.id) || jsonb_build_object('warnings', '[]'::jsonb);
  end if;

  -- Everyone who will be busy, plus anyone released, locked in global order.
  v_users := array(
    select a.user_id from public.attendees a where a.meeting_id = m.id and a.user_id is not null
    union
    select (n ->> 'user_id')::uuid from jsonb_array_elements(coalesce(v_att -> 'attendees', '[]'::jsonb)) n
    where n ->> 'user_id' is not null);
  perform private.lock_users(v_users);

  if v_removed is not null then
    perform private.cancel_pending_notices(m.id, array['confirmation', 'update', 'reschedule'], v_removed);
    perform private.enqueue_meeting_notice(m.id, 'cancellation', v_removed,
      jsonb_build_object('reason', 'removed from the meeting'));
    delete from public.attendees where meeting_id = m.id and email = any (v_removed);
  end if;

  -- The final set of internal attendees must be free at the final time.
  v_users := array(
    select v_uid
    union
    select (n ->> 'user_id')::uuid from jsonb_array_elements(
      coalesce(v_att -> 'attendees',
               (select jsonb_agg(jsonb_build_object('user_id', a.user_id)) from public.attendees a
                where a.meeting_id = m.id and a.role <> 'organizer' and a.response_status <> 'declined'),
               '[]'::jsonb)) n
    where n ->> 'user_id' is not null
      and not exists (select 1 from public.attendees d where d.meeting_id = m.id
                      and d.user_id = (n ->> 'user_id')::uuid and d.response_status = 'declined'));
  -- A move re-checks everyone (their rows are re-padded with current
  -- buffers); adding people at the same time checks only the newcomers, so an
  -- existing attendee whose buffers grew since is not refused for nothing.
  if v_time_changed then
    v_conflicts := private.find_conflicts(v_users, v_times.start_at, v_times.end_at, m.id, v_times.all_day);
    perform private.raise_if_conflicts(v_conflicts);
  elsif v_added is not null then
    v_conflicts := private.find_conflicts(
      array(select (n ->> 'user_id')::uuid from jsonb_array_elements(v_att -> 'attendees') n
            where n ->> 'user_id' is not null and n ->> 'email' = any (v_added)),
      v_times.start_at, v_times.end_at, m.id, v_times.all_day);
    perform private.raise_if_conflicts(v_conflicts);
  end if;

  begin
    update public.meetings
    set title = btrim(v_new_title),
        description = v_new_description,
        location = v_new_location,
        start_at = v_times.start_at,
        end_at = v_times.end_at,
        time_zone = case when v_time_changed then v_times.time_zone else time_zone end,
        all_day = case when v_time_changed then v_times.all_day else all_day end,
        start_date = case when v_time_changed then
                       case when v_times.all_day then v_times.start_date end else start_date end,
        end_date = case when v_time_changed then
                     case when v_times.all_day then v_times.end_date end else end_date end,
        version = version + 1
    where id = m.id;

    if p_attendees is not null then
      update public.attendees a
      set role = n ->> 'role',
          display_name = case when n ->> 'display_name' <> '' then n ->> 'display_name' else a.display_name end
      from jsonb_array_elements(v_att -> 'attendees') n
      where a.meeting_id = m.id and a.email = n ->> 'email'
        and (a.role <> n ->> 'role' or (n ->> 'display_name' <> '' and a.display_name <> n ->> 'display_name'));

      insert into public.attendees (meeting_id, user_id, email, display_name, role)
      select m.id, (n ->> 'user_id')::uuid, n ->> 'email', n ->> 'display_name', n ->> 'role'
      from jsonb_array_elements(v_att -> 'attendees') n
      where n ->> 'email' = any (coalesce(v_added, '{}'))
      order by (n ->> 'user_id')::uuid nulls last, n ->> 'email';
    end if;
  exception when exclusion_violation then
    v_conflicts := private.find_conflicts(v_users, v_times.start_at, v_times.end_at, m.id, v_times.all_day);
    perform private.raise_if_conflicts(v_conflicts);
    raise;
  end;

  -- A newer notice supersedes an unsent older one of the same kind.
  if v_time_changed then
    perform private.cancel_pending_notices(m.id, array['update', 'reschedule']);
    perform private.enqueue_meeting_notice(m.id, 'reschedule',
      (select array_agg(a.email) from public.attendees a
       where a.meeting_id = m.id and a.email <> all (coalesce(v_added, '{}'))),
      jsonb_build_object('previous_start', m.start_at, 'previous_end', m.end_at,
                         'previous_time_zone', m.time_zone, 'previous_all_day', m.all_day));
  elsif v_details_changed then
    perform private.cancel_pending_notices(m.id, array['update']);
    perform private.enqueue_meeting_notice(m.id, 'update',
      (select array_agg(a.email) from public.attendees a
       where a.meeting_id = m.id and a.role <> 'organizer' and a.email <> all (coalesce(v_added, '{}'))));
  end if;
  if v_added is not null then
    perform private.enqueue_meeting_notice(m.id, 'confirmation', v_added);
  end if;

  if v_time_changed or v_added is not null then
    v_warnings := private.notice_warnings(array_remove(v_users, v_uid), v_times.start_at, v_now);
  end if;
  return private.meeting_json(m.id) || jsonb_build_object('warnings', v_warnings);
end
$$;
comment on function public.update_meeting is
  'Change a meeting (organiser only). p_version must be the version last read (412 otherwise); '
  'omitted fields keep their value; p_attendees replaces the attendee list.';

create function public.reschedule_meeting(
  p_meeting_id uuid,
  p_version integer,
  p_start timestamptz default null,
  p_end timestamptz default null,
  p_time_zone text default null,
  p_all_day boolean default null,
  p_start_date date default null,
  p_end_date date default null,
  p_now timestamptz default null
) returns jsonb
language sql
security definer
set search_path = ''
as $$
  select public.update_meeting(
    p_meeting_id => p_meeting_id, p_version => p_version, p_start => p_start, p_end => p_end,
    p_time_zone => p_time_zone, p_all_day => p_all_day, p_start_date => p_start_date,
    p_end_date => p_end_date, p_now => p_now);
$$;
comment on function public.reschedule_meeting is
  'Move a meeting (organiser only) with optimistic locking: a stale p_version is refused with PT412.';

create function public.cancel_meeting(
  p_meeting_id uuid,
  p_reason text default null,
  p_version integer default null,
  p_now timestamptz default null
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := private.require_user();
  v_now timestamptz := private.effective_now(p_now);
  m public.meetings;
begin
  m := private.lock_visible_meeting(p_meeting_id);
  perform private.require_organizer(m, v_uid);
  if p_version is not null and p_version <> m.version and m.status <> 'cancelled' then
    perform private.raise_error(412, 'version_mismatch', 'version mismatch',
      jsonb_build_object('meeting_id', m.id, 'expected_version', p_version,
                         'current_version', m.version));
  end if;
  -- Cancelling twice is not an error: a retried DELETE gets the same answer.
  if m.status = 'cancelled' then
    return private.meeting_json(m.id);
  end if;
  if char_length(p_reason) > 1000 then
    perform private.raise_if_invalid(jsonb_build_array(
      private.field_error('reason', 'at most 1000 characters')));
  end if;
  if m.end_at <= v_now then
    perform private.raise_error(422, 'meeting_ended', 'meeting has already ended',
      jsonb_build_object('meeting_id', m.id));
  end if;

  update public.meetings
  set status = 'cancelled',
      cancelled_at = now(),
      cancelled_by = v_uid,
      cancel_reason = nullif(btrim(p_reason), ''),
      version = version + 1
  where id = m.id;

  perform private.cancel_pending_notices(m.id, array['confirmation', 'update', 'reschedule']);
  perform private.enqueue_meeting_notice(m.id, 'cancellation', null,
    jsonb_build_object('reason', nullif(btrim(p_reason), '')));
  return private.meeting_json(m.id);
end
$$;
comment on function public.cancel_meeting is
  'Cancel a meeting (organiser only): soft delete, busy time released at once, every attendee notified.';

create function public.respond_to_meeting(
  p_meeting_id uuid,
  p_response text,
  p_now timestamptz default null
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := private.require_user();
  v_now timestamptz := private.effective_now(p_now);
  m public.meetings;
  a public.attendees;
begin
  m := private.lock_visible_meeting(p_meeting_id);
  select * into a from public.attendees where meeting_id = m.id and user_id = v_uid;
  if a.id is null then
    perform private.raise_error(404, 'meeting_not_found', 'meeting not found',
      jsonb_build_object('meeting_id', p_meeting_id));
  end if;
  if a.role = 'organizer' then
    perform private.raise_error(422, 'organizer_cannot_respond',
      'the organiser does not respond to their own meeting',
      jsonb_build_object('errors', jsonb_build_array(
        private.field_error('response', 'the organiser does not respond to their own meeting'))));
  end if;
  if p_response is null or p_response not in ('accepted', 'declined', 'tentative') then
    perform private.raise_if_invalid(jsonb_build_array(
      private.field_error('response', 'must be accepted, declined or tentative')));
  end if;
  if m.status = 'cancelled' then
    perform private.raise_error(409, 'meeting_cancelled', 'meeting is cancelled',
      jsonb_build_object('meeting_id', m.id));
  end if;
  if m.end_at <= v_now then
    perform private.raise_error(422, 'meeting_ended', 'meeting has already ended',
      jsonb_build_object('meeting_id', m.id));
  end if;
  if a.response_status = p_response then
    return private.meeting_json(m.id);
  end if;

  -- Declining frees the time; accepting again takes it back, if still free.
  if a.response_status = 'declined' then
    perform private.lock_users(array[v_uid]);
    perform private.raise_if_conflicts(
      private.find_conflicts(array[v_uid], m.start_at, m.end_at, m.id, m.all_day));
  end if;
  begin
    update public.attendees
    set response_status = p_response, responded_at = now()
    where id = a.id;
  exception when exclusion_violation then
    perform private.raise_if_conflicts(
      private.find_conflicts(array[v_uid], m.start_at, m.end_at, m.id, m.all_day));
    raise;
  end;
  return private.meeting_json(m.id);
end
$$;
comment on function public.respond_to_meeting is
  'RSVP as an attendee: accepted, declined (frees your time) or tentative.';

create function public.get_meeting(p_meeting_id uuid) returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v jsonb;
begin
  -- RLS decides: a meeting the caller may not see does not exist for them.
  select private.meeting_json(m.id) into v from public.meetings m where m.id = p_meeting_id;
  if v is null then
    perform private.raise_error(404, 'meeting_not_found', 'meeting not found',
      jsonb_build_object('meeting_id', p_meeting_id));
  end if;
  return v;
end
$$;

create function public.get_meeting_history(p_meeting_id uuid) returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform private.require_user();
  if not private.can_see_meeting(p_meeting_id) then
    perform private.raise_error(404, 'meeting_not_found', 'meeting not found',
      jsonb_build_object('meeting_id', p_meeting_id));
  end if;
  return coalesce((
    select jsonb_agg(jsonb_build_object(
             'at', l.occurred_at,
             'actor_id', l.actor_id,
             'actor_role', l.actor_role,
             'table', l.table_name,
             'record_id', l.record_id,
             'action', l.action,
             'old', l.old_values,
             'new', l.new_values
           ) order by l.id)
    from private.audit_log l
    where l.meeting_id = p_meeting_id
  ), '[]'::jsonb);
end
$$;
comment on function public.get_meeting_history is
  'The audit trail of a meeting and its attendees, for its participants.';

-- Grants ---------------------------------------------------------------------

grant execute on function
  public.book_meeting(text, timestamptz, timestamptz, text, jsonb, text, text, boolean, date, date, text, timestamptz),
  public.update_meeting(uuid, integer, text, text, text, timestamptz, timestamptz, text, boolean, date, date, jsonb, timestamptz),
  public.reschedule_meeting(uuid, integer, timestamptz, timestamptz, text, boolean, date, date, timestamptz),
  public.cancel_meeting(uuid, text, integer, timestamptz),
  public.respond_to_meeting(uuid, text, timestamptz),
  public.get_meeting(uuid),
  public.get_meeting_history(uuid)
  to authenticated;
-- get_meeting is security invoker and builds its answer, or its 404, with these.
grant execute on function private.meeting_json(uuid), private.raise_error(integer, text, text, jsonb)
  to authenticated;
