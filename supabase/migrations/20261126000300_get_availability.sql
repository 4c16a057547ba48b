-- The availability engine: get_availability(users, window, duration, ...).
--
-- For each user, in one set-based query:
--   working time = ((weekly windows - time off) * daily limits + extra windows)
--                  expanded per local date in the user's own zone,
--   bookable     = working time * [now + minimum notice, end of the horizon) * window
--                  - busy rows (meetings) - external busy - days already full,
-- where every busy range is widened by the user's buffers: a slot [s, e) is
-- bookable exactly when [s - buffer_before, e + buffer_after), the busy row a
-- booking would write, overlaps none of the user's active busy rows, which is
-- the EXCLUDE constraint book_meeting must pass. All of it is tstzmultirange
-- arithmetic (range_agg, *, -, +); nothing iterates over minutes.
--
-- Several users: the intersection of their bookable time (range_intersect_agg),
-- or, with "at least N", the instants where at least N can start (a sweep over
-- everyone's start ranges), with who is free worked out for the page only.
-- Slots start on step boundaries of the display zone's wall clock.
--
-- Local times become instants by RFC 5545 3.3.5, as calendar data does: a time
-- the clock shows twice (the hour after clocks go back) is its first
-- occurrence; a time the clock skips is read with the offset before the jump
-- (02:30 on the spring-forward day is 03:30). So a 09:00-17:00 day is always
-- 09:00-17:00 on the wall clock, a 22:00-06:00 night across a change lasts 7
-- or 9 hours, and a local day runs from the first instant of its date to the
-- first instant of the next.

-- Settings -------------------------------------------------------------------

alter table private.settings
  add column availability_max_window_days integer not null default 92
    check (availability_max_window_days between 1 and 366),
  add column availability_max_users integer not null default 100
    check (availability_max_users between 1 and 1000),
  add column availability_max_limit integer not null default 1000
    check (availability_max_limit between 1 and 10000);

-- Local time -----------------------------------------------------------------

-- The instant a local wall-clock time of p_time_zone stands for (RFC 5545).
-- Postgres already reads a skipped time with the offset before the jump, but
-- resolves a repeated time to its later occurrence; when the offset in force
-- three hours earlier on the wall clock was ahead, the earlier occurrence
-- exists and is taken instead. Called only for days on which the clocks
-- change: every other day is plain arithmetic on its first instant.
create function private.local_instant(p_local timestamp, p_time_zone text) returns timestamptz
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
declare
  v_later timestamptz := p_local at time zone p_time_zone;
  v_probe timestamptz := (p_local - interval '3 hours') at time zone p_time_zone;
  v_earlier timestamptz := (p_local - ((v_probe at time zone p_time_zone) - (v_probe at time zone 'UTC')))
                           at time zone 'UTC';
begin
  if v_earlier < v_later and (v_earlier at time zone p_time_zone) = p_local then
    return v_earlier;
  end if;
  return v_later;
end
$$;

-- The local dates p_first..p_last of p_time_zone: the first instant of each
-- (a local day runs to the first instant of the next), and whether the day
-- (and the next) is a plain 24 hours without a clock change, on which a
-- local time is its day's first instant plus the time of day.
--
-- One time-zone conversion per day, in one window pass: Postgres's own
-- reading of midnight is right except where midnight happens twice (Havana
-- in November), which can only be next to a day that is not 24 hours long;
-- midnights next to such a day are read again by local_instant, and those
-- days are not plain.
create function private.local_days(p_time_zone text, p_first date, p_last date)
returns table (local_date date, starts_at timestamptz, ends_at timestamptz, steady boolean,
               next_steady boolean)
language plpgsql
stable
set search_path = ''
set plan_cache_mode = force_generic_plan
set jit = off
as $$
begin
  return query
  select x.d, x.starts_at, x.ends_at,
         x.len_before = interval '24 hours' and x.len = interval '24 hours'
           and x.len_after = interval '24 hours',
         x.len = interval '24 hours' and x.len_after = interval '24 hours'
           and x.len_after2 = interval '24 hours'
  from (
    select m.d,
           case when m.len_before = interval '24 hours' and m.len = interval '24 hours' then m.pg_at
                else private.local_instant(m.d::timestamp, p_time_zone) end as starts_at,
           case when m.len = interval '24 hours' and m.len_after = interval '24 hours' then m.pg_next
                else private.local_instant((m.d + 1)::timestamp, p_time_zone) end as ends_at,
           m.len_before, m.len, m.len_after, m.len_after2
    from (
      select n.d, n.pg_at, lead(n.pg_at) over w as pg_next,
             n.pg_at - lag(n.pg_at) over w as len_before,
             lead(n.pg_at) over w - n.pg_at as len,
             lead(n.pg_at, 2) over w - lead(n.pg_at) over w as len_after,
             lead(n.pg_at, 3) over w - lead(n.pg_at, 2) over w as len_after2
      from (
        select p_first + i as d, (p_first + i)::timestamp at time zone p_time_zone as pg_at
        from generate_series(-1, p_last - p_first + 3) as i
        -- Kept as a subquery so each midnight is converted once, not once
        -- per window function that reads it.
        offset 0
      ) n
      window w as (order by n.d)
    ) m
    where m.d between p_first and p_last
  ) x
  order by x.d;
end
$$;

-- The instants from local time p_from to p_to on p_date, given that day's
-- first instant and plainness at p_index in local_days() arrays (and the next
-- day's at p_index + 1); p_to at or before p_from is on the next day, 24:00
-- is the end of the day. Empty when the clock never shows the span (a window
-- inside the hour skipped in spring). Plain SQL without a SET clause so that
-- the planner inlines it into free_time (whose search_path is empty; it names
-- nothing unqualified but built-ins): on a plain day it is two additions.
create function private.window_range(
  p_day_starts timestamptz[],
  p_day_steady boolean[],
  p_index integer,
  p_date date,
  p_from time,
  p_to time,
  p_time_zone text
) returns tstzrange
language sql
stable
parallel safe
as $$
  select tstzrange(
    case when p_day_steady[p_index] then p_day_starts[p_index] + (p_from - time '00:00')
         else private.local_instant(p_date + p_from, p_time_zone) end,
    greatest(
      case when p_day_steady[p_index] then p_day_starts[p_index] + (p_from - time '00:00')
           else private.local_instant(p_date + p_from, p_time_zone) end,
      case when p_to > p_from
           then case when p_day_steady[p_index] then p_day_starts[p_index] + (p_to - time '00:00')
                     else private.local_instant(p_date + p_to, p_time_zone) end
           else case when p_day_steady[p_index + 1] then p_day_starts[p_index + 1] + (p_to - time '00:00')
                     else private.local_instant(p_date + 1 + p_to, p_time_zone) end
      end));
$$;

-- Cursor ---------------------------------------------------------------------

-- Opaque to clients: base64url of the last slot start returned. The next page
-- is every slot starting after it, so pages never overlap and never skip.
create function private.encode_slot_cursor(p_after timestamptz) returns text
language sql
immutable
set search_path = ''
as $$
  select rtrim(translate(encode(convert_to(
           'after:' || to_char(p_after at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'UTF8'),
           'base64'), '+/', '-_'), '=');
$$;

-- The instant a cursor stands for, or null when it is not one of ours.
create function private.decode_slot_cursor(p_cursor text) returns timestamptz
language plpgsql
stable
set search_path = ''
as $$
declare
  v_text text;
begin
  if p_cursor is null or p_cursor !~ '^[A-Za-z0-9_-]{1,200}$' then
    return null;
  end if;
  v_text := convert_from(decode(
    rpad(translate(p_cursor, '-_', '+/'), ((char_length(p_cursor) + 3) / 4) * 4, '='), 'base64'), 'UTF8');
  if v_text !~ '^after:[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$' then
    return null;
  end if;
  return substr(v_text, 7)::timestamptz;
exception
  when invalid_parameter_value or character_not_in_repertoire or untranslatable_character
    or datetime_field_overflow or invalid_datetime_format then
    return null;
end
$$;

-- Arguments ------------------------------------------------------------------

-- Every problem with get_availability's arguments, named as the API names
-- them (without the p_ prefix).
create function private.availability_argument_errors(
  p_user_ids uuid[],
  p_start timestamptz,
  p_end timestamptz,
  p_duration_minutes integer,
  p_step_minutes integer,
  p_time_zone text,
  p_min_attendees integer,
  p_cursor text,
  p_limit integer
) returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  s private.settings;
  v_errors jsonb := '[]'::jsonb;
  v_count integer := coalesce(cardinality(p_user_ids), 0);
  v_cursor timestamptz;
begin
  select * into s from private.settings;

  if v_count = 0 then
    v_errors := v_errors || private.field_error('user_ids', 'is required: at least one user id');
  elsif array_ndims(p_user_ids) <> 1 then
    v_errors := v_errors || private.field_error('user_ids', 'must be a flat list of user ids');
  elsif v_count > s.availability_max_users then
    v_errors := v_errors || private.field_error('user_ids',
      format('at most %s users per request', s.availability_max_users));
  elsif (select count(*) from public.profiles p where p.id = any (p_user_ids) and p.deleted_at is null)
        <> v_count then
    -- Fewer active profiles than ids: say which entries are null, repeated
    -- or unknown.
    v_errors := v_errors || coalesce((
      select jsonb_agg(private.field_error(format('user_ids[%s]', u.i - 1),
               case when u.id is null then 'must not be null'
                    when u.first_i < u.i then format('duplicate of user_ids[%s]', u.first_i - 1)
                    else 'no such user' end) order by u.i)
      from (
        select x.id, x.i, min(x.i) over (partition by x.id) as first_i
        from unnest(p_user_ids) with ordinality as x(id, i)
      ) u
      cross join (
        select coalesce(array_agg(p.id), '{}') as ids
        from public.profiles p
        where p.id = any (p_user_ids) and p.deleted_at is null
      ) known
      where u.id is null
         or u.first_i < u.i
         or not (u.id = any (known.ids))
    ), '[]'::jsonb);
  end if;

  if p_start is null or not isfinite(p_start) then
    v_errors := v_errors || private.field_error('start', 'is required: an ISO 8601 instant');
  end if;
  if p_end is null or not isfinite(p_end) then
    v_errors := v_errors || private.field_error('end', 'is required: an ISO 8601 instant');
  elsif isfinite(p_start) and p_end <= p_start then
    v_errors := v_errors || private.field_error('end', 'must be after start');
  elsif isfinite(p_start) and p_end - p_start > make_interval(days => s.availability_max_window_days) then
    v_errors := v_errors || private.field_error('end',
      format('the window may span at most %s days; page through longer periods',
             s.availability_max_window_days));
  end if;

  if p_duration_minutes is null or p_duration_minutes not between 5 and s.max_meeting_minutes then
    v_errors := v_errors || private.field_error('duration_minutes',
      format('must be between 5 and %s minutes', s.max_meeting_minutes));
  end if;
  if p_step_minutes is not null and p_step_minutes not between 5 and 1440 then
    v_errors := v_errors || private.field_error('step_minutes', 'must be between 5 and 1440 minutes');
  end if;
  -- The same test as private.is_valid_time_zone, inline: that helper is a
  -- SQL function, planned again on every call.
  if p_time_zone is not null
     and not exists (select 1 from private.time_zone_names z where z.name = p_time_zone) then
    v_errors := v_errors || private.field_error('time_zone',
      'unknown time zone ' || quote_literal(p_time_zone) || '; use an IANA name such as Europe/Berlin');
  end if;
  if p_min_attendees is not null and p_min_attendees not between 1 and greatest(v_count, 1) then
    v_errors := v_errors || private.field_error('min_attendees',
      format('must be between 1 and the number of users (%s)', v_count));
  end if;
  if p_cursor is not null then
    v_cursor := private.decode_slot_cursor(p_cursor);
    if v_cursor is null then
      v_errors := v_errors || private.field_error('cursor',
        'is not a cursor returned by get_availability');
    elsif isfinite(p_start) and isfinite(p_end) and (v_cursor < p_start or v_cursor >= p_end) then
      v_errors := v_errors || private.field_error('cursor',
        'belongs to another window; pass the same start and end as for the first page');
    end if;
  end if;
  if p_limit is not null and p_limit not between 1 and s.availability_max_limit then
    v_errors := v_errors || private.field_error('limit',
      format('must be between 1 and %s', s.availability_max_limit));
  end if;
  return v_errors;
end
$$;

-- Free time ------------------------------------------------------------------

-- Each user's bookable time within [p_from, p_to) as of p_now (see the top of
-- this file), one statement for all users.
--
-- Built so that its cost follows the users asked about, whatever the size of
-- the tables: every table is entered by user id (index), rules are expanded
-- with generate_series over their own weekday, and a day's first instant is
-- looked up by position in per-zone arrays rather than joined. Materialised
-- steps keep each value computed once; generic plans because planning this
-- statement costs more than running it; no JIT because its estimates
-- (set-returning functions) are pessimistic enough to trigger a compilation
-- that takes seconds.
create function private.free_time(
  p_user_ids uuid[],
  p_from timestamptz,
  p_to timestamptz,
  p_now timestamptz
) returns table (user_id uuid, free tstzmultirange)
language plpgsql
stable
set search_path = ''
set plan_cache_mode = force_generic_plan
set jit = off
as $$
begin
  return query
  with user_limit as materialized (
    select l.user_id, l.earliest_start, l.latest_end, l.horizon_days, l.max_meetings_per_day
    from public.availability_limits l
    where l.user_id = any (p_user_ids)
  ),
  person as materialized (
    select p.id, p.time_zone as tz,
           make_interval(mins => p.buffer_before_minutes) as before,
           make_interval(mins => p.buffer_after_minutes) as after,
           l.earliest_start, l.latest_end, l.max_meetings_per_day,
           greatest(p_from, p_now + make_interval(mins => p.minimum_notice_minutes)) as lo,
           -- least() skips a null horizon.
           least(p_to, case when l.horizon_days is not null then private.local_instant(
             ((p_now at time zone p.time_zone)::date + l.horizon_days + 1)::timestamp, p.time_zone) end) as hi
    from public.profiles p
    left join user_limit l on l.user_id = p.id
    where p.id = any (p_user_ids)
  ),
  span as materialized (
    -- From the day before: a window that starts then may run past midnight.
    select x.*, (x.lo at time zone x.tz)::date - 1 as first_day, (x.hi at time zone x.tz)::date as last_day
    from person x
    where x.lo < x.hi
  ),
  zone as materialized (
    -- Each zone's local days (one more at the end, for windows past
    -- midnight) as arrays: day i of a zone is first_day + i - 1.
    select z.tz, z.first_day,
           array_agg(d.starts_at order by d.local_date) as day_starts,
           array_agg(d.steady order by d.local_date) as day_steady
    from (select s.tz, min(s.first_day) as first_day, max(s.last_day) + 1 as last_day
          from span s group by s.tz) z
    cross join lateral private.local_days(z.tz, z.first_day, z.last_day) d
    group by z.tz, z.first_day
  ),
  person_zone as materialized (
    select s.id, s.tz, s.lo, s.hi, s.before, s.after, s.first_day, s.last_day,
           s.earliest_start, s.latest_end, s.max_meetings_per_day,
           s.first_day - z.first_day + 1 as first_index, z.day_starts, z.day_steady
    from span s
    join zone z on z.tz = s.tz
  ),
  rule as materialized (
    select w.user_id, w.weekday, w.start_time, w.end_time, w.valid_from, w.valid_until
    from public.working_hours w
    where w.user_id = any (p_user_ids)
  ),
  override as materialized (
    select o.user_id, o.date, o.kind, o.start_time, o.end_time
    from public.availability_overrides o
    where o.user_id = any (p_user_ids)
      and o.date between (select min(s.first_day) from span s) and (select max(s.last_day) from span s)
  ),
  -- A window from local time a to b on day k (0 = the user's first day);
  -- b at or before a is on the next day.
  weekly as (
    select pz.id, x.k, w.start_time as a, w.end_time as b
    from person_zone pz
    join rule w on w.user_id = pz.id
    cross join lateral (
      select (w.weekday - extract(isodow from pz.first_day)::integer + 7) % 7 + 7 * n as k
      from generate_series(0, (pz.last_day - pz.first_day) / 7) as n
    ) x
    where x.k <= pz.last_day - pz.first_day
      and (w.valid_from is null or w.valid_from <= pz.first_day + x.k)
      and (w.valid_until is null or w.valid_until >= pz.first_day + x.k)
  ),
  dated as (
    select pz.id, o.kind, o.date - pz.first_day as k,
           coalesce(o.start_time, time '00:00') as a, coalesce(o.end_time, time '24:00') as b
    from override o
    join person_zone pz on pz.id = o.user_id and o.date between pz.first_day and pz.last_day
  ),
  fence as (
    select pz.id, n as k, coalesce(pz.earliest_start, time '00:00') as a, coalesce(pz.latest_end, time '24:00') as b
    from person_zone pz
    cross join lateral generate_series(0, pz.last_day - pz.first_day) as n
    where pz.earliest_start is not null or pz.latest_end is not null
  ),
  window_range as (
    select x.id, x.kind, private.window_range(pz.day_starts, pz.day_steady, pz.first_index + x.k,
                                              pz.first_day + x.k, x.a, x.b, pz.tz) as r
    from (select id, 'weekly' as kind, k, a, b from weekly
          union all
          select id, kind, k, a, b from dated
          union all
          select id, 'fence', k, a, b from fence) x
    join person_zone pz on pz.id = x.id
  ),
  busy as (
    select s.id, tstzrange(lower(b.range) - s.after, upper(b.range) + s.before) as r
    from span s
    join private.busy_blocks b
      on b.user_id = s.id and b.active
     and b.range && tstzrange(s.lo - s.before, s.hi + s.after)
    union all
    select s.id, tstzrange(lower(e.range) - s.after, upper(e.range) + s.before)
    from span s
    join private.external_busy e
      on e.user_id = s.id
     and e.range && tstzrange(s.lo - s.before, s.hi + s.after)
  ),
  full_day as (
    -- Meetings count on the local date they start (their busy row starts
    -- earlier by the buffer it was padded with).
    select pz.id, private.window_range(pz.day_starts, pz.day_steady, pz.first_index + (c.d - pz.first_day),
                                       c.d, time '00:00', time '24:00', pz.tz) as r
    from (
      select s.id, ((lower(b.range) + make_interval(mins => b.buffer_before_minutes)) at time zone s.tz)::date as d
      from span s
      join private.busy_blocks b
        on b.user_id = s.id and b.active
       and b.range && tstzrange(s.lo - interval '2 days', s.hi + interval '2 days')
      where s.max_meetings_per_day is not null
      group by s.id, 2, s.max_meetings_per_day
      having count(*) >= s.max_meetings_per_day
    ) c
    join person_zone pz on pz.id = c.id and c.d between pz.first_day and pz.last_day
  ),
  by_user as (
    select x.id,
           range_agg(x.r) filter (where x.kind = 'weekly') as weekly,
           range_agg(x.r) filter (where x.kind = 'unavailable') as off_time,
           range_agg(x.r) filter (where x.kind = 'available') as extra,
           range_agg(x.r) filter (where x.kind = 'fence') as fence
    from window_range x
    group by x.id
  )
  select s.id,
         ((coalesce(u.weekly, '{}') - coalesce(u.off_time, '{}')) * coalesce(u.fence, '{(,)}')
           + coalesce(u.extra, '{}'))
         * tstzmultirange(tstzrange(s.lo, s.hi))
         - coalesce(bz.m, '{}')
         - coalesce(fd.m, '{}')
  from span s
  left join by_user u on u.id = s.id
  -- Sorted input lets range_agg skip its own sort (it checks for sorted
  -- input first): cheap timestamp comparisons instead of range comparisons.
  left join (select x.id, range_agg(x.r order by lower(x.r), upper(x.r)) as m from busy x group by x.id) bz
    on bz.id = s.id
  left join (select x.id, range_agg(x.r) as m from full_day x group by x.id) fd on fd.id = s.id
  union all
  select x.id, '{}'::tstzmultirange
  from person x
  where not x.lo < x.hi;
end
$$;

-- Slots ----------------------------------------------------------------------

-- Start instants of p_duration-minute slots inside each of p_frees, on
-- p_step-minute boundaries of p_time_zone's wall clock, counted from each
-- local midnight; slot_owner is the position in p_frees (1-based).
--
-- Most stretches where a slot may start are short and have the same UTC
-- offset at both ends. Those shorter than a week contain no clock change
-- (changes are weeks apart in every zone), so when the step divides the day
-- their boundaries are plain arithmetic on local seconds. The rest are cut at
-- the display zone's local midnights: on a plain day the boundaries are the
-- day's first instant plus multiples of the step; on a day the clocks change,
-- the series runs forwards from the first boundary (up to the change) and
-- backwards from the last (after it), keeping only wall-clock boundaries, so
-- a step that does not divide the change (45 minutes across a one-hour
-- change) still lands on :00, :45, :30 ... on both sides of it.
create function private.slot_starts(
  p_frees tstzmultirange[],
  p_duration_minutes integer,
  p_step_minutes integer,
  p_time_zone text
) returns table (slot_owner integer, starts_at timestamptz)
language plpgsql
stable
set search_path = ''
set plan_cache_mode = force_generic_plan
set jit = off
as $$
declare
  v_duration interval := make_interval(mins => p_duration_minutes);
  v_step interval := make_interval(mins => p_step_minutes);
  v_step_seconds double precision := p_step_minutes * 60;
  v_day_grid boolean := 1440 % p_step_minutes = 0;
begin
  return query
  with start_range as materialized (
    select fr.o::integer as owner, lower(f) as first_at, upper(f) - v_duration as last_at,
           date_part('epoch', lower(f) at time zone p_time_zone) - date_part('epoch', lower(f))
             as first_offset,
           date_part('epoch', (upper(f) - v_duration) at time zone p_time_zone)
             - date_part('epoch', upper(f) - v_duration) as last_offset
    from unnest(p_frees) with ordinality as fr(m, o)
    cross join lateral unnest(fr.m) as f
    where upper(f) - lower(f) >= v_duration
  ),
  irregular as materialized (
    select sr.owner, tstzrange(sr.first_at, sr.last_at, '[]') as r,
           (sr.first_at at time zone p_time_zone)::date as first_date,
           (sr.last_at at time zone p_time_zone)::date as last_date
    from start_range sr
    where not (v_day_grid and sr.first_offset = sr.last_offset and sr.last_at - sr.first_at < interval '7 days')
  ),
  display_day as materialized (
    select d.*
    from (select min(i.first_date) as first_date, max(i.last_date) as last_date from irregular i) b
    cross join lateral private.local_days(p_time_zone, b.first_date, b.last_date) d
  ),
  piece as materialized (
    select i.owner, i.r * tstzrange(dd.starts_at, dd.ends_at) as r, dd.steady, dd.starts_at as day_starts_at
    from irregular i
    cross join lateral generate_series(0, i.last_date - i.first_date) as n
    join display_day dd on dd.local_date = i.first_date + n
  ),
  bounds as materialized (
    select pc.owner, pc.steady, pc.day_starts_at, lower(pc.r) as first_at,
           case when upper_inc(pc.r) then upper(pc.r) else upper(pc.r) - interval '1 microsecond' end as last_at
    from piece pc
    where not isempty(pc.r)
  )
  select sr.owner, g
  from start_range sr
  cross join lateral generate_series(
    to_timestamp(ceil((date_part('epoch', sr.first_at) + sr.first_offset) / v_step_seconds) * v_step_seconds
                 - sr.first_offset),
    sr.last_at, v_step) as g
  where v_day_grid and sr.first_offset = sr.last_offset and sr.last_at - sr.first_at < interval '7 days'
  union all
  select b.owner, g
  from bounds b
  cross join lateral generate_series(
    b.day_starts_at + make_interval(secs =>
      ceil(extract(epoch from b.first_at - b.day_starts_at)::double precision / v_step_seconds) * v_step_seconds),
    b.last_at, v_step) as g
  where b.steady
  union all
  -- A day with a clock change: forwards up to the change (instants still
  -- on the offset of the piece's start), backwards after it.
  select t.owner, t.at
  from (
    select b.owner, g as at, true as before_change, b.first_offset
    from (select b.*, date_part('epoch', b.first_at at time zone p_time_zone) - date_part('epoch', b.first_at)
                        as first_offset,
                 b.first_at at time zone p_time_zone as first_local
          from bounds b where not b.steady offset 0) b
    cross join lateral generate_series(
      b.first_at + (date_trunc('day', b.first_local)
        + make_interval(secs => ceil(date_part('epoch', b.first_local::time) / v_step_seconds) * v_step_seconds)
        - b.first_local),
      b.last_at, v_step) as g
    union all
    select b.owner, g, false, b.first_offset
    from (select b.*, date_part('epoch', b.first_at at time zone p_time_zone) - date_part('epoch', b.first_at)
                        as first_offset,
                 b.last_at at time zone p_time_zone as last_local
          from bounds b where not b.steady offset 0) b
    cross join lateral generate_series(
      b.last_at - (b.last_local - (date_trunc('day', b.last_local)
        + make_interval(secs => floor(date_part('epoch', b.last_local::time) / v_step_seconds) * v_step_seconds))),
      b.first_at, -v_step) as g
  ) t
  cross join lateral (select t.at at time zone p_time_zone as l offset 0) tl
  where (date_part('epoch', tl.l) - date_part('epoch', t.at) = t.first_offset) = t.before_change
    and date_part('epoch', tl.l::time) = floor(date_part('epoch', tl.l::time) / v_step_seconds) * v_step_seconds;
end
$$;

-- "At least N" -------------------------------------------------------------

-- The instants at which a p_duration slot can start inside p_free: each
-- stretch long enough, shortened by the duration (end included).
create function private.start_ranges(p_free tstzmultirange, p_duration interval) returns tstzmultirange
language plpgsql
immutable
set search_path = ''
as $$
begin
  return (select coalesce(range_agg(tstzrange(lower(f), upper(f) - p_duration, '[]')), '{}')
          from unnest(p_free) as f
          where upper(f) - lower(f) >= p_duration);
end
$$;

-- The instants covered by at least p_min of p_sets: one sweep over the ends
-- of all their ranges (+1 where one begins, -1 just after one ends), so the
-- work follows the number of ranges, not of candidate slots.
create function private.quorum(p_sets tstzmultirange[], p_min integer) returns tstzmultirange
language plpgsql
stable
set search_path = ''
set plan_cache_mode = force_generic_plan
set jit = off
as $$
begin
  return (
    select coalesce(range_agg(tstzrange(c.at, c.next_at)), '{}')
    from (
      select e.at, sum(sum(e.delta)) over (order by e.at) as covering,
             lead(e.at) over (order by e.at) as next_at
      from (
        select lower(r) as at, 1 as delta
        from unnest(p_sets) as m, unnest(m) as r
        union all
        select case when upper_inc(r) then upper(r) + interval '1 microsecond' else upper(r) end, -1
        from unnest(p_sets) as m, unnest(m) as r
      ) e
      group by e.at
    ) c
    where c.covering >= p_min and c.next_at is not null
  );
end
$$;

-- The RPC --------------------------------------------------------------------

-- SECURITY DEFINER because it must read other people's busy rows, rules and
-- external calendar blocks, none of which the caller may read. It returns
-- only when people are free: no meeting, title, attendee or busy range ever
-- leaves it. The clock may be pinned into the past only by trusted callers
-- (private.effective_now).
--
-- The answer writes instants as ISO 8601 with the display zone's offset,
-- which is how to_jsonb writes a timestamptz in the session's time zone: the
-- zone is switched just for that, and the SET clause below puts the caller's
-- back when the function returns (a SET LOCAL inside a function with a SET
-- clause for the same setting ends with the function).
create function public.get_availability(
  p_user_ids uuid[],
  p_start timestamptz,
  p_end timestamptz,
  p_duration_minutes integer,
  p_step_minutes integer default null,
  p_time_zone text default 'UTC',
  p_min_attendees integer default null,
  p_cursor text default null,
  p_limit integer default 100,
  p_now timestamptz default null
) returns jsonb
language plpgsql
stable
security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
set jit = off
set timezone = 'UTC'
as $$
declare
  v_now timestamptz := private.effective_now(p_now);
  v_time_zone text := coalesce(p_time_zone, 'UTC');
  v_step integer := coalesce(p_step_minutes, p_duration_minutes);
  v_limit integer := coalesce(p_limit, 100);
  v_duration interval;
  v_from timestamptz;
  v_users uuid[];
  v_frees tstzmultirange[];
  v_user_starts tstzmultirange[];
  v_starts timestamptz[];
  v_who jsonb[];
begin
  perform private.raise_if_invalid(private.availability_argument_errors(
    p_user_ids, p_start, p_end, p_duration_minutes, p_step_minutes, p_time_zone, p_min_attendees,
    p_cursor, p_limit));
  v_duration := make_interval(mins => p_duration_minutes);
  -- Later pages compute only what lies after the cursor.
  v_from := greatest(p_start, private.decode_slot_cursor(p_cursor) + interval '1 microsecond');

  -- One slot more than the page holds tells whether there is a next page.
  if p_min_attendees is null then
    -- Everyone: slots in the intersection of their free time.
    select array[coalesce(range_intersect_agg(f.free), '{}')] into v_frees
    from private.free_time(p_user_ids, v_from, p_end, v_now) f;

    select array_agg(page.starts_at order by page.starts_at) into v_starts
    from (
      select s.starts_at
      from private.slot_starts(v_frees, p_duration_minutes, v_step, v_time_zone) s
      order by s.starts_at
      limit v_limit + 1
    ) page;
  else
    -- At least N: where at least N can start, by a sweep over everyone's
    -- start ranges; then, for the page only, who is free at each start.
    select array_agg(f.user_id order by array_position(p_user_ids, f.user_id)),
           array_agg(private.start_ranges(f.free, v_duration) order by array_position(p_user_ids, f.user_id))
      into v_users, v_user_starts
    from private.free_time(p_user_ids, v_from, p_end, v_now) f;

    -- slot_starts takes free time: a start set [a, b] is free time [a, b + duration).
    select array[coalesce(range_agg(tstzrange(lower(q), upper(q) - interval '1 microsecond' + v_duration)), '{}')]
      into v_frees
    from unnest(private.quorum(v_user_starts, p_min_attendees)) as q;

    select array_agg(page.starts_at order by page.starts_at) into v_starts
    from (
      select s.starts_at
      from private.slot_starts(v_frees, p_duration_minutes, v_step, v_time_zone) s
      order by s.starts_at
      limit v_limit + 1
    ) page;

    select array_agg(who.ids order by who.n) into v_who
    from (
      select st.n, to_jsonb(array_agg(v_users[us.o] order by us.o)) as ids
      from unnest(v_starts) with ordinality as st(at, n)
      join unnest(v_user_starts) with ordinality as us(m, o) on us.m @> st.at
      group by st.n
    ) who;
  end if;

  perform set_config('timezone', v_time_zone, true);
  return jsonb_build_object(
    'slots', coalesce((
      select jsonb_agg(case when v_who is null
                            then jsonb_build_object('start', u.starts_at, 'end', u.starts_at + v_duration)
                            else jsonb_build_object('start', u.starts_at, 'end', u.starts_at + v_duration,
                                                    'user_ids', v_who[u.n])
                       end order by u.n)
      from unnest(v_starts[1:v_limit]) with ordinality as u(starts_at, n)), '[]'::jsonb),
    'next_cursor', case when cardinality(v_starts) > v_limit
                        then private.encode_slot_cursor(v_starts[v_limit]) end);
end
$$;
comment on function public.get_availability(uuid[], timestamptz, timestamptz, integer, integer, text, integer, text, integer, timestamptz) is
  'Free slots of one or more users in a window: {"slots": [{"start", "end", "user_ids"?}], "next_cursor"}. '
  'Only free/busy is revealed. See docs/availability.md.';

-- Grants ---------------------------------------------------------------------

grant execute on function
  public.get_availability(uuid[], timestamptz, timestamptz, integer, integer, text, integer, text, integer, timestamptz)
  to authenticated, service_role;
