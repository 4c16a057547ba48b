-- Meetings, attendees, the busy rows that make double booking impossible, and
-- the audit trail of every change.
--
-- Why a separate busy table: the guarantee "nobody is in two active meetings
-- at once" is a property of (person, time), not of a meeting. One row per
-- (user, meeting) holds the meeting's range padded by that user's buffers,
-- and an EXCLUDE constraint over (user_id =, range &&) makes any overlap
-- impossible, whatever the client and whatever the race. Triggers keep these
-- rows right in the same transaction as the meeting or attendee change.
--
-- Meetings are never deleted: cancelling sets a status and releases the busy
-- rows, so history, notices and audit stay meaningful.

-- Types ----------------------------------------------------------------------

create table public.meetings (
  id uuid primary key default private.uuid_v7(),
  organizer_id uuid not null references public.profiles (id),
  title text not null check (char_length(title) between 1 and 300),
  description text not null default '' check (char_length(description) <= 10000),
  location text not null default '' check (char_length(location) <= 1000),
  start_at timestamptz not null,
  end_at timestamptz not null,
  time_zone text not null,
  all_day boolean not null default false,
  -- All-day meetings are whole local days in time_zone, end date exclusive
  -- (as in iCalendar and Google Calendar); start_at/end_at are the instants
  -- those local midnights fall on.
  start_date date,
  end_date date,
  status text not null default 'confirmed' check (status in ('confirmed', 'cancelled')),
  version integer not null default 1 check (version >= 1),
  idempotency_key text check (char_length(idempotency_key) between 1 and 200),
  request_hash text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  cancelled_at timestamptz,
  cancelled_by uuid,
  cancel_reason text check (char_length(cancel_reason) <= 1000),
  constraint meetings_end_after_start check (end_at > start_at),
  -- A backstop; the configurable limits live in private.settings.
  constraint meetings_shorter_than_a_year check (end_at - start_at < interval '366 days'),
  constraint meetings_all_day_dates check (
    (all_day and start_date is not null and end_date is not null and end_date > start_date)
    or (not all_day and start_date is null and end_date is null)
  ),
  constraint meetings_cancellation_recorded check ((status = 'cancelled') = (cancelled_at is not null)),
  constraint meetings_idempotency_key_per_organizer unique (organizer_id, idempotency_key),
  constraint meetings_idempotency_hash check ((idempotency_key is null) = (request_hash is null))
);
comment on table public.meetings is
  'A meeting. Written only through book_meeting / update_meeting / cancel_meeting.';

create table public.attendees (
  id uuid primary key default private.uuid_v7(),
  meeting_id uuid not null references public.meetings (id),
  -- Internal users have a profile; external guests only an e-mail.
  user_id uuid references public.profiles (id),
  email text not null check (
    email = lower(email) and char_length(email) <= 320
    and email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'
  ),
  display_name text not null default '' check (char_length(display_name) <= 200),
  role text not null default 'required' check (role in ('organizer', 'required', 'optional')),
  response_status text not null default 'needs_action'
    check (response_status in ('needs_action', 'accepted', 'declined', 'tentative')),
  responded_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint attendees_one_per_email unique (meeting_id, email),
  constraint attendees_one_per_user unique (meeting_id, user_id),
  constraint attendees_organizer_is_internal check (role <> 'organizer' or user_id is not null)
);
comment on table public.attendees is
  'Who is invited: internal users (user_id) and external e-mail guests.';

create unique index attendees_one_organizer on public.attendees (meeting_id)
  where role = 'organizer';

create table private.busy_blocks (
  meeting_id uuid not null references public.meetings (id),
  user_id uuid not null references public.profiles (id),
  buffer_before_minutes integer not null default 0 check (buffer_before_minutes >= 0),
  buffer_after_minutes integer not null default 0 check (buffer_after_minutes >= 0),
  range tstzrange not null check (not isempty(range) and not lower_inf(range) and not upper_inf(range)),
  active boolean not null default true,
  primary key (meeting_id, user_id),
  constraint busy_blocks_no_overlap
    exclude using gist (user_id with =, range with &&) where (active)
);
comment on table private.busy_blocks is
  'One row per (internal user, meeting): the meeting range padded by the user''s buffers. '
  'The exclusion constraint forbids overlap between active rows of one user.';

create table private.audit_log (
  id bigint generated always as identity primary key,
  occurred_at timestamptz not null default now(),
  actor_id uuid,
  actor_role text not null,
  table_name text not null,
  record_id uuid not null,
  meeting_id uuid,
  action text not null check (action in ('insert', 'update', 'delete')),
  old_values jsonb,
  new_values jsonb
);
comment on table private.audit_log is
  'Every change to meetings, attendees and profiles: who, when, old and new values (changed columns only on update).';

-- Indexes --------------------------------------------------------------------

create index meetings_organizer_start_idx on public.meetings (organizer_id, start_at);
create index meetings_start_idx on public.meetings (start_at);
create index attendees_user_meeting_idx on public.attendees (user_id, meeting_id)
  where user_id is not null;
create index busy_blocks_user_idx on private.busy_blocks (user_id);
create index audit_log_meeting_idx on private.audit_log (meeting_id, id);
create index audit_log_record_idx on private.audit_log (record_id, id);
-- No index on actor_id: no query looks the trail up by actor (deleting a user
-- anonymises by record_id), and every booking would pay for it twice.

-- Triggers -------------------------------------------------------------------

-- Busy rows follow attendees: an internal attendee who has not declined a
-- confirmed meeting is busy for its range padded by their own buffers.
-- Inlined into the conflict and availability queries (no SET clause, which
-- would prevent inlining; names schema-qualified instead), so the padded range
-- becomes an index condition rather than a per-row function call. Stable, not
-- immutable: timestamptz +/- interval is stable, and the planner refuses to
-- inline a function whose body is more volatile than it is declared; it then
-- parsed and planned this body again on every call.
create function private.busy_range(
  p_start timestamptz, p_end timestamptz, p_before integer, p_after integer
) returns tstzrange
language sql
stable
as $$
  select pg_catalog.tstzrange(p_start - pg_catalog.make_interval(mins => p_before),
                              p_end + pg_catalog.make_interval(mins => p_after), '[)');
$$;

-- Buffers are preparation and wind-down time around timed meetings; an
-- all-day meeting already blocks whole days and takes none.
create function private.buffers_for(p_profile public.profiles, p_all_day boolean)
returns table (before integer, after integer)
language sql
immutable
as $$
  select case when p_all_day then 0 else p_profile.buffer_before_minutes end,
         case when p_all_day then 0 else p_profile.buffer_after_minutes end;
$$;

-- Triggers that keep derived rows (busy time, audit) are statement-level over
-- transition tables: one INSERT ... SELECT per statement, whether a booking
-- writes one attendee or a series writes hundreds of occurrences.

-- New internal attendees become busy, padded by their own buffers, in user
-- order (the order every booking locks people in).
create function private.busy_for_new_attendees() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into private.busy_blocks (meeting_id, user_id, buffer_before_minutes, buffer_after_minutes,
                                   range, active)
  select n.meeting_id, n.user_id, f.before, f.after,
         private.busy_range(m.start_at, m.end_at, f.before, f.after),
         m.status = 'confirmed' and n.response_status <> 'declined'
  from new_attendees n
  join public.meetings m on m.id = n.meeting_id
  join public.profiles p on p.id = n.user_id
  cross join lateral private.buffers_for(p, m.all_day) f
  order by n.user_id, m.start_at;
  return null;
end
$$;

create trigger attendees_busy_on_insert
  after insert on public.attendees
  referencing new table as new_attendees
  for each statement execute function private.busy_for_new_attendees();

create function private.busy_for_removed_attendees() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  delete from private.busy_blocks b
  using old_attendees o
  where b.meeting_id = o.meeting_id and b.user_id = o.user_id;
  return null;
end
$$;

create trigger attendees_busy_on_delete
  after delete on public.attendees
  referencing old table as old_attendees
  for each statement execute function private.busy_for_removed_attendees();

-- An RSVP (one row at a time) or a changed user: declining frees the time,
-- accepting again takes it back.
create function private.sync_busy_from_attendee() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_meeting public.meetings;
begin
  if old.user_id is distinct from new.user_id then
    delete from private.busy_blocks where meeting_id = old.meeting_id and user_id = old.user_id;
  end if;
  if new.user_id is null then
    return null;
  end if;

  select * into v_meeting from public.meetings where id = new.meeting_id;
  if old.user_id is distinct from new.user_id then
    insert into private.busy_blocks (meeting_id, user_id, buffer_before_minutes, buffer_after_minutes,
                                     range, active)
    select new.meeting_id, new.user_id, b.before, b.after,
           private.busy_range(v_meeting.start_at, v_meeting.end_at, b.before, b.after),
           v_meeting.status = 'confirmed' and new.response_status <> 'declined'
    from public.profiles p
    cross join lateral private.buffers_for(p, v_meeting.all_day) b
    where p.id = new.user_id;
  elsif old.response_status = 'declined' and new.response_status <> 'declined' then
    -- Accepting again re-pads with the user's current buffers, the ones
    -- respond_to_meeting's conflict check used: keeping the padding from
    -- before the decline could overlap where the check saw no conflict and
    -- surface as a raw exclusion error instead of PT409.
    update private.busy_blocks b
    set buffer_before_minutes = f.before,
        buffer_after_minutes = f.after,
        range = private.busy_range(v_meeting.start_at, v_meeting.end_at, f.before, f.after),
        active = v_meeting.status = 'confirmed'
    from public.profiles p
    cross join lateral private.buffers_for(p, v_meeting.all_day) f
    where b.meeting_id = new.meeting_id and b.user_id = new.user_id and p.id = new.user_id;
  elsif old.response_status is distinct from new.response_status then
    update private.busy_blocks
    set active = v_meeting.status = 'confirmed' and new.response_status <> 'declined'
    where meeting_id = new.meeting_id and user_id = new.user_id;
  end if;
  return null;
end
$$;

create trigger attendees_sync_busy
  after update of user_id, response_status on public.attendees
  for each row
  when (old.user_id is distinct from new.user_id or old.response_status is distinct from new.response_status)
  execute function private.sync_busy_from_attendee();

-- Moved or cancelled meetings move or release their busy rows. A move pads
-- with each user's current buffers, the same ones the conflict check used.
-- Switching between timed and all-day is a move too, even over the same
-- instants: all-day meetings take no buffers, timed ones do.
create function private.sync_busy_from_meetings() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- Two steps: release every moved row first, then place them. Moving many
  -- occurrences of a series by a day would otherwise trip the exclusion
  -- constraint on a neighbour's old range that is about to move as well; the
  -- constraint is checked row by row, not at the end of the statement.
  update private.busy_blocks b
  set active = false
  from new_meetings n
  join old_meetings o on o.id = n.id
  where (o.start_at, o.end_at, o.all_day) is distinct from (n.start_at, n.end_at, n.all_day)
    and b.meeting_id = n.id and b.active;

  update private.busy_blocks b
  set buffer_before_minutes = f.before,
      buffer_after_minutes = f.after,
      range = private.busy_range(n.start_at, n.end_at, f.before, f.after),
      active = n.status = 'confirmed' and a.response_status <> 'declined'
  from new_meetings n
  join old_meetings o on o.id = n.id
  join public.attendees a on a.meeting_id = n.id
  join public.profiles p on p.id = a.user_id
  cross join lateral private.buffers_for(p, n.all_day) f
  where (o.start_at, o.end_at, o.status, o.all_day) is distinct from (n.start_at, n.end_at, n.status, n.all_day)
    and b.meeting_id = n.id and b.user_id = a.user_id;
  return null;
end
$$;

-- (A column list, UPDATE OF ..., cannot be combined with transition tables;
-- the function compares old and new itself.)
create trigger meetings_sync_busy
  after update on public.meetings
  referencing old table as old_meetings new table as new_meetings
  for each statement execute function private.sync_busy_from_meetings();

create function private.touch_updated_at() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end
$$;

create trigger meetings_touch before update on public.meetings
  for each row execute function private.touch_updated_at();
create trigger attendees_touch before update on public.attendees
  for each row execute function private.touch_updated_at();

-- Audit: who (auth.uid(), or the login role for direct sessions), when, and
-- what changed; updates keep only the columns that changed. Statement-level:
-- one INSERT per statement. Every audited table has an `id` column; trigger
-- functions are compiled per table, so the transition tables' row types are
-- known when the queries are planned.
create function private.audit_inserted_rows() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into private.audit_log (actor_id, actor_role, table_name, record_id, meeting_id, action,
                                 old_values, new_values)
  select a.uid, a.role, tg_table_name, (r.v ->> 'id')::uuid,
         case tg_table_name when 'meetings' then (r.v ->> 'id')::uuid
                            when 'attendees' then (r.v ->> 'meeting_id')::uuid end,
         'insert', null, r.v
  from (select to_jsonb(n) as v from new_rows n) r
  -- session_user, not current_user: inside this definer function
  -- current_user is always its owner, whoever made the change.
  cross join (select auth.uid() as uid, coalesce(auth.role(), session_user) as role) a;
  return null;
end
$$;

create function private.audit_deleted_rows() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into private.audit_log (actor_id, actor_role, table_name, record_id, meeting_id, action,
                                 old_values, new_values)
  select a.uid, a.role, tg_table_name, (r.v ->> 'id')::uuid,
         case tg_table_name when 'meetings' then (r.v ->> 'id')::uuid
                            when 'attendees' then (r.v ->> 'meeting_id')::uuid end,
         'delete', r.v, null
  from (select to_jsonb(o) as v from old_rows o) r
  cross join (select auth.uid() as uid, coalesce(auth.role(), session_user) as role) a;
  return null;
end
$$;

create function private.audit_updated_rows() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into private.audit_log (actor_id, actor_role, table_name, record_id, meeting_id, action,
                                 old_values, new_values)
  select a.uid, a.role, tg_table_name, (pair.nv ->> 'id')::uuid,
         case tg_table_name when 'meetings' then (pair.nv ->> 'id')::uuid
                            when 'attendees' then (pair.nv ->> 'meeting_id')::uuid end,
         'update', d.old_values, d.new_values
  from (select to_jsonb(o) as ov, to_jsonb(n) as nv
        from old_rows o join new_rows n on n.id = o.id) pair
  cross join lateral (
    select jsonb_object_agg(e.key, e.value) as old_values,
           jsonb_object_agg(e.key, pair.nv -> e.key) as new_values
    from jsonb_each(pair.ov) e
    where e.value is distinct from pair.nv -> e.key and e.key <> 'updated_at'
  ) d
  cross join (select auth.uid() as uid, coalesce(auth.role(), session_user) as role) a
  where d.old_values is not null;
  return null;
end
$$;

create trigger meetings_audit_insert after insert on public.meetings
  referencing new table as new_rows for each statement execute function private.audit_inserted_rows();
create trigger meetings_audit_update after update on public.meetings
  referencing old table as old_rows new table as new_rows
  for each statement execute function private.audit_updated_rows();
create trigger meetings_audit_delete after delete on public.meetings
  referencing old table as old_rows for each statement execute function private.audit_deleted_rows();
create trigger attendees_audit_insert after insert on public.attendees
  referencing new table as new_rows for each statement execute function private.audit_inserted_rows();
create trigger attendees_audit_update after update on public.attendees
  referencing old table as old_rows new table as new_rows
  for each statement execute function private.audit_updated_rows();
create trigger attendees_audit_delete after delete on public.attendees
  referencing old table as old_rows for each statement execute function private.audit_deleted_rows();
create trigger profiles_audit_insert after insert on public.profiles
  referencing new table as new_rows for each statement execute function private.audit_inserted_rows();
create trigger profiles_audit_update after update on public.profiles
  referencing old table as old_rows new table as new_rows
  for each statement execute function private.audit_updated_rows();
create trigger profiles_audit_delete after delete on public.profiles
  referencing old table as old_rows for each statement execute function private.audit_deleted_rows();

-- RLS ------------------------------------------------------------------------

alter table public.meetings enable row level security;
alter table public.attendees enable row level security;
alter table private.busy_blocks enable row level security;
alter table private.audit_log enable row level security;

-- Policy helpers. Definer functions so that the meetings and attendees
-- policies do not recurse into each other; stable, called once per query as
-- (select ...).
create function private.attended_meeting_ids() returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
  select a.meeting_id from public.attendees a where a.user_id = (select auth.uid());
$$;

create function private.visible_meeting_ids() returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
  select m.id from public.meetings m where m.organizer_id = (select auth.uid())
  union
  select a.meeting_id from public.attendees a where a.user_id = (select auth.uid());
$$;

create function private.co_participant_ids() returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
  select distinct a.user_id
  from public.attendees a
  where a.user_id is not null
    and a.meeting_id in (select a2.meeting_id from public.attendees a2
                         where a2.user_id = (select auth.uid()));
$$;

create function private.can_see_meeting(p_meeting_id uuid) returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return exists (
    select 1 from public.meetings m
    where m.id = p_meeting_id and m.organizer_id = (select auth.uid())
  ) or exists (
    select 1 from public.attendees a
    where a.meeting_id = p_meeting_id and a.user_id = (select auth.uid())
  );
end
$$;

create policy "Organisers and attendees can read a meeting" on public.meetings
  for select to authenticated
  using (organizer_id = (select auth.uid()) or id in (select private.attended_meeting_ids()));

create policy "Participants can read a meeting's attendees" on public.attendees
  for select to authenticated
  using (meeting_id in (select private.visible_meeting_ids()));

create policy "Users can read profiles of people they meet" on public.profiles
  for select to authenticated
  using (id in (select private.co_participant_ids()));

-- Grants ---------------------------------------------------------------------

-- Reads under RLS; every write goes through the booking functions.
grant select on public.meetings, public.attendees to authenticated, service_role;
grant select on private.busy_blocks, private.audit_log to service_role;
grant execute on function private.attended_meeting_ids(), private.visible_meeting_ids(),
  private.co_participant_ids(), private.can_see_meeting(uuid)
  to authenticated, service_role;
