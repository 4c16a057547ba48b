-- Availability rules: when a person is willing to meet, in their own time
-- zone (public.profiles.time_zone).
--
--   working_hours           weekly windows, several per weekday, with an
--                           optional validity period; a window whose end is
--                           not after its start runs past local midnight
--                           (22:00-06:00).
--   availability_overrides  per local date: an extra window, or time off (a
--                           window, or the whole date).
--   availability_limits     "never before 10:00", "never after 16:00", a
--                           booking horizon in days and an optional maximum
--                           of meetings per day.
--
-- Minimum notice and buffers stay on public.profiles, where booking reads
-- them too.
--
-- Every new profile starts with Monday-Friday 09:00-17:00 (rows, not an
-- implicit rule): what a user lists is exactly what the engine uses, and a
-- user who deletes every window is simply never available.
--
-- Reads go through RLS (a user sees only their own rules); writes go through
-- the RPCs in 20261126000200_availability_rule_rpcs.sql, which validate and
-- answer PT422 naming the field, as the booking functions do.

-- Tables ---------------------------------------------------------------------

create table public.working_hours (
  id uuid primary key default extensions.gen_random_uuid(),
  user_id uuid not null references public.profiles (id),
  -- ISO day of week: 1 = Monday ... 7 = Sunday.
  weekday smallint not null check (weekday between 1 and 7),
  start_time time not null check (start_time < time '24:00' and extract(second from start_time) = 0),
  -- 24:00 is the end of the day; an end at or before the start is on the next day.
  end_time time not null check (extract(second from end_time) = 0),
  -- Local dates, both inclusive, of the day a window starts on.
  valid_from date check (isfinite(valid_from)),
  valid_until date check (isfinite(valid_until)),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint working_hours_not_empty check (start_time <> end_time),
  constraint working_hours_valid_period check (valid_until >= valid_from)
);
comment on table public.working_hours is
  'Weekly working windows in the owner''s time zone; written through the working-hours RPCs.';

create table public.availability_overrides (
  id uuid primary key default extensions.gen_random_uuid(),
  user_id uuid not null references public.profiles (id),
  -- A local date in the owner's time zone.
  date date not null check (isfinite(date)),
  -- available: an extra window that day; unavailable: time off, the window
  -- given or (no times) the whole date.
  kind text not null check (kind in ('available', 'unavailable')),
  start_time time check (start_time < time '24:00' and extract(second from start_time) = 0),
  end_time time check (extract(second from end_time) = 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint availability_overrides_times_together check ((start_time is null) = (end_time is null)),
  constraint availability_overrides_available_has_times check (kind = 'unavailable' or start_time is not null),
  constraint availability_overrides_not_empty check (start_time <> end_time)
);
comment on table public.availability_overrides is
  'Date-specific changes to working hours: extra windows, or time off.';

create table public.availability_limits (
  id uuid primary key default extensions.gen_random_uuid(),
  user_id uuid not null unique references public.profiles (id),
  -- Each local day, never before / never after these times.
  earliest_start time check (earliest_start < time '24:00' and extract(second from earliest_start) = 0),
  latest_end time check (latest_end > time '00:00' and extract(second from latest_end) = 0),
  -- Bookable through the end of the local date today + horizon_days.
  horizon_days integer check (horizon_days between 0 and 3650),
  -- Counting active meetings by the local date they start on.
  max_meetings_per_day integer check (max_meetings_per_day between 1 and 1000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint availability_limits_day_not_empty check (earliest_start < latest_end)
);
comment on table public.availability_limits is
  'Per-user limits on bookable time: earliest start, latest end, horizon, meetings per day.';

-- Indexes --------------------------------------------------------------------

create index working_hours_user_weekday_idx on public.working_hours (user_id, weekday);
create index availability_overrides_user_date_idx on public.availability_overrides (user_id, date);

-- Triggers -------------------------------------------------------------------

create trigger working_hours_touch before update on public.working_hours
  for each row execute function private.touch_updated_at();
create trigger availability_overrides_touch before update on public.availability_overrides
  for each row execute function private.touch_updated_at();
create trigger availability_limits_touch before update on public.availability_limits
  for each row execute function private.touch_updated_at();

create trigger working_hours_audit_insert after insert on public.working_hours
  referencing new table as new_rows for each statement execute function private.audit_inserted_rows();
create trigger working_hours_audit_update after update on public.working_hours
  referencing old table as old_rows new table as new_rows
  for each statement execute function private.audit_updated_rows();
create trigger working_hours_audit_delete after delete on public.working_hours
  referencing old table as old_rows for each statement execute function private.audit_deleted_rows();
create trigger availability_overrides_audit_insert after insert on public.availability_overrides
  referencing new table as new_rows for each statement execute function private.audit_inserted_rows();
create trigger availability_overrides_audit_update after update on public.availability_overrides
  referencing old table as old_rows new table as new_rows
  for each statement execute function private.audit_updated_rows();
create trigger availability_overrides_audit_delete after delete on public.availability_overrides
  referencing old table as old_rows for each statement execute function private.audit_deleted_rows();
create trigger availability_limits_audit_insert after insert on public.availability_limits
  referencing new table as new_rows for each statement execute function private.audit_inserted_rows();
create trigger availability_limits_audit_update after update on public.availability_limits
  referencing old table as old_rows new table as new_rows
  for each statement execute function private.audit_updated_rows();
create trigger availability_limits_audit_delete after delete on public.availability_limits
  referencing old table as old_rows for each statement execute function private.audit_deleted_rows();

-- The working hours a new profile starts with.
create function private.insert_default_working_hours(p_user_id uuid) returns void
language sql
security definer
set search_path = ''
as $$
  insert into public.working_hours (user_id, weekday, start_time, end_time)
  select p_user_id, d, time '09:00', time '17:00'
  from generate_series(1, 5) d;
$$;

create function private.default_working_hours_for_new_profile() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.insert_default_working_hours(new.id);
  return null;
end
$$;

create trigger profiles_default_working_hours
  after insert on public.profiles
  for each row execute function private.default_working_hours_for_new_profile();

-- Profiles that existed before this migration get the same start.
select private.insert_default_working_hours(p.id)
from public.profiles p
where p.deleted_at is null
  and not exists (select 1 from public.working_hours w where w.user_id = p.id);

-- RLS ------------------------------------------------------------------------

alter table public.working_hours enable row level security;
alter table public.availability_overrides enable row level security;
alter table public.availability_limits enable row level security;

create policy "Users can read their own working hours" on public.working_hours
  for select to authenticated
  using (user_id = (select auth.uid()));

create policy "Users can read their own availability overrides" on public.availability_overrides
  for select to authenticated
  using (user_id = (select auth.uid()));

create policy "Users can read their own availability limits" on public.availability_limits
  for select to authenticated
  using (user_id = (select auth.uid()));

-- Grants ---------------------------------------------------------------------

-- Users read under RLS and write through the RPCs; service_role (which
-- bypasses RLS) may maintain rules directly, e.g. from an admin tool.
grant select on public.working_hours, public.availability_overrides, public.availability_limits
  to authenticated;
grant select, insert, update, delete
  on public.working_hours, public.availability_overrides, public.availability_limits
  to service_role;
