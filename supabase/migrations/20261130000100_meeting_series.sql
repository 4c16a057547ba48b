-- Recurring meetings. A series carries an RRULE in its own time zone; its
-- occurrences are materialised as ordinary meetings up to a horizon (a year
-- ahead by default), so every occurrence is guarded by the EXCLUDE constraint
-- like any meeting, shows in availability, gets its own reminders and can be
-- edited or cancelled on its own (RECURRENCE-ID semantics: an occurrence keeps
-- the local start it was generated for in `recurrence_id`).
--
-- Booking a series checks every occurrence in the horizon for conflicts in one
-- set-based query (not only the first few, as some schedulers do): a conflict
-- on any of them is a PT409 listing every conflicting occurrence, or, when the
-- caller asks for it, those dates are skipped (and recorded as EXDATEs) and the
-- answer says which. A pg_cron job extends the horizon day by day; a conflict
-- met while extending is recorded and the organiser is told, never dropped.

-- Types and tables -------------------------------------------------------------

alter table private.settings
  add column series_horizon_days integer not null default 365
    check (series_horizon_days between 7 and 1100),
  add column max_series_occurrences integer not null default 1000
    check (max_series_occurrences between 1 and 5000);

create table public.meeting_series (
  id uuid primary key default private.uuid_v7(),
  organizer_id uuid not null references public.profiles (id),
  rrule text not null check (char_length(rrule) between 1 and 1000),
  time_zone text not null,
  -- DTSTART: the first occurrence's local wall-clock start (midnight for
  -- all-day series) and how long each occurrence lasts.
  first_start_local timestamp not null,
  duration interval not null check (duration > interval '0'),
  all_day boolean not null default false,
  -- Local starts left out: skipped conflicts and cancelled single occurrences.
  exdates timestamp[] not null default '{}',
  -- What new occurrences are made of when the horizon moves on.
  title text not null check (char_length(title) between 1 and 300),
  description text not null default '' check (char_length(description) <= 10000),
  location text not null default '' check (char_length(location) <= 1000),
  attendees jsonb not null default '[]'::jsonb check (jsonb_typeof(attendees) = 'array'),
  horizon_until timestamptz not null,
  status text not null default 'active' check (status in ('active', 'cancelled')),
  version integer not null default 1 check (version >= 1),
  idempotency_key text check (char_length(idempotency_key) between 1 and 200),
  request_hash text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  cancelled_at timestamptz,
  constraint meeting_series_cancellation_recorded check ((status = 'cancelled') = (cancelled_at is not null)),
  constraint meeting_series_idempotency_key_per_organizer unique (organizer_id, idempotency_key)
);
comment on table public.meeting_series is
  'A recurring meeting: its RRULE, time zone and template; occurrences are rows of public.meetings.';

alter table public.meetings
  add column series_id uuid references public.meeting_series (id),
  add column recurrence_id timestamp,
  add column occurrence_index integer,
  -- An occurrence edited on its own keeps its changes when the series is edited.
  add column detached boolean not null default false,
  add constraint meetings_occurrence_identity
    check ((series_id is null) = (recurrence_id is null) and (series_id is null) = (occurrence_index is null)),
  add constraint meetings_one_per_recurrence unique (series_id, recurrence_id);

-- Conflicts met while extending a series' horizon: the occurrence was not
-- booked, the organiser is told.
create table private.series_conflicts (
  id bigint generated always as identity primary key,
  series_id uuid not null references public.meeting_series (id),
  recurrence_id timestamp not null,
  occurrence_start timestamptz not null,
  occurrence_end timestamptz not null,
  conflicts jsonb not null,
  detected_at timestamptz not null default now(),
  constraint series_conflicts_once unique (series_id, recurrence_id)
);

-- Indexes ----------------------------------------------------------------------

create index meeting_series_organizer_idx on public.meeting_series (organizer_id);
create index meeting_series_horizon_idx on public.meeting_series (horizon_until) where status = 'active';
-- The unique (series_id, recurrence_id) serves the series foreign key.

-- Triggers ---------------------------------------------------------------------

create trigger meeting_series_touch before update on public.meeting_series
  for each row execute function private.touch_updated_at();

-- RLS --------------------------------------------------------------------------

alter table public.meeting_series enable row level security;
alter table private.series_conflicts enable row level security;

create function private.visible_series_ids() returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
  select s.id from public.meeting_series s where s.organizer_id = (select auth.uid())
  union
  select m.series_id from public.meetings m
  join public.attendees a on a.meeting_id = m.id
  where a.user_id = (select auth.uid()) and m.series_id is not null;
$$;

create policy "Organisers and attendees can read a series" on public.meeting_series
  for select to authenticated
  using (organizer_id = (select auth.uid()) or id in (select private.visible_series_ids()));

-- Internal functions -----------------------------------------------------------

-- Rewrite an RRULE's end: drop COUNT and UNTIL, then end it as given.
create function private.rrule_with_end(p_rrule text, p_until timestamptz, p_count integer)
returns text
language sql
immutable
set search_path = ''
as $$
  select array_to_string(
    array(select part from unnest(string_to_array(regexp_replace(upper(btrim(p_rrule)), '^RRULE:', ''), ';')) part
          where part <> '' and part !~ '^(COUNT|UNTIL)=')
    || case when p_until is not null
            then array['UNTIL=' || to_char(p_until at time zone 'UTC', 'YYYYMMDD"T"HH24MISS"Z"')]
            else '{}'::text[] end
    || case when p_count is not null then array['COUNT=' || p_count] else '{}'::text[] end,
    ';');
$$;

-- A series' occurrences up to p_window_end: index, local start (its
-- RECURRENCE-ID), and the instants; all-day occurrences span whole local days.
create function private.series_occurrences(p_series public.meeting_series, p_window_end timestamptz)
returns table (occurrence_index integer, recurrence_id timestamp, start_at timestamptz, end_at timestamptz,
               start_date date, end_date date)
language plpgsql
stable
set search_path = ''
as $$
begin
  return query
  select e.occurrence_index, e.local_start,
         case when p_series.all_day then private.local_to_instant(e.local_start::date::timestamp, p_series.time_zone)
              else e.start_at end,
         case when p_series.all_day
              then private.local_to_instant((e.local_start::date + extract(day from p_series.duration)::integer)::timestamp,
                                            p_series.time_zone)
              else e.start_at + p_series.duration end,
         case when p_series.all_day then e.local_start::date end,
         case when p_series.all_day then e.local_start::date + extract(day from p_series.duration)::integer end
  from private.expand_rrule(private.parse_rrule(p_series.rrule, p_series.time_zone), p_series.first_start_local,
                            p_series.time_zone, p_window_end, p_series.exdates,
                            (select max_series_occurrences from private.settings)) e;
end
$$;

-- Every (occurrence, busy row) overlap for the given people, in one query: the
-- occurrences' ranges padded by each person's buffers against the gist index.
-- Meetings of p_exclude_series are ignored (a series never conflicts with
-- itself when it is moved). Shaped like find_conflicts' answer plus the
-- occurrence it is about.
create function private.occurrence_conflicts(
  p_user_ids uuid[],
  p_indexes integer[],
  p_starts timestamptz[],
  p_ends timestamptz[],
  p_all_day boolean,
  p_exclude_series uuid default null
) returns jsonb
language plpgsql
stable
set search_path = ''
as $$
begin
  return (
    select coalesce(jsonb_agg(jsonb_build_object(
             'occurrence_index', o.idx,
             'occurrence_start', o.s,
             'occurrence_end', o.e,
             'meeting_id', case when private.can_see_meeting(b.meeting_id) then b.meeting_id end,
             'user_id', b.user_id,
             'start', lower(b.range),
             'end', upper(b.range)
           ) order by o.idx, b.user_id, lower(b.range)), '[]'::jsonb)
    from unnest(p_indexes, p_starts, p_ends) as o(idx, s, e)
    cross join public.profiles p
    cross join lateral private.buffers_for(p, p_all_day) f
    join private.busy_blocks b
      on b.user_id = p.id
     and b.active
     and b.range && private.busy_range(o.s, o.e, f.before, f.after)
    left join public.meetings bm on bm.id = b.meeting_id
    where p.id = any (p_user_ids)
      and (p_exclude_series is null or bm.series_id is distinct from p_exclude_series)
  );
end
$$;

-- Occurrences of one series that would overlap each other (a 23-hour daily
-- meeting with buffers, say) cannot all be booked by anyone.
create function private.self_overlap_error(
  p_user_ids uuid[], p_starts timestamptz[], p_ends timestamptz[], p_all_day boolean
) returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v_pad interval;
begin
  select coalesce(max(make_interval(mins => f.before + f.after)), interval '0')
    into v_pad
  from public.profiles p cross join lateral private.buffers_for(p, p_all_day) f
  where p.id = any (p_user_ids);
  if exists (
    select 1 from (
      select s, e, lead(s) over (order by s) as next_s from unnest(p_starts, p_ends) as o(s, e)
    ) x
    where x.next_s is not null and x.next_s < x.e + v_pad
  ) then
    return jsonb_build_array(private.field_error('recurrence',
      'occurrences would overlap each other (including buffers); make the meeting shorter or the interval longer'));
  end if;
  return '[]'::jsonb;
end
$$;

-- Write occurrences of a series as meetings with the series' attendees, two
-- set-based statements whatever their number. Returns the new meeting ids.
create function private.insert_occurrences(
  p_series public.meeting_series,
  p_indexes integer[],
  p_recurrence_ids timestamp[],
  p_starts timestamptz[],
  p_ends timestamptz[],
  p_start_dates date[],
  p_end_dates date[]
) returns uuid[]
language plpgsql
set search_path = ''
as $$
declare
  v_ids uuid[];
  v_org public.profiles;
begin
  select * into v_org from public.profiles where id = p_series.organizer_id;
  with inserted as (
    insert into public.meetings (organizer_id, title, description, location, start_at, end_at, time_zone,
                                 all_day, start_date, end_date, series_id, recurrence_id, occurrence_index)
    select p_series.organizer_id, p_series.title, p_series.description, p_series.location, o.s, o.e,
           p_series.time_zone, p_series.all_day,
           case when p_series.all_day then o.sd end, case when p_series.all_day then o.ed end,
           p_series.id, o.rid, o.idx
    from unnest(p_indexes, p_recurrence_ids, p_starts, p_ends, p_start_dates, p_end_dates)
      as o(idx, rid, s, e, sd, ed)
    order by o.s
    returning id
  )
  select array_agg(id) into v_ids from inserted;

  insert into public.attendees (meeting_id, user_id, email, display_name, role, response_status, responded_at)
  select m.id, x.user_id, x.email, x.display_name, x.role, x.response_status, x.responded_at
  from unnest(v_ids) as m(id)
  cross join (
    select v_org.id as user_id, v_org.email as email, v_org.display_name as display_name,
           'organizer' as role, 'accepted' as response_status, now() as responded_at
    union all
    select (a ->> 'user_id')::uuid, a ->> 'email', a ->> 'display_name', a ->> 'role', 'needs_action', null
    from jsonb_array_elements(p_series.attendees) a
  ) x
  order by x.user_id nulls last, m.id;
  return coalesce(v_ids, '{}');
end
$$;

create function private.series_json(p_series_id uuid) returns jsonb
language plpgsql
stable
set search_path = ''
as $$
begin
  return (
    select jsonb_build_object(
      'id', s.id,
      'organizer_id', s.organizer_id,
      'recurrence', s.rrule,
      'time_zone', s.time_zone,
      'first_start_local', s.first_start_local,
      'all_day', s.all_day,
      'exdates', to_jsonb(s.exdates),
      'title', s.title,
      'description', s.description,
      'location', s.location,
      'horizon_until', s.horizon_until,
      'status', s.status,
      'version', s.version,
      'created_at', s.created_at,
      'updated_at', s.updated_at
    )
    from public.meeting_series s where s.id = p_series_id);
end
$$;

-- The meeting as the API returns it, now with its place in a series.
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

-- The people whose time a series takes: the organiser and internal attendees.
create function private.series_user_ids(p_series public.meeting_series) returns uuid[]
language sql
immutable
set search_path = ''
as $$
  select array(select p_series.organizer_id
               union
               select (a ->> 'user_id')::uuid from jsonb_array_elements(p_series.attendees) a
               where a ->> 'user_id' is not null);
$$;

-- Materialise the occurrences of a series that start in (p_after, p_until]
-- and are not rows yet. p_mode 'fail': any conflict raises PT409 listing all;
-- 'skip': conflicting occurrences are left out and returned;
-- 'record': like skip, and each is recorded in private.series_conflicts
-- (horizon extension). Returns {created, skipped: [...]}.
create function private.materialize_series(
  p_series_id uuid,
  p_after timestamptz,
  p_until timestamptz,
  p_mode text
) returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  s public.meeting_series;
  v_users uuid[];
  v_idx integer[];
  v_rid timestamp[];
  v_start timestamptz[];
  v_end timestamptz[];
  v_sd date[];
  v_ed date[];
  v_conflicts jsonb;
  v_bad integer[];
  v_skipped jsonb := '[]'::jsonb;
  v_created uuid[];
begin
  select * into s from public.meeting_series where id = p_series_id for update;
  v_users := private.series_user_ids(s);
  perform private.lock_users(v_users);

  select array_agg(o.occurrence_index order by o.occurrence_index), array_agg(o.recurrence_id order by o.occurrence_index),
         array_agg(o.start_at order by o.occurrence_index), array_agg(o.end_at order by o.occurrence_index),
         array_agg(o.start_date order by o.occurrence_index), array_agg(o.end_date order by o.occurrence_index)
    into v_idx, v_rid, v_start, v_end, v_sd, v_ed
  from private.series_occurrences(s, p_until) o
  where o.start_at > p_after and o.start_at <= p_until
    and not exists (select 1 from public.meetings m where m.series_id = s.id and m.recurrence_id = o.recurrence_id);

  if v_idx is null then
    return jsonb_build_object('created', 0, 'skipped', '[]'::jsonb);
  end if;

  perform private.raise_if_invalid(private.self_overlap_error(v_users, v_start, v_end, s.all_day));
  v_conflicts := private.occurrence_conflicts(v_users, v_idx, v_start, v_end, s.all_day, s.id);
  if jsonb_array_length(v_conflicts) > 0 then
    if p_mode = 'fail' then
      perform private.raise_error(409, 'series_conflict',
        format('%s of %s occurrences conflict with existing meetings, the first on %s',
               (select count(distinct c ->> 'occurrence_index') from jsonb_array_elements(v_conflicts) c),
               cardinality(v_idx), v_conflicts -> 0 ->> 'occurrence_start'),
        jsonb_build_object('conflicts', v_conflicts));
    end if;
    v_bad := array(select distinct (c ->> 'occurrence_index')::integer from jsonb_array_elements(v_conflicts) c);
    select coalesce(jsonb_agg(jsonb_build_object(
             'occurrence_index', o.idx, 'start', o.s, 'end', o.e,
             'conflicts', (select jsonb_agg(c - 'occurrence_index' - 'occurrence_start' - 'occurrence_end')
                           from jsonb_array_elements(v_conflicts) c
                           where (c ->> 'occurrence_index')::integer = o.idx)) order by o.idx), '[]'::jsonb)
      into v_skipped
    from unnest(v_idx, v_start, v_end) as o(idx, s, e)
    where o.idx = any (v_bad);
    if p_mode = 'record' then
      insert into private.series_conflicts (series_id, recurrence_id, occurrence_start, occurrence_end, conflicts)
      select s.id, o.rid, o.s, o.e, (sk -> 'conflicts')
      from unnest(v_idx, v_rid, v_start, v_end) as o(idx, rid, s, e)
      join jsonb_array_elements(v_skipped) sk on (sk ->> 'occurrence_index')::integer = o.idx
      on conflict on constraint series_conflicts_once do nothing;
    else
      -- Skipped at booking time: recorded as EXDATEs, so the series says so.
      update public.meeting_series
      set exdates = exdates || array(select o.rid from unnest(v_idx, v_rid) as o(idx, rid) where o.idx = any (v_bad))
      where id = s.id;
    end if;
    select array_agg(o.idx), array_agg(o.rid), array_agg(o.s), array_agg(o.e), array_agg(o.sd), array_agg(o.ed)
      into v_idx, v_rid, v_start, v_end, v_sd, v_ed
    from unnest(v_idx, v_rid, v_start, v_end, v_sd, v_ed) as o(idx, rid, s, e, sd, ed)
    where not (o.idx = any (v_bad));
  end if;

  if v_idx is not null then
    begin
      v_created := private.insert_occurrences(s, v_idx, v_rid, v_start, v_end, v_sd, v_ed);
    exception when exclusion_violation then
      perform private.raise_error(409, 'series_conflict', 'an occurrence conflicts with a meeting booked meanwhile',
        jsonb_build_object('conflicts', private.occurrence_conflicts(v_users, v_idx, v_start, v_end, s.all_day, s.id)));
    end;
  end if;
  update public.meeting_series set horizon_until = greatest(horizon_until, p_until) where id = s.id;
  return jsonb_build_object('created', coalesce(cardinality(v_created), 0), 'skipped', v_skipped);
end
$$;

-- Notices ---------------------------------------------------------------------------

-- The organiser is told when the horizon moves on into someone's busy time.
alter table private.email_outbox drop constraint email_outbox_kind_check;
alter table private.email_outbox add constraint email_outbox_kind_check
  check (kind in ('confirmation', 'update', 'reschedule', 'cancellation', 'reminder_24h', 'reminder_1h',
                  'series_conflict'));

-- What the sender renders, now with the series an occurrence belongs to, so
-- invitations carry RRULE, EXDATE and RECURRENCE-ID (see email/ical.ts): the
-- series a notice is about is the payload's series_id when the notice covers
-- the series, else the meeting's own.
create or replace function private.email_message_json(p_outbox_id bigint) returns jsonb
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

-- Public RPCs --------------------------------------------------------------------

create function public.book_meeting_series(
  p_title text,
  p_recurrence text,
  p_start timestamptz default null,
  p_end timestamptz default null,
  p_time_zone text default null,
  p_attendees jsonb default '[]'::jsonb,
  p_description text default '',
  p_location text default '',
  p_all_day boolean default false,
  p_start_date date default null,
  p_end_date date default null,
  p_exdates timestamptz[] default '{}',
  p_on_conflict text default 'fail',
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
  v_settings private.settings;
  v_times private.meeting_times;
  v_att jsonb;
  v_errors jsonb;
  v_tz text;
  v_hash text;
  v_existing public.meeting_series;
  v_series_id uuid;
  v_result jsonb;
begin
  select * into v_settings from private.settings;
  v_tz := coalesce(p_time_zone, v_org.time_zone);
  v_times := private.normalize_times(p_start, p_end, v_tz, p_all_day, p_start_date, p_end_date, v_now);
  v_att := private.normalize_attendees(p_attendees, v_uid);
  v_errors := private.text_field_errors(p_title, p_description, p_location) || v_times.errors || (v_att -> 'errors');
  if p_on_conflict is null or p_on_conflict not in ('fail', 'skip') then
    v_errors := v_errors || private.field_error('on_conflict', 'must be fail or skip');
  end if;
  if p_idempotency_key is not null and char_length(p_idempotency_key) not between 1 and 200 then
    v_errors := v_errors || private.field_error('idempotency_key', 'must be 1 to 200 characters');
  end if;
  if cardinality(p_exdates) > 1000 then
    v_errors := v_errors || private.field_error('exdates', 'at most 1000 dates');
  end if;
  perform private.raise_if_invalid(v_errors);
  -- A bad rule is its own PT422, naming the part.
  perform private.parse_rrule(p_recurrence, v_tz);

  perform private.lock_users(array(select v_uid union
    select (a ->> 'user_id')::uuid from jsonb_array_elements(v_att -> 'attendees') a where a ->> 'user_id' is not null));

  if p_idempotency_key is not null then
    v_hash := private.request_hash(jsonb_build_object(
      'title', p_title, 'recurrence', upper(btrim(p_recurrence)), 'start', v_times.start_at, 'end', v_times.end_at,
      'time_zone', v_tz, 'all_day', v_times.all_day, 'description', coalesce(p_description, ''),
      'location', coalesce(p_location, ''), 'exdates', to_jsonb(p_exdates),
      'attendees', (select coalesce(jsonb_agg(a order by a ->> 'email'), '[]'::jsonb)
                    from jsonb_array_elements(v_att -> 'attendees') a)));
    select * into v_existing from public.meeting_series
    where organizer_id = v_uid and idempotency_key = p_idempotency_key;
    if v_existing.id is not null then
      if v_existing.request_hash <> v_hash then
        perform private.raise_error(422, 'idempotency_key_reused',
          'idempotency_key was already used for a different request',
          jsonb_build_object('series_id', v_existing.id, 'errors', jsonb_build_array(
            private.field_error('idempotency_key', 'was already used for a different request'))));
      end if;
      return jsonb_build_object('series', private.series_json(v_existing.id), 'replayed', true,
        'occurrences', (select coalesce(jsonb_agg(jsonb_build_object('id', m.id, 'start', m.start_at,
                          'end', m.end_at, 'recurrence_id', m.recurrence_id) order by m.start_at), '[]'::jsonb)
                        from public.meetings m where m.series_id = v_existing.id),
        'skipped', '[]'::jsonb);
    end if;
  end if;

  insert into public.meeting_series (organizer_id, rrule, time_zone, first_start_local, duration, all_day, exdates,
                                     title, description, location, attendees, horizon_until,
                                     idempotency_key, request_hash)
  values (v_uid, regexp_replace(upper(btrim(p_recurrence)), '^RRULE:', ''), v_tz,
          case when v_times.all_day then v_times.start_date::timestamp else v_times.start_at at time zone v_tz end,
          case when v_times.all_day then make_interval(days => v_times.end_date - v_times.start_date)
               else v_times.end_at - v_times.start_at end,
          v_times.all_day,
          array(select d at time zone v_tz from unnest(p_exdates) d),
          btrim(p_title), coalesce(p_description, ''), coalesce(p_location, ''), v_att -> 'attendees',
          v_now, p_idempotency_key, v_hash)
  returning id into v_series_id;

  -- The horizon counts from the first occurrence when that lies ahead: a
  -- series booked for next year starts with a year of occurrences too.
  v_result := private.materialize_series(v_series_id, '-infinity',
    greatest(v_now, v_times.start_at) + make_interval(days => v_settings.series_horizon_days), p_on_conflict);
  if (v_result ->> 'created')::integer = 0 then
    perform private.raise_error(422, 'series_empty',
      'the recurrence yields no occurrence to book' ||
      case when jsonb_array_length(v_result -> 'skipped') > 0 then ' (every one conflicts)' else '' end,
      jsonb_build_object('skipped', v_result -> 'skipped', 'errors', jsonb_build_array(
        private.field_error('recurrence', 'yields no occurrence to book'))));
  end if;

  -- One confirmation per attendee for the whole series, on its first occurrence.
  perform private.enqueue_meeting_notice(
    (select m.id from public.meetings m where m.series_id = v_series_id order by m.start_at limit 1),
    'confirmation', null, jsonb_build_object('series_id', v_series_id));

  return jsonb_build_object(
    'series', private.series_json(v_series_id),
    'replayed', false,
    'occurrences', (select jsonb_agg(jsonb_build_object('id', m.id, 'start', m.start_at, 'end', m.end_at,
                                                        'recurrence_id', m.recurrence_id) order by m.start_at)
                    from public.meetings m where m.series_id = v_series_id),
    'skipped', v_result -> 'skipped');
end
$$;
comment on function public.book_meeting_series is
  'Book a recurring meeting. Every occurrence in the horizon is checked: PT409 lists every conflicting '
  'occurrence, or with p_on_conflict => ''skip'' those dates are skipped and listed.';

-- Cancel one occurrence ('this'), it and the following ones
-- ('this_and_following') or the whole series ('all'). Occurrences that have
-- started are history and stay. Attendees get one notice, not one per date.
create function public.cancel_series(
  p_meeting_id uuid,
  p_scope text default 'this',
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
  s public.meeting_series;
  v_from timestamptz;
  v_cancelled integer;
begin
  m := private.lock_visible_meeting(p_meeting_id);
  perform private.require_organizer(m, v_uid);
  if p_scope is null or p_scope not in ('this', 'this_and_following', 'all') then
    perform private.raise_if_invalid(jsonb_build_array(
      private.field_error('scope', 'must be this, this_and_following or all')));
  end if;
  if m.series_id is null then
    if p_scope <> 'this' then
      perform private.raise_if_invalid(jsonb_build_array(
        private.field_error('scope', 'this meeting is not part of a series')));
    end if;
    return public.cancel_meeting(p_meeting_id, p_reason, p_version, p_now);
  end if;
  if p_version is not null and p_version <> m.version and m.status <> 'cancelled' then
    perform private.raise_error(412, 'version_mismatch', 'version mismatch',
      jsonb_build_object('meeting_id', m.id, 'expected_version', p_version, 'current_version', m.version));
  end if;
  if char_length(p_reason) > 1000 then
    perform private.raise_if_invalid(jsonb_build_array(private.field_error('reason', 'at most 1000 characters')));
  end if;
  select * into s from public.meeting_series where id = m.series_id for update;

  if p_scope = 'this' then
    if m.status = 'confirmed' then
      update public.meeting_series
      set exdates = case when m.recurrence_id = any (exdates) then exdates else exdates || m.recurrence_id end,
          version = version + 1
      where id = s.id;
    end if;
    return jsonb_build_object('meeting', public.cancel_meeting(p_meeting_id, p_reason, null, p_now),
                              'series', private.series_json(s.id),
                              'cancelled', case when m.status = 'confirmed' then 1 else 0 end);
  end if;

  v_from := case when p_scope = 'all' then v_now else greatest(m.start_at, v_now) end;
  update public.meetings
  set status = 'cancelled', cancelled_at = now(), cancelled_by = v_uid,
      cancel_reason = nullif(btrim(p_reason), ''), version = version + 1
  where series_id = s.id and status = 'confirmed' and start_at >= v_from;
  get diagnostics v_cancelled = row_count;

  if p_scope = 'all' then
    update public.meeting_series
    set status = 'cancelled', cancelled_at = now(), version = version + 1
    where id = s.id;
  else
    update public.meeting_series
    set rrule = private.rrule_with_end(rrule, m.start_at - interval '1 second', null), version = version + 1
    where id = s.id;
  end if;

  perform private.cancel_pending_notices(mm.id, array['confirmation', 'update', 'reschedule'])
  from public.meetings mm where mm.series_id = s.id and mm.start_at >= v_from;
  perform private.enqueue_meeting_notice(m.id, 'cancellation', null,
    jsonb_build_object('reason', nullif(btrim(p_reason), ''), 'series_id', s.id, 'scope', p_scope,
                       'occurrences_cancelled', v_cancelled));
  return jsonb_build_object('series', private.series_json(s.id), 'cancelled', v_cancelled,
                            'meeting', private.meeting_json(m.id));
end
$$;
comment on function public.cancel_series is
  'Cancel one occurrence, this and the following ones, or a whole series (organiser only).';

-- Change one occurrence ('this': it becomes detached and keeps its changes),
-- this and the following ones ('this_and_following': the series is split at
-- this occurrence into two series), or every occurrence that has not started
-- ('all'). Times move by the same shift as the given occurrence; p_recurrence
-- may change the rule itself (not with scope 'this'). Every new time is
-- checked for every affected occurrence.
create function public.update_series(
  p_meeting_id uuid,
  p_version integer,
  p_scope text default 'this',
  p_title text default null,
  p_description text default null,
  p_location text default null,
  p_start timestamptz default null,
  p_end timestamptz default null,
  p_recurrence text default null,
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
  v_settings private.settings;
  m public.meetings;
  s public.meeting_series;
  target public.meeting_series;
  v_shift interval;
  v_duration interval;
  v_att jsonb;
  v_errors jsonb;
  v_pivot_index integer;
  v_new_id uuid;
  v_users uuid[];
  v_idx integer[];
  v_rid timestamp[];
  v_start timestamptz[];
  v_end timestamptz[];
  v_sd date[];
  v_ed date[];
  v_conflicts jsonb;
  v_remaining integer;
  v_old_count integer;
begin
  select * into v_settings from private.settings;
  m := private.lock_visible_meeting(p_meeting_id);
  perform private.require_organizer(m, v_uid);
  if p_scope is null or p_scope not in ('this', 'this_and_following', 'all') then
    perform private.raise_if_invalid(jsonb_build_array(
      private.field_error('scope', 'must be this, this_and_following or all')));
  end if;
  if m.series_id is null or p_scope = 'this' then
    if m.series_id is null and p_scope <> 'this' then
      perform private.raise_if_invalid(jsonb_build_array(
        private.field_error('scope', 'this meeting is not part of a series')));
    end if;
    if p_recurrence is not null then
      perform private.raise_if_invalid(jsonb_build_array(
        private.field_error('recurrence', 'a single occurrence has no rule of its own; use scope all or this_and_following')));
    end if;
    update public.meetings set detached = true where id = m.id and series_id is not null and not detached;
    return public.update_meeting(p_meeting_id => p_meeting_id, p_version => p_version, p_title => p_title,
      p_description => p_description, p_location => p_location, p_start => p_start, p_end => p_end,
      p_attendees => p_attendees, p_now => p_now);
  end if;

  if p_version is null then
    perform private.raise_error(428, 'version_required', 'the meeting version you last read is required (If-Match)',
      jsonb_build_object('current_version', m.version));
  end if;
  if p_version <> m.version then
    perform private.raise_error(412, 'version_mismatch', 'version mismatch',
      jsonb_build_object('meeting_id', m.id, 'expected_version', p_version, 'current_version', m.version));
  end if;
  select * into s from public.meeting_series where id = m.series_id for update;
  if s.status = 'cancelled' or m.status = 'cancelled' then
    perform private.raise_error(409, 'meeting_cancelled', 'meeting is cancelled', jsonb_build_object('meeting_id', m.id));
  end if;

  v_errors := private.text_field_errors(coalesce(p_title, s.title), coalesce(p_description, s.description),
                                        coalesce(p_location, s.location));
  if p_start is not null and s.all_day then
    v_errors := v_errors || private.field_error('start', 'an all-day series moves by whole days; give start as a date at local midnight');
  end if;
  v_duration := case when p_start is not null or p_end is not null
                     then coalesce(p_end, coalesce(p_start, m.start_at) + (m.end_at - m.start_at)) - coalesce(p_start, m.start_at)
                     else s.duration end;
  if v_duration <= interval '0' then
    v_errors := v_errors || private.field_error('end', 'must be after start');
  elsif not s.all_day and v_duration > make_interval(mins => v_settings.max_meeting_minutes) then
    v_errors := v_errors || private.field_error('end', format('a meeting may last at most %s minutes', v_settings.max_meeting_minutes));
  end if;
  if p_start is not null and p_start < v_now then
    v_errors := v_errors || private.field_error('start', 'is in the past');
  end if;
  if p_attendees is not null then
    v_att := private.normalize_attendees(p_attendees, v_uid);
    v_errors := v_errors || (v_att -> 'errors');
  end if;
  perform private.raise_if_invalid(v_errors);
  if p_recurrence is not null then
    perform private.parse_rrule(p_recurrence, s.time_zone);
  end if;

  -- Shift of the series' wall-clock start, taken from the given occurrence.
  v_shift := case when p_start is null then interval '0'
                  else (p_start at time zone s.time_zone) - m.recurrence_id end;

  -- The series that will own the changed occurrences: the same one ('all'),
  -- or a new one split off at this occurrence ('this_and_following').
  if p_scope = 'this_and_following' and m.occurrence_index > 0 then
    v_pivot_index := m.occurrence_index;
    v_old_count := (private.parse_rrule(s.rrule, s.time_zone)).count;
    v_remaining := case when v_old_count is null then null else v_old_count - v_pivot_index end;
    insert into public.meeting_series (organizer_id, rrule, time_zone, first_start_local, duration, all_day, exdates,
                                       title, description, location, attendees, horizon_until)
    select s.organizer_id, private.rrule_with_end(s.rrule, (private.parse_rrule(s.rrule, s.time_zone)).until_utc, v_remaining),
           s.time_zone, m.recurrence_id, s.duration, s.all_day,
           array(select d from unnest(s.exdates) d where d >= m.recurrence_id),
           s.title, s.description, s.location, s.attendees, s.horizon_until
    returning id into v_new_id;
    update public.meeting_series
    set rrule = private.rrule_with_end(rrule, m.start_at - interval '1 second', null),
        exdates = array(select d from unnest(exdates) d where d < m.recurrence_id),
        version = version + 1
    where id = s.id;
    -- The following occurrences move to the new series, renumbered from 0.
    update public.meetings
    set series_id = v_new_id, occurrence_index = occurrence_index - v_pivot_index
    where series_id = s.id and occurrence_index >= v_pivot_index;
    update private.series_conflicts set series_id = v_new_id
    where series_id = s.id and recurrence_id >= m.recurrence_id;
    select * into target from public.meeting_series where id = v_new_id for update;
  else
    target := s;
  end if;

  -- The new template, applied to the owning series.
  update public.meeting_series
  set title = btrim(coalesce(p_title, title)),
      description = coalesce(p_description, description),
      location = coalesce(p_location, location),
      attendees = coalesce(v_att -> 'attendees', attendees),
      rrule = case when p_recurrence is not null then regexp_replace(upper(btrim(p_recurrence)), '^RRULE:', '')
                   else rrule end,
      first_start_local = first_start_local + v_shift,
      duration = v_duration,
      exdates = array(select d + v_shift from unnest(exdates) d),
      version = version + 1
  where id = target.id
  returning * into target;

  -- The occurrences the new rule yields from now to the horizon, matched with
  -- the existing ones by index: matched ones move, missing ones are created,
  -- left-over ones are cancelled. Detached and started occurrences keep theirs.
  select array_agg(o.occurrence_index order by o.occurrence_index), array_agg(o.recurrence_id order by o.occurrence_index),
         array_agg(o.start_at order by o.occurrence_index), array_agg(o.end_at order by o.occurrence_index),
         array_agg(o.start_date order by o.occurrence_index), array_agg(o.end_date order by o.occurrence_index)
    into v_idx, v_rid, v_start, v_end, v_sd, v_ed
  from private.series_occurrences(target, target.horizon_until) o
  where o.start_at > v_now
    and not exists (select 1 from public.meetings x where x.series_id = target.id
                    and x.occurrence_index = o.occurrence_index and (x.detached or x.start_at <= v_now));

  v_users := private.series_user_ids(target) || array(select a.user_id from public.attendees a
    join public.meetings x on x.id = a.meeting_id where x.series_id = target.id and a.user_id is not null);
  perform private.lock_users(v_users);
  if v_idx is not null then
    perform private.raise_if_invalid(private.self_overlap_error(private.series_user_ids(target), v_start, v_end, target.all_day));
    v_conflicts := private.occurrence_conflicts(private.series_user_ids(target), v_idx, v_start, v_end, target.all_day,
                                                target.id);
    if jsonb_array_length(v_conflicts) > 0 then
      perform private.raise_error(409, 'series_conflict',
        format('%s occurrence(s) would conflict with existing meetings, the first on %s',
               (select count(distinct c ->> 'occurrence_index') from jsonb_array_elements(v_conflicts) c),
               v_conflicts -> 0 ->> 'occurrence_start'),
        jsonb_build_object('conflicts', v_conflicts));
    end if;
  end if;

  -- Left-over future occurrences (the new rule has fewer) are cancelled.
  update public.meetings x
  set status = 'cancelled', cancelled_at = now(), cancelled_by = v_uid,
      cancel_reason = 'No longer part of the series.', version = version + 1
  where x.series_id = target.id and x.status = 'confirmed' and not x.detached and x.start_at > v_now
    and not (x.occurrence_index = any (coalesce(v_idx, '{}')));

  begin
    -- Matched occurrences take the new time and template.
    update public.meetings x
    set start_at = o.s, end_at = o.e, recurrence_id = o.rid,
        start_date = case when target.all_day then o.sd end, end_date = case when target.all_day then o.ed end,
        title = target.title, description = target.description, location = target.location,
        version = x.version + 1
    from unnest(v_idx, v_rid, v_start, v_end, v_sd, v_ed) as o(idx, rid, s, e, sd, ed)
    where x.series_id = target.id and x.occurrence_index = o.idx and x.status = 'confirmed' and not x.detached;

    if v_att is not null then
      delete from public.attendees a using public.meetings x
      where a.meeting_id = x.id and x.series_id = target.id and x.start_at > v_now and not x.detached
        and a.role <> 'organizer'
        and not exists (select 1 from jsonb_array_elements(target.attendees) n where n ->> 'email' = a.email);
      insert into public.attendees (meeting_id, user_id, email, display_name, role)
      select x.id, (n ->> 'user_id')::uuid, n ->> 'email', n ->> 'display_name', n ->> 'role'
      from public.meetings x cross join jsonb_array_elements(target.attendees) n
      where x.series_id = target.id and x.start_at > v_now and not x.detached and x.status = 'confirmed'
        and not exists (select 1 from public.attendees a where a.meeting_id = x.id and a.email = n ->> 'email')
      order by (n ->> 'user_id')::uuid nulls last, x.start_at;
    end if;

    -- New indexes the rule now yields are created.
    perform private.insert_occurrences(target,
      array(select o.idx from unnest(v_idx) o(idx) where not exists
              (select 1 from public.meetings x where x.series_id = target.id and x.occurrence_index = o.idx)),
      array(select o.rid from unnest(v_idx, v_rid) o(idx, rid) where not exists
              (select 1 from public.meetings x where x.series_id = target.id and x.occurrence_index = o.idx)),
      array(select o.s from unnest(v_idx, v_start) o(idx, s) where not exists
              (select 1 from public.meetings x where x.series_id = target.id and x.occurrence_index = o.idx)),
      array(select o.e from unnest(v_idx, v_end) o(idx, e) where not exists
              (select 1 from public.meetings x where x.series_id = target.id and x.occurrence_index = o.idx)),
      array(select o.sd from unnest(v_idx, v_sd) o(idx, sd) where not exists
              (select 1 from public.meetings x where x.series_id = target.id and x.occurrence_index = o.idx)),
      array(select o.ed from unnest(v_idx, v_ed) o(idx, ed) where not exists
              (select 1 from public.meetings x where x.series_id = target.id and x.occurrence_index = o.idx)));
  exception when exclusion_violation then
    perform private.raise_error(409, 'series_conflict', 'an occurrence conflicts with a meeting booked meanwhile',
      jsonb_build_object('conflicts', private.occurrence_conflicts(private.series_user_ids(target), v_idx, v_start,
                                                                   v_end, target.all_day, target.id)));
  end;

  -- A split leaves the original series shorter: its attendees' calendars
  -- learn its new end from an update of it.
  if target.id <> s.id then
    perform private.enqueue_meeting_notice(
      (select x.id from public.meetings x where x.series_id = s.id and x.status = 'confirmed'
       order by x.start_at desc limit 1),
      'update', null, jsonb_build_object('series_id', s.id, 'scope', 'all', 'series_ended_by_split', true));
  end if;

  -- One notice for the change, on the first affected occurrence.
  perform private.enqueue_meeting_notice(
    (select x.id from public.meetings x where x.series_id = target.id and x.start_at > v_now and x.status = 'confirmed'
     order by x.start_at limit 1),
    case when v_shift <> interval '0' or p_recurrence is not null or v_duration <> s.duration then 'reschedule' else 'update' end,
    null, jsonb_build_object('series_id', target.id, 'scope', p_scope));

  return jsonb_build_object(
    'series', private.series_json(target.id),
    'previous_series', case when target.id <> s.id then private.series_json(s.id) end,
    'meeting', private.meeting_json(m.id));
end
$$;
comment on function public.update_series is
  'Change one occurrence, this and the following ones (splits the series), or all future occurrences.';

-- A series and its occurrences as the caller may see them (RLS decides; a
-- series nobody showed them is PT404).
create function public.get_series(p_series_id uuid) returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v jsonb;
begin
  select private.series_json(s.id) into v from public.meeting_series s where s.id = p_series_id;
  if v is null then
    perform private.raise_error(404, 'series_not_found', 'series not found',
      jsonb_build_object('series_id', p_series_id));
  end if;
  return jsonb_build_object(
    'series', v,
    'occurrences', coalesce((
      select jsonb_agg(jsonb_build_object('id', m.id, 'start', m.start_at, 'end', m.end_at,
                                          'recurrence_id', m.recurrence_id, 'status', m.status)
                       order by m.start_at)
      from public.meetings m where m.series_id = p_series_id), '[]'::jsonb));
end
$$;

-- The horizon moves on: materialise what a series yields up to the horizon.
-- A conflict is recorded in private.series_conflicts and the organiser is
-- told; the occurrence is not booked over someone else's time.
create function private.extend_series_horizons(p_now timestamptz default now()) returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_days integer := (select series_horizon_days from private.settings);
  v_series public.meeting_series;
  v_result jsonb;
  v_count integer := 0;
begin
  for v_series in
    select * from public.meeting_series
    where status = 'active' and horizon_until < p_now + make_interval(days => v_days) - interval '1 day'
    order by horizon_until
    limit 500
  loop
    v_result := private.materialize_series(v_series.id, v_series.horizon_until,
                                           p_now + make_interval(days => v_days), 'record');
    v_count := v_count + (v_result ->> 'created')::integer;
    if jsonb_array_length(v_result -> 'skipped') > 0 then
      perform private.enqueue_meeting_notice(
        (select m.id from public.meetings m where m.series_id = v_series.id order by m.start_at desc limit 1),
        'series_conflict', array[(select p.email from public.profiles p where p.id = v_series.organizer_id)],
        jsonb_build_object('series_id', v_series.id, 'series_conflicts', v_result -> 'skipped'));
    end if;
  end loop;
  return v_count;
end
$$;

select cron.schedule('extend-series-horizons', '23 2 * * *', 'select private.extend_series_horizons()');

-- Grants -------------------------------------------------------------------------

grant select on public.meeting_series to authenticated, service_role;
grant select on private.series_conflicts to service_role;
grant execute on function private.visible_series_ids() to authenticated, service_role;
-- get_series is security invoker and shapes its answer with this.
grant execute on function private.series_json(uuid) to authenticated;
grant execute on function
  public.book_meeting_series(text, text, timestamptz, timestamptz, text, jsonb, text, text, boolean, date, date,
                             timestamptz[], text, text, timestamptz),
  public.cancel_series(uuid, text, text, integer, timestamptz),
  public.update_series(uuid, integer, text, text, text, text, timestamptz, timestamptz, text, jsonb, timestamptz),
  public.get_series(uuid)
  to authenticated;
