-- Busy time from people's external calendars (Google, Outlook, CalDAV, ICS).
-- Calendar sync fills it; the availability engine subtracts it like a
-- meeting. Only busy ("opaque") events are stored: a sync never inserts an
-- event marked free/transparent, so every row here counts.
--
-- These are other people's private events: no API role but service_role may
-- read them, and nothing but free/busy ever leaves the database through
-- get_availability.

create table private.external_busy (
  id bigint generated always as identity primary key,
  user_id uuid not null references public.profiles (id),
  -- The calendar connection the event came from. Null for busy time entered
  -- by an operator or imported once; the connections table (calendar sync)
  -- will reference it.
  connection_id uuid,
  -- The event's identity in its source (for recurring events, one id per
  -- occurrence), so a re-sync updates instead of duplicating.
  external_id text not null check (char_length(external_id) between 1 and 1024),
  range tstzrange not null
    check (not isempty(range) and not lower_inf(range) and not upper_inf(range)),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint external_busy_one_per_event unique nulls not distinct (user_id, connection_id, external_id)
);
comment on table private.external_busy is
  'Busy blocks from external calendars, one per (user, connection, event occurrence). Free events are never stored.';

-- The availability engine asks "this user's busy time overlapping a window".
create index external_busy_user_range_idx on private.external_busy using gist (user_id, range);
create index external_busy_connection_idx on private.external_busy (connection_id)
  where connection_id is not null;

create trigger external_busy_touch before update on private.external_busy
  for each row execute function private.touch_updated_at();

alter table private.external_busy enable row level security;
grant select, insert, update, delete on private.external_busy to service_role;
