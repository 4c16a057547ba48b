-- Helpers for the pgTAP suites (tests/db), loaded by `npm test` into the
-- throw-away test cluster only; never part of a migration. Modelled on
-- basejump's supabase_test_helpers: create auth users, act as one of them
-- exactly as PostgREST would (role + request.jwt.claims), or as anon /
-- service_role.
create extension if not exists pgtap with schema extensions;

create schema if not exists tests;
grant usage on schema tests to public;

create table if not exists tests.users (
  name text primary key,
  id uuid not null unique
);
grant select on tests.users to public;

-- A new auth user (and, through the trigger, profile). Names are unique per
-- transaction; every test file rolls back.
create or replace function tests.create_user(
  p_name text,
  p_time_zone text default 'UTC',
  p_email text default null
) returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id uuid := extensions.gen_random_uuid();
begin
  insert into auth.users (instance_id, id, aud, role, email, raw_app_meta_data, raw_user_meta_data,
                          email_confirmed_at, created_at, updated_at)
  values ('00000000-0000-0000-0000-000000000000', v_id, 'authenticated', 'authenticated',
          coalesce(p_email, p_name || '@test.example'), '{"provider": "email"}',
          jsonb_build_object('display_name', initcap(p_name), 'time_zone', p_time_zone),
          now(), now(), now());
  insert into tests.users (name, id) values (p_name, v_id);
  return v_id;
end
$$;

create or replace function tests.user_id(p_name text) returns uuid
language sql
stable
security definer
set search_path = ''
as $$
  select id from tests.users where name = p_name;
$$;

-- Act as a signed-in user for the rest of the transaction.
create or replace function tests.authenticate_as(p_name text) returns void
language plpgsql
as $$
declare
  v_id uuid := tests.user_id(p_name);
begin
  if v_id is null then
    raise exception 'tests.authenticate_as: no test user named %', p_name;
  end if;
  perform set_config('role', 'authenticated', true);
  perform set_config('request.jwt.claims',
    jsonb_build_object('sub', v_id, 'role', 'authenticated', 'email', p_name || '@test.example',
                       'aud', 'authenticated')::text, true);
end
$$;

create or replace function tests.authenticate_as_anon() returns void
language plpgsql
as $$
begin
  perform set_config('role', 'anon', true);
  perform set_config('request.jwt.claims', '{"role": "anon"}', true);
end
$$;

create or replace function tests.authenticate_as_service_role() returns void
language plpgsql
as $$
begin
  perform set_config('role', 'service_role', true);
  perform set_config('request.jwt.claims', '{"role": "service_role"}', true);
end
$$;

create or replace function tests.clear_authentication() returns void
language plpgsql
as $$
begin
  perform set_config('role', 'none', true);
  perform set_config('request.jwt.claims', '', true);
end
$$;

grant execute on all functions in schema tests to public;

-- The error a statement raises, as data, so a suite can assert on the JSON
-- detail our functions attach (field errors, conflicts) and not only on the
-- SQLSTATE: {sqlstate, message, detail}, detail parsed when it is JSON; null
-- when the statement succeeds. Security invoker: the statement runs as the
-- role the test is acting as. A failing statement leaves nothing behind (the
-- exception block is a subtransaction); a succeeding one's effects stay.
create or replace function tests.error_of(p_sql text) returns jsonb
language plpgsql
as $$
declare
  v_state text;
  v_message text;
  v_detail text;
  v_detail_json jsonb;
begin
  execute p_sql;
  return null;
exception when others then
  get stacked diagnostics v_state = returned_sqlstate, v_message = message_text,
                          v_detail = pg_exception_detail;
  begin
    v_detail_json := v_detail::jsonb;
  exception when others then
    v_detail_json := to_jsonb(nullif(v_detail, ''));
  end;
  return jsonb_build_object('sqlstate', v_state, 'message', v_message, 'detail', v_detail_json);
end
$$;

-- The error a statement would raise, or null if it would succeed; either
-- way it leaves nothing behind. For probes such as "could this slot be
-- booked now?" that must not change what the next assertion sees.
create or replace function tests.probe_error(p_sql text) returns jsonb
language plpgsql
as $$
declare
  v_error jsonb;
begin
  v_error := tests.error_of(format(
    'do $probe$ begin execute %L; raise exception using errcode = %L; end $probe$', p_sql, 'TPROB'));
  if v_error ->> 'sqlstate' = 'TPROB' then
    return null;
  end if;
  return v_error;
end
$$;

-- How many rows a statement touched, as the acting role: RLS turns an
-- UPDATE or DELETE of rows one may not see into "0 rows", not an error.
create or replace function tests.row_count(p_sql text) returns integer
language plpgsql
as $$
declare
  v_count integer;
begin
  execute p_sql;
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

-- The clock the suites pin p_now to: far enough ahead that the fixtures'
-- 2030 meetings are in the future whatever the date a suite runs on.
create or replace function tests.pinned_now() returns timestamptz
language sql
immutable
as $$
  select timestamptz '2030-01-01 00:00:00+00';
$$;

-- Meetings a suite refers to by name, like tests.users.
create table if not exists tests.meetings (
  name text primary key,
  id uuid not null unique
);
grant select on tests.meetings to public;

-- Remember a meeting returned by book_meeting under a name. Definer, so a
-- suite acting as any role can record and look up its fixtures.
create or replace function tests.remember_meeting(p_name text, p_meeting jsonb) returns uuid
language sql
security definer
set search_path = ''
as $$
  insert into tests.meetings (name, id) values (p_name, (p_meeting ->> 'id')::uuid)
  returning id;
$$;

create or replace function tests.meeting_id(p_name text) returns uuid
language sql
stable
security definer
set search_path = ''
as $$
  select id from tests.meetings where name = p_name;
$$;

-- The cast of the actor suites (tests/db/2x_*.sql), built through the real
-- booking function:
--   olga  organises 'planning', 2030-01-10 10:00-11:00 UTC, with anna and
--         the external guest guest@external.example;
--   anna  attends 'planning';
--   sam   a stranger to 'planning', who organises 'sams' alone, 14:00-15:00
--         the same day.
-- Runs as the suite's session user and leaves no role set.
create or replace function tests.create_actor_fixture() returns void
language plpgsql
as $$
begin
  perform tests.create_user('olga');
  perform tests.create_user('anna');
  perform tests.create_user('sam');
  perform tests.authenticate_as('olga');
  perform tests.remember_meeting('planning', public.book_meeting(
    p_title => 'Planning',
    p_start => '2030-01-10 10:00:00+00', p_end => '2030-01-10 11:00:00+00', p_time_zone => 'UTC',
    p_attendees => '[{"email": "anna@test.example"}, {"email": "guest@external.example"}]',
    p_now => tests.pinned_now()));
  perform tests.authenticate_as('sam');
  perform tests.remember_meeting('sams', public.book_meeting(
    p_title => 'Sam alone',
    p_start => '2030-01-10 14:00:00+00', p_end => '2030-01-10 15:00:00+00', p_time_zone => 'UTC',
    p_now => tests.pinned_now()));
  perform tests.clear_authentication();
end
$$;

grant execute on all functions in schema tests to public;
