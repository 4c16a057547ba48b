-- Extensions live in their own schema on hosted Supabase; the ones the
-- platform enables for you (or you enable from the dashboard) are created here
-- by the superuser, so `create extension if not exists` in a migration is a
-- no-op locally and on a hosted project alike.
create schema if not exists extensions;
grant usage on schema extensions to postgres, anon, authenticated, service_role;
grant create on schema extensions to postgres;

create extension if not exists "uuid-ossp" with schema extensions;
create extension if not exists pgcrypto with schema extensions;
-- Enabled from the dashboard on hosted projects (needs a superuser).
create extension if not exists plpgsql_check with schema extensions;

-- pg_cron: preloaded by the cluster config, created by the platform, usable
-- by postgres.
create extension if not exists pg_cron;
grant usage on schema cron to postgres;
grant all privileges on all tables in schema cron to postgres;
grant all privileges on all sequences in schema cron to postgres;
