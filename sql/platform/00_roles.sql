-- Local stand-in for what hosted Supabase's platform creates before any
-- project migration runs. Runs as the cluster superuser, supabase_admin.
-- Idempotent: `npm start` runs it on every start.
--
-- On hosted Supabase `postgres` is not a superuser; migrations run as it. We
-- create it with exactly the hosted attributes so that a migration that only
-- works as superuser fails here first.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'postgres') then
    create role postgres login password 'postgres';
  end if;
  alter role postgres nosuperuser createdb createrole login replication bypassrls;

  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  -- PostgREST logs in as authenticator and switches to the JWT's role.
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit password 'postgres';
  end if;
  if not exists (select 1 from pg_roles where rolname = 'supabase_auth_admin') then
    create role supabase_auth_admin noinherit createrole login password 'postgres';
  end if;
end
$$;

grant anon, authenticated, service_role to authenticator;
-- Hosted grants the API roles to postgres so migrations can `set role`.
grant anon, authenticated, service_role to postgres;

alter role postgres set search_path = "$user", public, extensions;
alter role supabase_admin set search_path = "$user", public, extensions;
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
alter role authenticator set statement_timeout = '8s';
alter role authenticator set lock_timeout = '8s';

-- On hosted projects the database belongs to postgres.
alter database postgres owner to postgres;

grant usage on schema public to postgres, anon, authenticated, service_role;
-- Hosted Supabase hands every new object in public to the API roles. We keep
-- that hostile default so our migrations must revoke what they do not mean to
-- expose, exactly as they must on a hosted project.
alter default privileges for role postgres in schema public
  grant all on tables to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on functions to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on sequences to anon, authenticated, service_role;
