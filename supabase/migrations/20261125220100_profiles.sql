-- Profiles: one per auth user, created by a trigger on auth.users as hosted
-- Supabase projects do. Time zone, buffers and minimum notice drive booking
-- and availability.
--
-- No foreign key to auth.users on purpose: when an account is deleted its
-- profile stays, anonymised, so the meetings it organised or attended keep
-- their history intact (see 20261125220500_user_deletion.sql).

create table public.profiles (
  id uuid primary key,
  email text check (email is null or (email = lower(email) and char_length(email) <= 320)),
  display_name text not null default '' check (char_length(display_name) <= 200),
  time_zone text not null default 'UTC',
  buffer_before_minutes integer not null default 0
    check (buffer_before_minutes between 0 and 240),
  buffer_after_minutes integer not null default 0
    check (buffer_after_minutes between 0 and 240),
  minimum_notice_minutes integer not null default 0
    check (minimum_notice_minutes between 0 and 131400),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
comment on table public.profiles is
  'One row per auth user: display name, IANA time zone, buffers and minimum notice.';

-- Attendee e-mails resolve to internal users through this index.
create unique index profiles_email_key on public.profiles (email)
  where deleted_at is null and email is not null;

-- Time zones must be IANA names known to this server (pg_timezone_names).
create function private.check_profile() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if not private.is_valid_time_zone(new.time_zone) then
    perform private.raise_error(422, 'validation_failed',
      'time_zone: unknown time zone ' || quote_literal(new.time_zone),
      jsonb_build_object('errors', jsonb_build_array(private.field_error('time_zone',
        'unknown time zone ' || quote_literal(new.time_zone) || '; use an IANA name such as Europe/Berlin'))));
  end if;
  if tg_op = 'UPDATE' then
    new.updated_at := now();
  end if;
  return new;
end
$$;

create trigger profiles_check
  before insert or update on public.profiles
  for each row execute function private.check_profile();

-- New auth user -> profile. Display name and time zone come from the sign-up
-- metadata when given (an unknown zone falls back to UTC rather than
-- failing the sign-up).
create function private.create_profile_for_new_user() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_tz text := new.raw_user_meta_data ->> 'time_zone';
begin
  if v_tz is null or not private.is_valid_time_zone(v_tz) then
    v_tz := 'UTC';
  end if;
  insert into public.profiles (id, email, display_name, time_zone)
  values (
    new.id,
    lower(new.email),
    left(coalesce(new.raw_user_meta_data ->> 'display_name',
                  new.raw_user_meta_data ->> 'full_name',
                  split_part(coalesce(new.email, ''), '@', 1)), 200),
    v_tz
  )
  on conflict (id) do nothing;
  return new;
end
$$;

create trigger on_auth_user_created
  after insert on auth.users
  for each row execute function private.create_profile_for_new_user();

-- Keep the profile's e-mail in step with the auth user's.
create function private.sync_profile_email() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.profiles
  set email = lower(new.email)
  where id = new.id and deleted_at is null and email is distinct from lower(new.email);
  return new;
end
$$;

create trigger on_auth_user_email_changed
  after update of email on auth.users
  for each row
  when (old.email is distinct from new.email)
  execute function private.sync_profile_email();

alter table public.profiles enable row level security;

create policy "Users can read their own profile" on public.profiles
  for select to authenticated
  using (id = (select auth.uid()));

create policy "Users can update their own profile" on public.profiles
  for update to authenticated
  using (id = (select auth.uid()) and deleted_at is null)
  with check (id = (select auth.uid()));

grant select on public.profiles to authenticated, service_role;
-- Only the settings a user owns; id, email and timestamps are not theirs to set.
grant update (display_name, time_zone, buffer_before_minutes, buffer_after_minutes,
              minimum_notice_minutes)
  on public.profiles to authenticated;
