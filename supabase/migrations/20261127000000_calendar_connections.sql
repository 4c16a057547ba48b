-- Calendar connections: which external calendars (Google, Outlook, CalDAV,
-- ICS feeds) a user has linked, with the sync metadata the calendar worker
-- (issue 6) reads and writes, and the credentials it needs to reach them.
--
-- Credentials (OAuth tokens, CalDAV passwords, secret feed URLs) are kept
-- apart from the readable metadata, in a private table no API role can read,
-- encrypted with pgcrypto (pgp_sym_encrypt, AES-256) under a key that the
-- Edge Functions hold in their environment (CALENDAR_CREDENTIALS_KEY) and
-- pass in per call. The key is never stored in the database: a dump or a
-- replica of it holds only ciphertext.
--
-- Deleting a connection is a hard delete. A connection is configuration, not
-- history (meetings keep theirs in the audit log), and credentials a user
-- asked us to forget must not linger; the credentials row goes with it
-- (on delete cascade), and so will the synced events of issue 6.

-- Tables ---------------------------------------------------------------------

create table public.calendar_connections (
  id uuid primary key default extensions.gen_random_uuid(),
  owner_id uuid not null references public.profiles (id),
  provider text not null check (provider in ('google', 'outlook', 'caldav', 'ics')),
  -- Google / Outlook: the provider's calendar id ('primary' or an id string);
  -- CalDAV: the collection URL; ICS: the feed URL without its secret part
  -- (a tokenised feed URL is a credential and lives in calendar_credentials).
  calendar_ref text not null check (char_length(calendar_ref) between 1 and 2000),
  display_name text not null default '' check (char_length(display_name) <= 200),
  -- When two sources disagree about the same time, the higher priority wins.
  priority integer not null default 0 check (priority between 0 and 100),
  status text not null default 'pending'
    check (status in ('pending', 'active', 'error', 'disabled')),
  last_synced_at timestamptz,
  last_error text check (char_length(last_error) <= 2000),
  consecutive_failures integer not null default 0 check (consecutive_failures >= 0),
  next_attempt_at timestamptz,
  sync_requested_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint calendar_connections_once_per_owner unique (owner_id, provider, calendar_ref)
);
comment on table public.calendar_connections is
  'External calendars a user has linked, with sync metadata. Written through the calendar RPCs.';

create table private.calendar_credentials (
  connection_id uuid primary key
    references public.calendar_connections (id) on delete cascade,
  -- pgp_sym_encrypt(credentials json, key): never the plaintext, never the key.
  secret bytea not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table private.calendar_credentials is
  'Encrypted credentials of a calendar connection (pgcrypto, key held by the Edge Functions).';

-- Indexes --------------------------------------------------------------------

-- The unique constraint's index starts with owner_id: it serves the owner's
-- policy and the foreign key.
create index calendar_connections_due_idx on public.calendar_connections (next_attempt_at)
  where status <> 'disabled';

-- Triggers -------------------------------------------------------------------

create trigger calendar_connections_touch before update on public.calendar_connections
  for each row execute function private.touch_updated_at();
create trigger calendar_credentials_touch before update on private.calendar_credentials
  for each row execute function private.touch_updated_at();

-- RLS ------------------------------------------------------------------------

alter table public.calendar_connections enable row level security;
alter table private.calendar_credentials enable row level security;

create policy "Users can read their own calendar connections" on public.calendar_connections
  for select to authenticated
  using (owner_id = (select auth.uid()));

-- Internal functions ---------------------------------------------------------

create function private.calendar_connection_json(p_connection public.calendar_connections)
returns jsonb
language sql
immutable
set search_path = ''
as $$
  select jsonb_build_object(
    'id', p_connection.id,
    'owner_id', p_connection.owner_id,
    'provider', p_connection.provider,
    'calendar_ref', p_connection.calendar_ref,
    'display_name', p_connection.display_name,
    'priority', p_connection.priority,
    'status', p_connection.status,
    'last_synced_at', p_connection.last_synced_at,
    'last_error', p_connection.last_error,
    'consecutive_failures', p_connection.consecutive_failures,
    'next_attempt_at', p_connection.next_attempt_at,
    'sync_requested_at', p_connection.sync_requested_at,
    'created_at', p_connection.created_at,
    'updated_at', p_connection.updated_at
  );
$$;

-- Which credential fields each provider needs; every error at once.
create function private.calendar_input_errors(
  p_provider text,
  p_calendar_ref text,
  p_credentials jsonb,
  p_priority integer,
  p_display_name text
) returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_errors jsonb := '[]'::jsonb;
  v_required text[];
  v_field text;
begin
  if p_provider is null then
    v_errors := v_errors || private.field_error('provider', 'is required');
  elsif p_provider not in ('google', 'outlook', 'caldav', 'ics') then
    v_errors := v_errors || private.field_error('provider', 'must be google, outlook, caldav or ics');
  end if;

  if p_calendar_ref is null or btrim(p_calendar_ref) = '' then
    v_errors := v_errors || private.field_error('calendar_ref', 'is required');
  elsif char_length(p_calendar_ref) > 2000 then
    v_errors := v_errors || private.field_error('calendar_ref', 'at most 2000 characters');
  elsif p_provider in ('caldav', 'ics')
        and p_calendar_ref !~* '^(https?|webcal)://[^[:space:]/?#]+[^[:space:]]*$' then
    v_errors := v_errors || private.field_error('calendar_ref',
      'must be an http(s) URL for a ' || p_provider || ' calendar');
  elsif p_provider = 'caldav' and p_calendar_ref ~* '^webcal://' then
    v_errors := v_errors || private.field_error('calendar_ref', 'a CalDAV URL is http(s), not webcal');
  end if;

  if p_priority is not null and p_priority not between 0 and 100 then
    v_errors := v_errors || private.field_error('priority', 'must be between 0 and 100');
  end if;
  if char_length(p_display_name) > 200 then
    v_errors := v_errors || private.field_error('display_name', 'at most 200 characters');
  end if;

  if p_credentials is not null and jsonb_typeof(p_credentials) <> 'object' then
    return v_errors || private.field_error('credentials', 'must be an object');
  end if;
  if length(coalesce(p_credentials, '{}'::jsonb)::text) > 16384 then
    return v_errors || private.field_error('credentials', 'at most 16 KiB');
  end if;
  v_required := case p_provider
    when 'google' then array['access_token', 'refresh_token']
    when 'outlook' then array['access_token', 'refresh_token']
    when 'caldav' then array['username', 'password']
    else array[]::text[]
  end;
  foreach v_field in array v_required loop
    if jsonb_typeof(p_credentials -> v_field) is distinct from 'string'
       or btrim(p_credentials ->> v_field) = '' then
      v_errors := v_errors || private.field_error('credentials.' || v_field,
        'is required for a ' || p_provider || ' calendar');
    end if;
  end loop;
  return v_errors;
end
$$;

-- A key shorter than this is a configuration mistake, not a key.
create function private.require_calendar_key(p_key text) returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_key is null or char_length(p_key) < 32 then
    perform private.raise_error(500, 'calendar_key_missing',
      'the calendar credentials key is not configured (at least 32 characters)');
  end if;
end
$$;

-- For the sync worker (issue 6), which connects as postgres: the decrypted
-- credentials of one connection. No API role may execute it.
create function private.read_calendar_credentials(p_connection_id uuid, p_key text)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v_secret bytea;
begin
  perform private.require_calendar_key(p_key);
  select secret into v_secret from private.calendar_credentials where connection_id = p_connection_id;
  if v_secret is null then
    return null;
  end if;
  return extensions.pgp_sym_decrypt(v_secret, p_key)::jsonb;
end
$$;

-- Public RPCs ----------------------------------------------------------------

create function public.create_calendar_connection(
  p_provider text,
  p_calendar_ref text,
  p_credentials jsonb default null,
  p_encryption_key text default null,
  p_priority integer default 0,
  p_display_name text default ''
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := private.require_user();
  v_connection public.calendar_connections;
  v_credentials jsonb := nullif(coalesce(p_credentials, '{}'::jsonb), '{}'::jsonb);
begin
  perform private.require_active_profile(v_uid);
  perform private.raise_if_invalid(private.calendar_input_errors(
    p_provider, p_calendar_ref, p_credentials, p_priority, p_display_name));
  if v_credentials is not null then
    perform private.require_calendar_key(p_encryption_key);
  end if;

  begin
    insert into public.calendar_connections (owner_id, provider, calendar_ref, display_name, priority,
                                             next_attempt_at)
    values (v_uid, p_provider, btrim(p_calendar_ref), coalesce(p_display_name, ''),
            coalesce(p_priority, 0), now())
    returning * into v_connection;
  exception when unique_violation then
    perform private.raise_error(409, 'calendar_connection_exists',
      'this calendar is already connected',
      jsonb_build_object('connection_id', (
        select c.id from public.calendar_connections c
        where c.owner_id = v_uid and c.provider = p_provider and c.calendar_ref = btrim(p_calendar_ref))));
  end;

  if v_credentials is not null then
    insert into private.calendar_credentials (connection_id, secret)
    values (v_connection.id,
            extensions.pgp_sym_encrypt(v_credentials::text, p_encryption_key, 'cipher-algo=aes256'));
  end if;
  return private.calendar_connection_json(v_connection);
end
$$;
comment on function public.create_calendar_connection is
  'Link an external calendar for the signed-in user; credentials are stored encrypted with p_encryption_key, '
  'which the caller holds and the database never stores. The first sync is due at once.';

create function public.list_calendar_connections() returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select coalesce(jsonb_agg(private.calendar_connection_json(c) order by c.priority desc, c.created_at, c.id),
                  '[]'::jsonb)
  from public.calendar_connections c;
$$;
comment on function public.list_calendar_connections is
  'The signed-in user''s calendar connections (RLS decides), highest priority first.';

create function public.delete_calendar_connection(p_connection_id uuid) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := private.require_user();
  v_connection public.calendar_connections;
begin
  delete from public.calendar_connections
  where id = p_connection_id and owner_id = v_uid
  returning * into v_connection;
  if v_connection.id is null then
    perform private.raise_error(404, 'calendar_connection_not_found', 'calendar connection not found',
      jsonb_build_object('connection_id', p_connection_id));
  end if;
  return private.calendar_connection_json(v_connection) || jsonb_build_object('deleted', true);
end
$$;
comment on function public.delete_calendar_connection is
  'Unlink a calendar (hard delete): the connection and its encrypted credentials are removed.';

-- Marks connections due now and answers what was queued; the worker picks
-- them up by next_attempt_at. A request overrides a pending backoff, which
-- is the point of asking, but a disabled connection stays disabled.
create function public.request_calendar_sync(
  p_connection_id uuid default null,
  p_now timestamptz default null
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := private.require_user();
  v_now timestamptz := private.effective_now(p_now);
  v_queued jsonb;
begin
  if p_connection_id is not null and not exists (
    select 1 from public.calendar_connections where id = p_connection_id and owner_id = v_uid
  ) then
    perform private.raise_error(404, 'calendar_connection_not_found', 'calendar connection not found',
      jsonb_build_object('connection_id', p_connection_id));
  end if;

  with queued as (
    update public.calendar_connections c
    set next_attempt_at = v_now,
        sync_requested_at = v_now
    where c.owner_id = v_uid
      and (p_connection_id is null or c.id = p_connection_id)
      and c.status <> 'disabled'
    returning c.*
  )
  select coalesce(jsonb_agg(private.calendar_connection_json(q) order by q.priority desc, q.created_at, q.id),
                  '[]'::jsonb)
    into v_queued
  from queued q;

  return jsonb_build_object('queued', v_queued, 'requested_at', v_now);
end
$$;
comment on function public.request_calendar_sync is
  'Ask for a sync now of all the caller''s calendars, or of one; answers {queued: [...], requested_at}.';

-- Grants ---------------------------------------------------------------------

grant select on public.calendar_connections to authenticated, service_role;
grant execute on function
  public.create_calendar_connection(text, text, jsonb, text, integer, text),
  public.list_calendar_connections(),
  public.delete_calendar_connection(uuid),
  public.request_calendar_sync(uuid, timestamptz)
  to authenticated;
-- list_calendar_connections is security invoker and shapes rows with this.
grant execute on function private.calendar_connection_json(public.calendar_connections)
  to authenticated;
