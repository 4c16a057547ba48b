-- Calendar sync (issue 6): the database side of two-way sync with Google,
-- Outlook (Microsoft Graph), CalDAV and ICS feeds. The calendar-sync Edge
-- Function does the I/O; everything it decides with is here:
--
--   claim    due connections with a lease (for update skip locked), so two
--            workers never sync one connection at once and a dead worker's
--            connection comes back when its lease runs out;
--   pull     what a provider answered replaces the occurrences of the items
--            it names (a full pull replaces them all), and the busy time of
--            every range it touched is worked out again: among the sources
--            describing the same time, the connection with the highest
--            priority decides (busy, or free); our own pushed meetings never
--            count as foreign busy time;
--   push     a plan of the meetings to write to (or remove from) each
--            writable calendar, and a mapping meeting -> (connection,
--            external id, etag) of what was written;
--   finish   success, or a failure with exponential backoff and jitter that
--            never retries sooner than the provider's Retry-After; after N
--            failures in a row the connection goes to `error` and its owner
--            gets one alert e-mail through the outbox (the outbox learns that
--            kind in 20261201000100_calendar_alert_email.sql, after the
--            migrations that redefine the outbox's kinds).
--
-- Conflicts between external busy time and booked meetings are not stored:
-- they are derived where they are read (private.meeting_json's `warnings`),
-- so they are never stale.

-- Tables -----------------------------------------------------------------------

create table private.calendar_settings (
  singleton boolean primary key default true check (singleton),
  -- A healthy connection is pulled this often (webhooks make it sooner).
  sync_interval_seconds integer not null default 900 check (sync_interval_seconds > 0),
  backoff_base_seconds integer not null default 30 check (backoff_base_seconds > 0),
  backoff_cap_seconds integer not null default 21600 check (backoff_cap_seconds > 0),
  -- Failures in a row before the connection is in `error` and its owner told.
  max_failures integer not null default 5 check (max_failures > 0),
  lease_seconds integer not null default 300 check (lease_seconds > 0),
  -- The window kept in sync: from a day ago to this many days ahead.
  horizon_days integer not null default 180 check (horizon_days between 1 and 1000)
);
insert into private.calendar_settings default values;
comment on table private.calendar_settings is 'Calendar sync tuning (one row).';

create table private.calendar_sync_state (
  connection_id uuid primary key references public.calendar_connections (id) on delete cascade,
  -- Google {syncToken}, Graph {deltaLink}, CalDAV {syncToken, ctag, etags},
  -- ICS {etag, lastModified}; all with horizonTo, the end of the window the
  -- last full pull expanded to.
  cursor jsonb,
  lease_token uuid,
  leased_until timestamptz,
  last_attempt_at timestamptz,
  last_full_sync_at timestamptz,
  -- Counts and the reasons events were skipped (never titles).
  last_pull jsonb,
  -- When the owner was told the connection is in error; cleared on success,
  -- so one alert per episode.
  alerted_at timestamptz,
  constraint calendar_sync_state_lease_whole check ((lease_token is null) = (leased_until is null))
);
comment on table private.calendar_sync_state is
  'Per connection: provider cursor, lease of the worker syncing it, last pull report.';

-- Every occurrence a connection holds in the window, busy or free. The busy
-- time in private.external_busy is derived from these rows.
create table private.calendar_events (
  connection_id uuid not null references public.calendar_connections (id) on delete cascade,
  user_id uuid not null references public.profiles (id),
  -- The unit of change in the source: event id, CalDAV resource, 'feed'.
  item_id text not null check (char_length(item_id) between 1 and 2048),
  occurrence_id text not null check (char_length(occurrence_id) between 1 and 1024),
  range tstzrange not null
    check (not isempty(range) and not lower_inf(range) and not upper_inf(range)),
  all_day boolean not null default false,
  free boolean not null default false,
  -- One of our meetings, written there by a push: never foreign busy time.
  meeting_id uuid,
  primary key (connection_id, item_id, occurrence_id)
);
comment on table private.calendar_events is
  'Occurrences pulled from external calendars (busy or free), one row per occurrence.';

create table private.calendar_pushed_events (
  meeting_id uuid not null references public.meetings (id) on delete cascade,
  connection_id uuid not null references public.calendar_connections (id) on delete cascade,
  external_id text not null check (char_length(external_id) between 1 and 2048),
  etag text check (char_length(etag) <= 1000),
  -- The meeting version written; a newer meeting version is pushed again.
  pushed_version integer not null,
  pushed_at timestamptz not null default now(),
  primary key (meeting_id, connection_id),
  constraint calendar_pushed_events_external_once unique (connection_id, external_id)
);
comment on table private.calendar_pushed_events is
  'Meetings written to external calendars: where (external id) and which version (etag, meeting version).';

-- Push notification channels (Google events.watch, Graph subscriptions): the
-- webhook finds the connection by channel id and checks the secret.
create table private.calendar_channels (
  channel_id text primary key check (char_length(channel_id) between 1 and 256),
  connection_id uuid not null references public.calendar_connections (id) on delete cascade,
  provider text not null check (provider in ('google', 'outlook')),
  secret text not null check (char_length(secret) >= 16),
  expires_at timestamptz,
  created_at timestamptz not null default now()
);
comment on table private.calendar_channels is
  'Provider push channels: a notification naming channel_id with the right secret marks the connection due.';

-- External busy time goes with the connection it came from, as the
-- availability migration anticipated (its rows name the connection).
alter table private.external_busy
  add constraint external_busy_connection_fk foreign key (connection_id)
    references public.calendar_connections (id) on delete cascade;

-- Indexes ----------------------------------------------------------------------

create index calendar_events_user_range_idx on private.calendar_events (user_id, range);
create index calendar_events_meeting_idx on private.calendar_events (meeting_id)
  where meeting_id is not null;
create index calendar_pushed_events_connection_idx on private.calendar_pushed_events (connection_id);
create index calendar_channels_connection_idx on private.calendar_channels (connection_id);

-- RLS --------------------------------------------------------------------------

alter table private.calendar_settings enable row level security;
alter table private.calendar_sync_state enable row level security;
alter table private.calendar_events enable row level security;
alter table private.calendar_pushed_events enable row level security;
alter table private.calendar_channels enable row level security;

-- Internal functions -----------------------------------------------------------

-- The sync window for a connection's owner at p_now.
create function private.calendar_window(p_now timestamptz) returns tstzrange
language sql
stable
set search_path = ''
as $$
  select tstzrange(p_now - interval '1 day',
                   p_now + make_interval(days => s.horizon_days))
  from private.calendar_settings s;
$$;

-- Work out again which source decides the busy time of each given range of
-- one user (null: every range the user has): the highest-priority
-- connection describing exactly that time wins; it blocks the time unless
-- it says free or it is one of our own meetings.
create function private.refresh_external_busy(p_user_id uuid, p_ranges tstzrange[])
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_inserted integer;
begin
  delete from private.external_busy b
  where b.user_id = p_user_id
    and b.connection_id is not null
    and (p_ranges is null or b.range = any (p_ranges));

  insert into private.external_busy (user_id, connection_id, external_id, range)
  select w.user_id, w.connection_id, w.occurrence_id, w.range
  from (
    select distinct on (e.range) e.user_id, e.connection_id, e.occurrence_id, e.range, e.free,
           e.meeting_id
    from private.calendar_events e
    join public.calendar_connections c on c.id = e.connection_id
    where e.user_id = p_user_id
      and c.status <> 'disabled'
      and (p_ranges is null or e.range = any (p_ranges))
    -- Within one source, a busy copy of the same time beats a free one.
    order by e.range, c.priority desc, c.created_at, c.id, e.free, e.occurrence_id
  ) w
  where not w.free and w.meeting_id is null
  on conflict do nothing;
  get diagnostics v_inserted = row_count;
  return v_inserted;
end
$$;

create function private.require_calendar_lease(p_connection_id uuid, p_lease_token uuid, p_now timestamptz)
returns public.calendar_connections
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_connection public.calendar_connections;
begin
  select c.* into v_connection
  from public.calendar_connections c
  join private.calendar_sync_state s on s.connection_id = c.id
  where c.id = p_connection_id and s.lease_token = p_lease_token and s.leased_until > p_now
  for update of c;
  if v_connection.id is null then
    perform private.raise_error(409, 'calendar_lease_lost',
      'this worker no longer holds the lease on the calendar connection',
      jsonb_build_object('connection_id', p_connection_id));
  end if;
  return v_connection;
end
$$;

-- Claim up to p_limit due connections for one worker run, each with a
-- fresh lease; what the worker needs comes with it. Connections named in
-- p_connection_ids (an operator's "sync this now") are claimed whether due
-- or not, unless another worker holds them or they are disabled.
create function private.claim_calendar_syncs(
  p_limit integer default 5,
  p_connection_ids uuid[] default null,
  p_now timestamptz default null
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := private.effective_now(p_now);
  v_settings private.calendar_settings;
  v_claimed jsonb;
begin
  select * into v_settings from private.calendar_settings;
  with due as (
    select c.id
    from public.calendar_connections c
    left join private.calendar_sync_state s on s.connection_id = c.id
    where c.status <> 'disabled'
      and (s.leased_until is null or s.leased_until <= v_now)
      and (case when p_connection_ids is null then c.next_attempt_at <= v_now
                else c.id = any (p_connection_ids) end)
    order by c.next_attempt_at, c.id
    limit greatest(p_limit, 0)
    for update of c skip locked
  ), leased as (
    insert into private.calendar_sync_state as s (connection_id, lease_token, leased_until,
                                                   last_attempt_at)
    select due.id, extensions.gen_random_uuid(),
           v_now + make_interval(secs => v_settings.lease_seconds), v_now
    from due
    on conflict (connection_id) do update
      set lease_token = excluded.lease_token,
          leased_until = excluded.leased_until,
          last_attempt_at = excluded.last_attempt_at
    returning s.connection_id, s.lease_token, s.cursor
  ), pushed_back as (
    -- While leased the connection is not due; if the worker dies it is due
    -- again when the lease runs out.
    update public.calendar_connections c
    set next_attempt_at = v_now + make_interval(secs => v_settings.lease_seconds)
    from leased l
    where c.id = l.connection_id
    returning c.*
  )
  select coalesce(jsonb_agg(jsonb_build_object(
           'connection_id', c.id,
           'lease_token', l.lease_token,
           'owner_id', c.owner_id,
           'provider', c.provider,
           'calendar_ref', c.calendar_ref,
           'priority', c.priority,
           'status', c.status,
           'consecutive_failures', c.consecutive_failures,
           'time_zone', p.time_zone,
           'cursor', l.cursor,
           'channel_open', exists (select 1 from private.calendar_channels ch
                                   where ch.connection_id = c.id
                                     and (ch.expires_at is null or ch.expires_at > v_now + interval '1 hour')),
           'window_start', lower(private.calendar_window(v_now)),
           'window_end', upper(private.calendar_window(v_now))
         ) order by c.next_attempt_at, c.id), '[]'::jsonb)
  into v_claimed
  from pushed_back c
  join leased l on l.connection_id = c.id
  join public.profiles p on p.id = c.owner_id;
  return v_claimed;
end
$$;

-- Store what a pull answered. p_items: [{itemId, etag, busy: [{externalId,
-- start, end, allDay, free, meetingId}]}]; p_removed: item ids gone.
create function private.apply_calendar_pull(
  p_connection_id uuid,
  p_lease_token uuid,
  p_full boolean,
  p_items jsonb,
  p_removed text[],
  p_cursor jsonb,
  p_report jsonb default '{}'::jsonb,
  p_now timestamptz default null
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := private.effective_now(p_now);
  v_connection public.calendar_connections;
  v_changed_items text[];
  v_old_ranges tstzrange[];
  v_new_ranges tstzrange[];
  v_inserted integer;
  v_busy integer;
begin
  v_connection := private.require_calendar_lease(p_connection_id, p_lease_token, v_now);
  if jsonb_typeof(coalesce(p_items, '[]'::jsonb)) <> 'array' then
    perform private.raise_error(422, 'invalid_pull', 'p_items must be a JSON array',
      jsonb_build_object('errors', jsonb_build_array(private.field_error('items', 'must be an array'))));
  end if;

  select coalesce(array_agg(i ->> 'itemId'), '{}') into v_changed_items
  from jsonb_array_elements(coalesce(p_items, '[]'::jsonb)) i;

  with gone as (
    delete from private.calendar_events e
    where e.connection_id = p_connection_id
      and (p_full or e.item_id = any (v_changed_items) or e.item_id = any (coalesce(p_removed, '{}')))
    returning e.range
  )
  -- A full pull works out every range of the user again below; an
  -- incremental one only the ranges it touched.
  select case when p_full then '{}' else coalesce(array_agg(distinct g.range), '{}') end
  into v_old_ranges from gone g;

  with incoming as (
    select i ->> 'itemId' as item_id, o ->> 'externalId' as occurrence_id,
           (o ->> 'start')::timestamptz as start_at, (o ->> 'end')::timestamptz as end_at,
           coalesce((o ->> 'allDay')::boolean, false) as all_day,
           coalesce((o ->> 'free')::boolean, false) as free,
           -- Our marker, when it names a meeting at all.
           case when o ->> 'meetingId' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                then (o ->> 'meetingId')::uuid end as marker
    from jsonb_array_elements(coalesce(p_items, '[]'::jsonb)) i,
         jsonb_array_elements(coalesce(i -> 'busy', '[]'::jsonb)) o
  ), added as (
    insert into private.calendar_events (connection_id, user_id, item_id, occurrence_id, range, all_day,
                                         free, meeting_id)
    select p_connection_id, v_connection.owner_id, n.item_id, n.occurrence_id,
           tstzrange(n.start_at, n.end_at), n.all_day, n.free,
           -- Ours: by the marker we put on it (if that meeting exists), or
           -- by what we pushed to this connection under that id.
           coalesce(m.id, p.meeting_id)
    from incoming n
    left join public.meetings m on m.id = n.marker
    left join private.calendar_pushed_events p
      on p.connection_id = p_connection_id and p.external_id = n.item_id
    where n.end_at > n.start_at
    on conflict do nothing
    returning range
  )
  select count(*), case when p_full then '{}' else coalesce(array_agg(distinct a.range), '{}') end
  into v_inserted, v_new_ranges
  from added a;

  if p_full then
    v_busy := private.refresh_external_busy(v_connection.owner_id, null);
  else
    v_busy := private.refresh_external_busy(v_connection.owner_id, v_old_ranges || v_new_ranges);
  end if;

  update private.calendar_sync_state
  set cursor = p_cursor,
      last_pull = coalesce(p_report, '{}'::jsonb) || jsonb_build_object(
        'full', p_full, 'items', cardinality(v_changed_items),
        'removed', cardinality(coalesce(p_removed, '{}')), 'occurrences', v_inserted, 'at', v_now),
      last_full_sync_at = case when p_full then v_now else last_full_sync_at end
  where connection_id = p_connection_id;

  return jsonb_build_object('occurrences', v_inserted, 'busy_rows', v_busy);
end
$$;

-- What to write to one writable calendar now: meetings of its owner
-- (organiser, or internal attendee who has not declined) that are confirmed,
-- end after the window starts and begin before it ends, and were never
-- written or changed since (upsert); and what was written but should no
-- longer be there (delete).
create function private.calendar_push_plan(
  p_connection_id uuid,
  p_lease_token uuid,
  p_now timestamptz default null
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := private.effective_now(p_now);
  v_connection public.calendar_connections;
  v_window tstzrange := private.calendar_window(v_now);
  v_plan jsonb;
begin
  v_connection := private.require_calendar_lease(p_connection_id, p_lease_token, v_now);
  if v_connection.provider = 'ics' then
    return '[]'::jsonb;
  end if;

  with wanted as (
    select m.*
    from public.meetings m
    join public.attendees a on a.meeting_id = m.id and a.user_id = v_connection.owner_id
    where m.status = 'confirmed'
      and a.response_status <> 'declined'
      and tstzrange(m.start_at, m.end_at) && v_window
  ), upserts as (
    select jsonb_build_object(
      'action', 'upsert',
      'meeting', jsonb_build_object(
        'meetingId', w.id,
        'title', w.title,
        'description', w.description,
        'location', nullif(w.location, ''),
        'start', w.start_at,
        'end', w.end_at,
        'allDay', w.all_day,
        'timeZone', w.time_zone,
        'sequence', w.version,
        'organizerEmail', (select a.email from public.attendees a
                           where a.meeting_id = w.id and a.role = 'organizer'),
        'attendees', coalesce((select jsonb_agg(jsonb_build_object('email', a.email,
                                                                   'name', nullif(a.display_name, ''))
                                                order by a.email)
                               from public.attendees a
                               where a.meeting_id = w.id and a.response_status <> 'declined'),
                              '[]'::jsonb)),
      'version', w.version,
      'mapping', case when p.meeting_id is null then null
                      else jsonb_build_object('externalId', p.external_id, 'etag', p.etag) end
    ) as step
    from wanted w
    left join private.calendar_pushed_events p
      on p.meeting_id = w.id and p.connection_id = p_connection_id
    where p.meeting_id is null or p.pushed_version < w.version
  ), deletes as (
    select jsonb_build_object(
      'action', 'delete',
      'meeting', jsonb_build_object('meetingId', p.meeting_id),
      'mapping', jsonb_build_object('externalId', p.external_id, 'etag', p.etag)
    ) as step
    from private.calendar_pushed_events p
    where p.connection_id = p_connection_id
      and not exists (select 1 from wanted w where w.id = p.meeting_id)
  )
  select coalesce(jsonb_agg(s.step), '[]'::jsonb) into v_plan
  from (select step from upserts union all select step from deletes) s;
  return v_plan;
end
$$;

-- A push succeeded: remember where the meeting is and which version.
create function private.record_calendar_push(
  p_connection_id uuid,
  p_lease_token uuid,
  p_meeting_id uuid,
  p_external_id text,
  p_etag text,
  p_version integer,
  p_now timestamptz default null
) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := private.effective_now(p_now);
  v_connection public.calendar_connections;
  v_ranges tstzrange[];
begin
  v_connection := private.require_calendar_lease(p_connection_id, p_lease_token, v_now);
  insert into private.calendar_pushed_events (meeting_id, connection_id, external_id, etag,
                                              pushed_version, pushed_at)
  values (p_meeting_id, p_connection_id, p_external_id, p_etag, p_version, v_now)
  on conflict (meeting_id, connection_id) do update
    set external_id = excluded.external_id, etag = excluded.etag,
        pushed_version = excluded.pushed_version, pushed_at = excluded.pushed_at;
  -- Pulled before we knew it was ours: it stops counting as foreign now.
  with ours as (
    update private.calendar_events e
    set meeting_id = p_meeting_id
    where e.connection_id = p_connection_id and e.item_id = p_external_id
      and e.meeting_id is distinct from p_meeting_id
    returning e.range
  )
  select array_agg(o.range) into v_ranges from ours o;
  if v_ranges is not null then
    perform private.refresh_external_busy(v_connection.owner_id, v_ranges);
  end if;
end
$$;

-- A meeting was removed from the calendar (or was already gone there).
create function private.forget_calendar_push(
  p_connection_id uuid,
  p_lease_token uuid,
  p_meeting_id uuid,
  p_now timestamptz default null
) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.require_calendar_lease(p_connection_id, p_lease_token,
                                         private.effective_now(p_now));
  delete from private.calendar_pushed_events
  where connection_id = p_connection_id and meeting_id = p_meeting_id;
end
$$;

-- Refreshed OAuth tokens, encrypted again under the functions' key.
create function private.store_calendar_credentials(
  p_connection_id uuid,
  p_lease_token uuid,
  p_credentials jsonb,
  p_key text,
  p_now timestamptz default null
) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.require_calendar_lease(p_connection_id, p_lease_token,
                                         private.effective_now(p_now));
  perform private.require_calendar_key(p_key);
  update private.calendar_credentials
  set secret = extensions.pgp_sym_encrypt(p_credentials::text, p_key, 'cipher-algo=aes256')
  where connection_id = p_connection_id;
end
$$;

-- The delay before the next attempt after `p_failures` failures in a row:
-- uniform in [0, min(cap, base * 2^(failures - 1))], never under Retry-After.
create function private.calendar_backoff(p_failures integer, p_retry_after_seconds numeric)
returns interval
language sql
volatile
set search_path = ''
as $$
  select make_interval(secs => greatest(
    coalesce(p_retry_after_seconds, 0),
    random() * least(s.backoff_cap_seconds::numeric,
                     s.backoff_base_seconds * power(2::numeric, least(greatest(p_failures - 1, 0), 30)))))
  from private.calendar_settings s;
$$;

-- End a sync run: success, or a failure scheduled for retry. p_permanent
-- (credentials refused) puts the connection in `error` at once.
create function private.finish_calendar_sync(
  p_connection_id uuid,
  p_lease_token uuid,
  p_error text default null,
  p_retry_after_seconds numeric default null,
  p_permanent boolean default false,
  p_now timestamptz default null
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := private.effective_now(p_now);
  v_settings private.calendar_settings;
  v_connection public.calendar_connections;
  v_state private.calendar_sync_state;
  v_failures integer;
  v_status text;
  v_alert_id bigint;
begin
  v_connection := private.require_calendar_lease(p_connection_id, p_lease_token, v_now);
  select * into v_settings from private.calendar_settings;

  if p_error is null then
    update public.calendar_connections
    set status = 'active', last_synced_at = v_now, last_error = null, consecutive_failures = 0,
        next_attempt_at = v_now + make_interval(secs => v_settings.sync_interval_seconds)
    where id = p_connection_id;
    update private.calendar_sync_state
    set lease_token = null, leased_until = null, alerted_at = null
    where connection_id = p_connection_id;
    return jsonb_build_object('status', 'active', 'consecutive_failures', 0);
  end if;

  v_failures := v_connection.consecutive_failures + 1;
  v_status := case when p_permanent or v_failures >= v_settings.max_failures then 'error'
                   else v_connection.status end;
  update public.calendar_connections
  set status = v_status,
      last_error = left(p_error, 2000),
      consecutive_failures = v_failures,
      next_attempt_at = v_now + private.calendar_backoff(v_failures, p_retry_after_seconds)
  where id = p_connection_id;

  update private.calendar_sync_state
  set lease_token = null, leased_until = null
  where connection_id = p_connection_id
  returning * into v_state;

  if v_status = 'error' and v_state.alerted_at is null then
    insert into private.email_outbox (meeting_id, recipient_email, recipient_user_id, kind,
                                      meeting_version, payload)
    select null, u.email, v_connection.owner_id, 'calendar_sync_failed', 0,
           jsonb_build_object('connection_id', v_connection.id,
                              'provider', v_connection.provider,
                              'display_name', v_connection.display_name,
                              'calendar_ref', case when v_connection.provider in ('google', 'outlook')
                                                   then v_connection.calendar_ref end,
                              'consecutive_failures', v_failures,
                              'last_error', left(p_error, 500),
                              'reconnect', p_permanent,
                              'failed_at', v_now)
    from auth.users u
    where u.id = v_connection.owner_id and u.email is not null
    returning id into v_alert_id;
    update private.calendar_sync_state set alerted_at = v_now where connection_id = p_connection_id;
  end if;

  return jsonb_build_object('status', v_status, 'consecutive_failures', v_failures,
                            'alert_outbox_id', v_alert_id);
end
$$;

-- A push channel the worker opened at the provider; older channels of the
-- connection are dropped (they expire at the provider on their own).
create function private.save_calendar_channel(
  p_connection_id uuid,
  p_lease_token uuid,
  p_provider text,
  p_channel_id text,
  p_secret text,
  p_expires_at timestamptz,
  p_now timestamptz default null
) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.require_calendar_lease(p_connection_id, p_lease_token,
                                         private.effective_now(p_now));
  delete from private.calendar_channels where connection_id = p_connection_id;
  insert into private.calendar_channels (channel_id, connection_id, provider, secret, expires_at)
  values (p_channel_id, p_connection_id, p_provider, p_secret, p_expires_at);
end
$$;

-- A provider notification (webhook) for a channel: mark its connection due.
-- Unknown channels and wrong secrets answer null and change nothing.
create function private.calendar_channel_notified(
  p_channel_id text,
  p_secret text,
  p_now timestamptz default null
) returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := private.effective_now(p_now);
  v_connection_id uuid;
begin
  update public.calendar_connections c
  set next_attempt_at = least(c.next_attempt_at, v_now), sync_requested_at = v_now
  from private.calendar_channels ch
  where ch.channel_id = p_channel_id
    and ch.connection_id = c.id
    and extensions.digest(ch.secret, 'sha256') = extensions.digest(coalesce(p_secret, ''), 'sha256')
    and c.status <> 'disabled'
  returning c.id into v_connection_id;
  return v_connection_id;
end
$$;

-- Wake the calendar-sync function (Vault holds where it is and the key), as
-- the e-mail sender is woken.
create function private.wake_calendar_sync() returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_url text;
  v_key text;
begin
  select s.decrypted_secret into v_url from vault.decrypted_secrets s where s.name = 'project_url';
  select s.decrypted_secret into v_key from vault.decrypted_secrets s where s.name = 'service_role_key';
  if v_url is null or v_key is null then
    raise warning 'calendar sync not woken: Vault secrets project_url and service_role_key are not set';
    return null;
  end if;
  return net.http_post(
    url => rtrim(v_url, '/') || '/functions/v1/calendar-sync',
    body => jsonb_build_object('reason', 'wake'),
    headers => jsonb_build_object('Content-Type', 'application/json',
                                  'Authorization', 'Bearer ' || v_key),
    timeout_milliseconds => 60000);
end
$$;

-- The pg_cron job's body: wake the worker when anything is due.
create function private.calendar_tick(p_now timestamptz default null) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := private.effective_now(p_now);
  v_due integer;
begin
  select count(*) into v_due
  from public.calendar_connections c
  left join private.calendar_sync_state s on s.connection_id = c.id
  where c.status <> 'disabled' and c.next_attempt_at <= v_now
    and (s.leased_until is null or s.leased_until <= v_now);
  return jsonb_build_object('due', v_due,
                            'wake_request_id', case when v_due > 0 then private.wake_calendar_sync() end);
end
$$;

-- Triggers -----------------------------------------------------------------------

-- A connection made due now (created, sync requested, webhook) wakes the
-- worker once per statement, after commit (pg_net sends on commit).
create function private.wake_calendar_sync_when_due() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if exists (select 1 from new_rows n where n.status <> 'disabled' and n.next_attempt_at <= now()) then
    perform private.wake_calendar_sync();
  end if;
  return null;
end
$$;

create trigger calendar_connections_wake_on_insert
  after insert on public.calendar_connections
  referencing new table as new_rows
  for each statement execute function private.wake_calendar_sync_when_due();
create trigger calendar_connections_wake_on_update
  after update on public.calendar_connections
  referencing new table as new_rows
  for each statement execute function private.wake_calendar_sync_when_due();

-- A meeting created, moved or cancelled (or its attendees changed) makes the
-- writable calendars of its internal participants due, so the push follows
-- promptly. A connection in backoff keeps its backoff.
create function private.calendar_push_due_for_meetings() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_owners uuid[];
begin
  -- Most people have no connection: look before touching the table, whose
  -- own statement triggers would otherwise run for nothing on every booking.
  v_owners := array(select distinct a.user_id from public.attendees a
                    where a.meeting_id in (select n.id from new_rows n) and a.user_id is not null);
  if not exists (select 1 from public.calendar_connections c where c.owner_id = any (v_owners)) then
    return null;
  end if;
  update public.calendar_connections c
  set next_attempt_at = now()
  where c.provider <> 'ics'
    and c.status <> 'disabled'
    and c.consecutive_failures = 0
    and c.next_attempt_at > now()
    and c.owner_id = any (v_owners);
  return null;
end
$$;

create function private.calendar_push_due_for_attendees() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if not exists (select 1 from public.calendar_connections c
                 where c.owner_id in (select n.user_id from changed_rows n where n.user_id is not null)) then
    return null;
  end if;
  update public.calendar_connections c
  set next_attempt_at = now()
  where c.provider <> 'ics'
    and c.status <> 'disabled'
    and c.consecutive_failures = 0
    and c.next_attempt_at > now()
    and c.owner_id in (select n.user_id from changed_rows n where n.user_id is not null);
  return null;
end
$$;

-- Attendees' own trigger covers new meetings (their rows come after the
-- meeting's); this one covers changes to an existing meeting.
create trigger meetings_calendar_push
  after update on public.meetings
  referencing new table as new_rows
  for each statement execute function private.calendar_push_due_for_meetings();
create trigger attendees_calendar_push_insert
  after insert on public.attendees
  referencing new table as changed_rows
  for each statement execute function private.calendar_push_due_for_attendees();
create trigger attendees_calendar_push_update
  after update on public.attendees
  referencing new table as changed_rows
  for each statement execute function private.calendar_push_due_for_attendees();
create trigger attendees_calendar_push_delete
  after delete on public.attendees
  referencing old table as changed_rows
  for each statement execute function private.calendar_push_due_for_attendees();

-- A connection's priority or status change reorders who decides each time.
create function private.calendar_refresh_busy_on_priority() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_owner uuid;
begin
  for v_owner in
    select distinct n.owner_id from new_rows n join old_rows o on o.id = n.id
    where n.priority <> o.priority or (n.status = 'disabled') <> (o.status = 'disabled')
  loop
    perform private.refresh_external_busy(v_owner, null);
  end loop;
  return null;
end
$$;

create trigger calendar_connections_refresh_busy
  after update on public.calendar_connections
  referencing new table as new_rows old table as old_rows
  for each statement execute function private.calendar_refresh_busy_on_priority();

-- A connection removed takes its events and busy rows with it (cascade);
-- time it shadowed in the owner's other calendars counts again.
create function private.calendar_refresh_busy_on_delete() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_owner uuid;
begin
  for v_owner in select distinct o.owner_id from old_rows o loop
    perform private.refresh_external_busy(v_owner, null);
  end loop;
  return null;
end
$$;

create trigger calendar_connections_refresh_busy_on_delete
  after delete on public.calendar_connections
  referencing old table as old_rows
  for each statement execute function private.calendar_refresh_busy_on_delete();

-- Views --------------------------------------------------------------------------

-- Every connection's sync state: the owner sees their own, service_role all.
-- The last pull's skipped events are listed by id and reason, never title.
create view public.calendar_sync_health as
select c.id as connection_id,
       c.owner_id,
       c.provider,
       c.display_name,
       c.priority,
       c.status,
       c.last_synced_at,
       c.last_error,
       c.consecutive_failures,
       c.next_attempt_at,
       s.last_attempt_at,
       s.last_full_sync_at,
       coalesce(s.leased_until > now(), false) as syncing,
       (select count(*) from private.calendar_events e where e.connection_id = c.id) as event_count,
       (select count(*) from private.external_busy b where b.connection_id = c.id) as busy_count,
       (select count(*) from private.calendar_pushed_events p where p.connection_id = c.id)
         as pushed_count,
       coalesce(jsonb_array_length(s.last_pull -> 'skipped'), 0) as skipped_count,
       coalesce(s.last_pull -> 'skipped', '[]'::jsonb) as skipped,
       s.alerted_at
from public.calendar_connections c
left join private.calendar_sync_state s on s.connection_id = c.id
where c.owner_id = (select auth.uid()) or (select auth.role()) = 'service_role';
comment on view public.calendar_sync_health is
  'Per calendar connection: status, failures, next attempt, counts, last pull''s skipped events. Owners see theirs.';

-- Jobs -----------------------------------------------------------------------------

select cron.schedule('calendar-sync-tick', '* * * * *', 'select private.calendar_tick()');

-- Grants ---------------------------------------------------------------------------

grant select on public.calendar_sync_health to authenticated, service_role;
