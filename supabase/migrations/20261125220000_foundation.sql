-- Foundation: extensions, the private schema, revoke-by-default privileges,
-- the error convention and project-wide settings.
--
-- Error convention: every rule violation is raised with one of PostgREST's
-- HTTP-status SQLSTATEs (PT401, PT403, PT404, PT409, PT412, PT422) and a JSON
-- `detail` {code, errors?: [{field, message}], conflicts?: [...]} so PostgREST
-- (supabase.rpc) and the REST function answer with the same status and the
-- same machine-readable reasons.

create extension if not exists btree_gist with schema extensions;
create extension if not exists pgcrypto with schema extensions;

-- Internal state (busy rows, audit, outbox, settings) lives here; PostgREST
-- does not expose it. API roles only get usage so that policies may call the
-- few helpers granted to them.
create schema if not exists private;
revoke all on schema private from public;
grant usage on schema private to authenticated, service_role;

-- Hosted Supabase grants every new object in public to anon, authenticated
-- and service_role. We revoke that default and grant per object instead.
alter default privileges for role postgres in schema public
  revoke all on tables from anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  revoke all on sequences from anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  revoke all on functions from anon, authenticated, service_role;
alter default privileges for role postgres
  revoke execute on functions from public;

-- Project-wide limits, one row. Changed by an operator (service_role or a
-- migration), read by the booking functions.
create table private.settings (
  singleton boolean primary key default true check (singleton),
  max_meeting_minutes integer not null default 1440
    check (max_meeting_minutes between 5 and 10080),
  max_all_day_days integer not null default 31
    check (max_all_day_days between 1 and 366),
  max_attendees integer not null default 100
    check (max_attendees between 1 and 1000)
);
insert into private.settings default values;
-- RLS with no policy: no API role but service_role (which bypasses RLS) may
-- touch it.
alter table private.settings enable row level security;
grant select, update on private.settings to service_role;

-- pg_timezone_names scans the zone files on every call (milliseconds), too
-- slow for a check on every booking; validation reads this copy instead,
-- refreshed by pg_cron each night so new tzdata releases are picked up.
create table private.time_zone_names (
  name text primary key
);
insert into private.time_zone_names (name)
select name from pg_catalog.pg_timezone_names
on conflict do nothing;
alter table private.time_zone_names enable row level security;

create function private.refresh_time_zone_names() returns void
language sql
security definer
set search_path = ''
as $$
  insert into private.time_zone_names (name)
  select name from pg_catalog.pg_timezone_names
  on conflict do nothing;
$$;

select cron.schedule(
  'refresh-time-zone-names',
  '17 3 * * *',
  'select private.refresh_time_zone_names()'
);

-- plpgsql rather than SQL: it runs on every booking, and plpgsql keeps its
-- plan between calls where a non-inlined SQL function is planned each time.
create function private.is_valid_time_zone(p_name text) returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return exists (select 1 from private.time_zone_names where name = p_name);
end
$$;

-- Time-ordered UUIDs for the rows every booking writes (meetings, attendees,
-- series): RFC 9562's version 7 layout, 48 bits of Unix milliseconds and then
-- random bits. A random (v4) key lands on a random leaf page of every index
-- that starts with it (the primary key, and every index keyed by meeting_id:
-- attendees, busy rows, notices, audit rows), so each insert touches another
-- page and, the first time after a checkpoint, writes a full page image to
-- the WAL; time-ordered keys go to the rightmost leaf. No SET clause, so the
-- planner inlines it into the column defaults; names schema-qualified instead.
create function private.uuid_v7() returns uuid
language sql
volatile
as $$
  select pg_catalog.encode(
    pg_catalog.set_bit(pg_catalog.set_bit(
      pg_catalog.overlay(
        pg_catalog.uuid_send(pg_catalog.gen_random_uuid()),
        pg_catalog.substr(
          pg_catalog.int8send((pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()) * 1000)::bigint),
          3),
        1, 6),
      52, 1), 53, 1),  -- version bits 0100 (4) become 0111 (7)
    'hex')::uuid;
$$;

-- Raise a PostgREST-mapped error. p_status is the HTTP status (PT<status>).
create function private.raise_error(
  p_status integer,
  p_code text,
  p_message text,
  p_detail jsonb default '{}'::jsonb
) returns void
language plpgsql
set search_path = ''
as $$
begin
  raise exception using
    errcode = 'PT' || p_status::text,
    message = p_message,
    detail = (jsonb_build_object('code', p_code) || coalesce(p_detail, '{}'::jsonb))::text;
end
$$;

-- One field error, in the shape the API returns. Tiny SQL helpers like this
-- one carry no SET clause so the planner can inline them into the caller;
-- every name in them is schema-qualified instead. Stable like
-- jsonb_build_object: declared immutable it would not be inlined (a body may
-- not be more volatile than its function) and would be planned per call.
create function private.field_error(p_field text, p_message text) returns jsonb
language sql
stable
as $$
  select pg_catalog.jsonb_build_object('field', p_field, 'message', p_message);
$$;

-- Raise PT422 listing every field error at once, if there are any.
create function private.raise_if_invalid(p_errors jsonb) returns void
language plpgsql
set search_path = ''
as $$
begin
  if jsonb_array_length(coalesce(p_errors, '[]'::jsonb)) > 0 then
    perform private.raise_error(
      422,
      'validation_failed',
      (select string_agg((e ->> 'field') || ': ' || (e ->> 'message'), '; ')
         from jsonb_array_elements(p_errors) e),
      jsonb_build_object('errors', p_errors)
    );
  end if;
end
$$;

-- The clock for rule checks. Callers may pin it (tests, what-if planning);
-- pinning it into the past would let a client book in the past, so only a
-- direct database session may do that: PostgREST's callers arrive as session
-- user `authenticator`. (The REST function connects directly and never passes
-- a client's clock on.)
create function private.effective_now(p_now timestamptz) returns timestamptz
language plpgsql
stable
set search_path = ''
as $$
begin
  if p_now is null then
    return now();
  end if;
  if p_now < now() - interval '1 minute' and session_user = 'authenticator' then
    perform private.raise_error(403, 'clock_pin_forbidden',
      'p_now may only be set in the past by a direct database session',
      jsonb_build_object('errors', jsonb_build_array(
        private.field_error('now', 'must not be in the past'))));
  end if;
  return p_now;
end
$$;

-- The signed-in user, or PT401.
create function private.require_user() returns uuid
language plpgsql
stable
set search_path = ''
as $$
declare
  v_uid uuid := auth.uid();
begin
  if v_uid is null then
    perform private.raise_error(401, 'not_authenticated', 'sign in required');
  end if;
  return v_uid;
end
$$;

grant execute on function private.is_valid_time_zone(text) to authenticated, service_role;
