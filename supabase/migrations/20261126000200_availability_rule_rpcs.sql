-- RPCs through which a user reads and changes their own availability rules
-- (supabase.rpc(...) and, later, the REST routes). See docs/availability.md.
--
-- Writes are SECURITY DEFINER because the tables grant API roles no
-- INSERT/UPDATE/DELETE: every write is validated here first, so a bad value
-- is a PT422 naming the field (not a bare check violation), and the owner is
-- always the caller (auth.uid()), never an argument. A rule id the caller
-- does not own is answered PT404, as if it did not exist. Reads are
-- SECURITY INVOKER and rely on the tables' RLS alone.
--
-- Times of day are "HH:MM" in the owner's time zone (profiles.time_zone);
-- 24:00 is the end of a day; dates are local dates.

-- Internal functions ---------------------------------------------------------

create function private.time_of_day_text(p_time time) returns text
language sql
immutable
set search_path = ''
as $$
  select left(p_time::text, 5);
$$;

create function private.working_hours_json(p public.working_hours) returns jsonb
language sql
immutable
set search_path = ''
as $$
  select jsonb_build_object(
    'id', p.id,
    'weekday', p.weekday,
    'start_time', private.time_of_day_text(p.start_time),
    'end_time', private.time_of_day_text(p.end_time),
    'crosses_midnight', p.end_time <= p.start_time,
    'valid_from', p.valid_from,
    'valid_until', p.valid_until
  );
$$;

create function private.availability_override_json(p public.availability_overrides) returns jsonb
language sql
immutable
set search_path = ''
as $$
  select jsonb_build_object(
    'id', p.id,
    'date', p.date,
    'kind', p.kind,
    'start_time', private.time_of_day_text(p.start_time),
    'end_time', private.time_of_day_text(p.end_time),
    'whole_day', p.start_time is null
  );
$$;

create function private.availability_limits_json(p public.availability_limits) returns jsonb
language sql
immutable
set search_path = ''
as $$
  select jsonb_build_object(
    'earliest_start', private.time_of_day_text(p.earliest_start),
    'latest_end', private.time_of_day_text(p.latest_end),
    'horizon_days', p.horizon_days,
    'max_meetings_per_day', p.max_meetings_per_day
  );
$$;

-- "HH:MM" (or "HH:MM:00"), 00:00 to 24:00, or null when it is not one.
create function private.parse_time_of_day(p_text text) returns time
language sql
immutable
set search_path = ''
as $$
  select case when p_text ~ '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)(:00)?$' then p_text::time end;
$$;

-- "YYYY-MM-DD", or null when it is not a real date.
create function private.parse_date(p_text text) returns date
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_text !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' then
    return null;
  end if;
  return p_text::date;
exception when datetime_field_overflow or invalid_datetime_format then
  return null;
end
$$;

-- Why a time of day is unacceptable, or null. p_is_end allows 24:00.
create function private.time_of_day_problem(p_time time, p_is_end boolean) returns text
language sql
immutable
set search_path = ''
as $$
  select case
    when p_time is null then 'is required'
    when extract(second from p_time) <> 0 then 'must be whole minutes (HH:MM)'
    when not p_is_end and p_time >= time '24:00' then 'must be before 24:00'
    when p_is_end and p_time = time '00:00' then 'use 24:00 for the end of the day'
  end;
$$;

-- Every problem with one weekly window; field names start with p_prefix.
create function private.working_hours_errors(
  p_prefix text,
  p_weekday integer,
  p_start_time time,
  p_end_time time,
  p_valid_from date,
  p_valid_until date
) returns jsonb
language sql
immutable
set search_path = ''
as $$
  select coalesce(jsonb_agg(private.field_error(p_prefix || f, m)), '[]'::jsonb)
  from (
    select 'weekday' as f, 'must be 1 (Monday) to 7 (Sunday)' as m
    where p_weekday is null or p_weekday not between 1 and 7
    union all
    select 'start_time', private.time_of_day_problem(p_start_time, false)
    where private.time_of_day_problem(p_start_time, false) is not null
    union all
    select 'end_time', private.time_of_day_problem(p_end_time, true)
    where private.time_of_day_problem(p_end_time, true) is not null
    union all
    select 'end_time', 'must differ from start_time (an end before the start runs past midnight)'
    where p_start_time = p_end_time
    union all
    select 'valid_from', 'must be a finite date' where not isfinite(p_valid_from)
    union all
    select 'valid_until', 'must be a finite date' where not isfinite(p_valid_until)
    union all
    select 'valid_until', 'must not be before valid_from' where p_valid_until < p_valid_from
  ) problems;
$$;

create function private.availability_override_errors(
  p_date date,
  p_kind text,
  p_start_time time,
  p_end_time time
) returns jsonb
language sql
immutable
set search_path = ''
as $$
  select coalesce(jsonb_agg(private.field_error(f, m)), '[]'::jsonb)
  from (
    select 'date' as f, 'is required' as m where p_date is null
    union all
    select 'date', 'must be a finite date' where not isfinite(p_date)
    union all
    select 'kind', 'must be available or unavailable'
    where p_kind is null or p_kind not in ('available', 'unavailable')
    union all
    select 'start_time', 'is required for an available window'
    where p_kind = 'available' and p_start_time is null
    union all
    select 'end_time', 'is required for an available window'
    where p_kind = 'available' and p_end_time is null
    union all
    select case when p_start_time is null then 'start_time' else 'end_time' end,
           'start_time and end_time go together (neither: the whole date off)'
    where p_kind = 'unavailable' and (p_start_time is null) <> (p_end_time is null)
    union all
    select 'start_time', private.time_of_day_problem(p_start_time, false)
    where p_start_time is not null and private.time_of_day_problem(p_start_time, false) is not null
    union all
    select 'end_time', private.time_of_day_problem(p_end_time, true)
    where p_end_time is not null and private.time_of_day_problem(p_end_time, true) is not null
    union all
    select 'end_time', 'must differ from start_time (an end before the start runs past midnight)'
    where p_start_time = p_end_time
  ) problems;
$$;

-- The caller, who must have an active profile; their profile row is locked
-- so that concurrent edits of their rules queue up (the caps below hold).
create function private.lock_rules_owner() returns uuid
language plpgsql
set search_path = ''
as $$
declare
  v_uid uuid := private.require_user();
begin
  perform 1 from public.profiles where id = v_uid and deleted_at is null for no key update;
  if not found then
    perform private.raise_error(403, 'account_unavailable', 'your account has no active profile');
  end if;
  return v_uid;
end
$$;

create function private.max_working_hours_windows() returns integer
language sql
immutable
set search_path = ''
as $$
  select 50;
$$;

create function private.max_overrides_per_date() returns integer
language sql
immutable
set search_path = ''
as $$
  select 20;
$$;

create function private.raise_rule_not_found(p_code text, p_id uuid) returns void
language plpgsql
set search_path = ''
as $$
begin
  perform private.raise_error(404, p_code, replace(p_code, '_', ' '), jsonb_build_object('id', p_id));
end
$$;

-- Public RPCs: reading -------------------------------------------------------

create function public.get_availability_rules() returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_uid uuid := private.require_user();
  v jsonb;
begin
  select jsonb_build_object(
           'user_id', p.id,
           'time_zone', p.time_zone,
           'minimum_notice_minutes', p.minimum_notice_minutes,
           'buffer_before_minutes', p.buffer_before_minutes,
           'buffer_after_minutes', p.buffer_after_minutes,
           'working_hours', coalesce((
             select jsonb_agg(private.working_hours_json(w)
                              order by w.weekday, w.start_time, w.valid_from nulls first, w.id)
             from public.working_hours w where w.user_id = p.id), '[]'::jsonb),
           'limits', coalesce((
             select private.availability_limits_json(l)
             from public.availability_limits l where l.user_id = p.id),
             jsonb_build_object('earliest_start', null, 'latest_end', null,
                                'horizon_days', null, 'max_meetings_per_day', null)))
    into v
  from public.profiles p
  where p.id = v_uid and p.deleted_at is null;
  if v is null then
    perform private.raise_error(403, 'account_unavailable', 'your account has no active profile');
  end if;
  return v;
end
$$;
comment on function public.get_availability_rules() is
  'The caller''s time zone, notice, buffers, weekly working hours and limits.';

create function public.list_availability_overrides(
  p_from date default null,
  p_to date default null
) returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  perform private.require_user();
  if p_to < p_from then
    perform private.raise_if_invalid(jsonb_build_array(
      private.field_error('to', 'must not be before from')));
  end if;
  return coalesce((
    select jsonb_agg(private.availability_override_json(o)
                     order by o.date, o.start_time nulls first, o.id)
    from public.availability_overrides o
    where o.user_id = (select auth.uid())
      and (p_from is null or o.date >= p_from)
      and (p_to is null or o.date <= p_to)
  ), '[]'::jsonb);
end
$$;
comment on function public.list_availability_overrides(date, date) is
  'The caller''s date overrides between two local dates (inclusive; either may be omitted).';

-- Public RPCs: weekly working hours ------------------------------------------

create function public.create_working_hours(
  p_weekday integer,
  p_start_time time,
  p_end_time time,
  p_valid_from date default null,
  p_valid_until date default null
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := private.lock_rules_owner();
  v public.working_hours;
begin
  perform private.raise_if_invalid(private.working_hours_errors(
    '', p_weekday, p_start_time, p_end_time, p_valid_from, p_valid_until));
  if (select count(*) from public.working_hours where user_id = v_uid)
     >= private.max_working_hours_windows() then
    perform private.raise_if_invalid(jsonb_build_array(private.field_error('weekday',
      format('at most %s working-hours windows per user', private.max_working_hours_windows()))));
  end if;
  insert into public.working_hours (user_id, weekday, start_time, end_time, valid_from, valid_until)
  values (v_uid, p_weekday, p_start_time, p_end_time, p_valid_from, p_valid_until)
  returning * into v;
  return private.working_hours_json(v);
end
$$;
comment on function public.create_working_hours(integer, time, time, date, date) is
  'Add a weekly window (weekday 1 = Monday ... 7 = Sunday; an end at or before the start runs past midnight).';

-- Full replacement of one window (PUT semantics): every field is given.
create function public.update_working_hours(
  p_id uuid,
  p_weekday integer,
  p_start_time time,
  p_end_time time,
  p_valid_from date default null,
  p_valid_until date default null
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := private.lock_rules_owner();
  v public.working_hours;
begin
  if not exists (select 1 from public.working_hours where id = p_id and user_id = v_uid) then
    perform private.raise_rule_not_found('working_hours_not_found', p_id);
  end if;
  perform private.raise_if_invalid(private.working_hours_errors(
    '', p_weekday, p_start_time, p_end_time, p_valid_from, p_valid_until));
  update public.working_hours
  set weekday = p_weekday, start_time = p_start_time, end_time = p_end_time,
      valid_from = p_valid_from, valid_until = p_valid_until
  where id = p_id and user_id = v_uid
  returning * into v;
  return private.working_hours_json(v);
end
$$;
comment on function public.update_working_hours(uuid, integer, time, time, date, date) is
  'Replace one of the caller''s weekly windows; PT404 if it is not theirs.';

create function public.delete_working_hours(p_id uuid) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := private.lock_rules_owner();
  v public.working_hours;
begin
  delete from public.working_hours where id = p_id and user_id = v_uid returning * into v;
  if v.id is null then
    perform private.raise_rule_not_found('working_hours_not_found', p_id);
  end if;
  return private.working_hours_json(v);
end
$$;
comment on function public.delete_working_hours(uuid) is
  'Delete one of the caller''s weekly windows and return it; PT404 if it is not theirs.';

-- The whole weekly schedule at once (PUT semantics), atomically:
-- [{"weekday": 1, "start_time": "09:00", "end_time": "17:00",
--   "valid_from": "2027-01-01"?, "valid_until": "2027-06-30"?}, ...].
-- An empty array leaves the caller with no working hours.
create function public.replace_working_hours(p_working_hours jsonb) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := private.lock_rules_owner();
  v_errors jsonb := '[]'::jsonb;
  v_rows jsonb := '[]'::jsonb;
  v_item jsonb;
  v_index integer;
  v_prefix text;
  v_weekday integer;
  v_start time;
  v_end time;
  v_from date;
  v_until date;
  v_item_errors jsonb;
begin
  if p_working_hours is null or jsonb_typeof(p_working_hours) <> 'array' then
    perform private.raise_if_invalid(jsonb_build_array(
      private.field_error('working_hours', 'must be an array of windows')));
  end if;
  if jsonb_array_length(p_working_hours) > private.max_working_hours_windows() then
    perform private.raise_if_invalid(jsonb_build_array(private.field_error('working_hours',
      format('at most %s working-hours windows per user', private.max_working_hours_windows()))));
  end if;

  for v_item, v_index in
    select e, (o - 1)::integer from jsonb_array_elements(p_working_hours) with ordinality as t(e, o)
  loop
    v_prefix := format('working_hours[%s].', v_index);
    if jsonb_typeof(v_item) <> 'object' then
      v_errors := v_errors || private.field_error(rtrim(v_prefix, '.'),
        'must be an object with weekday, start_time and end_time');
      continue;
    end if;
    v_item_errors := '[]'::jsonb;
    v_weekday := case when jsonb_typeof(v_item -> 'weekday') = 'number'
                       and (v_item ->> 'weekday') ~ '^[1-7]$'
                      then (v_item ->> 'weekday')::integer end;
    if v_weekday is null then
      v_item_errors := v_item_errors || private.field_error(v_prefix || 'weekday',
        'must be 1 (Monday) to 7 (Sunday)');
    end if;
    v_start := private.parse_time_of_day(v_item ->> 'start_time');
    if v_start is null or jsonb_typeof(v_item -> 'start_time') <> 'string' then
      v_item_errors := v_item_errors || private.field_error(v_prefix || 'start_time',
        'must be a time of day "HH:MM"');
    end if;
    v_end := private.parse_time_of_day(v_item ->> 'end_time');
    if v_end is null or jsonb_typeof(v_item -> 'end_time') <> 'string' then
      v_item_errors := v_item_errors || private.field_error(v_prefix || 'end_time',
        'must be a time of day "HH:MM" (24:00 for the end of the day)');
    end if;
    v_from := private.parse_date(v_item ->> 'valid_from');
    if coalesce(jsonb_typeof(v_item -> 'valid_from'), 'null') <> 'null' and v_from is null then
      v_item_errors := v_item_errors || private.field_error(v_prefix || 'valid_from',
        'must be a date "YYYY-MM-DD" or null');
    end if;
    v_until := private.parse_date(v_item ->> 'valid_until');
    if coalesce(jsonb_typeof(v_item -> 'valid_until'), 'null') <> 'null' and v_until is null then
      v_item_errors := v_item_errors || private.field_error(v_prefix || 'valid_until',
        'must be a date "YYYY-MM-DD" or null');
    end if;
    if jsonb_array_length(v_item_errors) = 0 then
      v_item_errors := private.working_hours_errors(v_prefix, v_weekday, v_start, v_end, v_from, v_until);
    end if;
    v_errors := v_errors || v_item_errors;
    v_rows := v_rows || jsonb_build_object('weekday', v_weekday, 'start_time', v_start,
                                           'end_time', v_end, 'valid_from', v_from,
                                           'valid_until', v_until);
  end loop;
  perform private.raise_if_invalid(v_errors);

  delete from public.working_hours where user_id = v_uid;
  insert into public.working_hours (user_id, weekday, start_time, end_time, valid_from, valid_until)
  select v_uid, (r ->> 'weekday')::smallint, (r ->> 'start_time')::time, (r ->> 'end_time')::time,
         (r ->> 'valid_from')::date, (r ->> 'valid_until')::date
  from jsonb_array_elements(v_rows) r;

  return coalesce((
    select jsonb_agg(private.working_hours_json(w)
                     order by w.weekday, w.start_time, w.valid_from nulls first, w.id)
    from public.working_hours w where w.user_id = v_uid), '[]'::jsonb);
end
$$;
comment on function public.replace_working_hours(jsonb) is
  'Replace all of the caller''s weekly windows at once; every bad field is reported together (PT422).';

-- Public RPCs: date overrides ------------------------------------------------

create function public.create_availability_override(
  p_date date,
  p_kind text,
  p_start_time time default null,
  p_end_time time default null
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := private.lock_rules_owner();
  v public.availability_overrides;
begin
  perform private.raise_if_invalid(private.availability_override_errors(
    p_date, p_kind, p_start_time, p_end_time));
  if (select count(*) from public.availability_overrides where user_id = v_uid and date = p_date)
     >= private.max_overrides_per_date() then
    perform private.raise_if_invalid(jsonb_build_array(private.field_error('date',
      format('at most %s overrides per date', private.max_overrides_per_date()))));
  end if;
  insert into public.availability_overrides (user_id, date, kind, start_time, end_time)
  values (v_uid, p_date, p_kind, p_start_time, p_end_time)
  returning * into v;
  return private.availability_override_json(v);
end
$$;
comment on function public.create_availability_override(date, text, time, time) is
  'Add a date override: kind available (an extra window) or unavailable (a window, or without times the whole date).';

create function public.update_availability_override(
  p_id uuid,
  p_date date,
  p_kind text,
  p_start_time time default null,
  p_end_time time default null
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := private.lock_rules_owner();
  v public.availability_overrides;
begin
  if not exists (select 1 from public.availability_overrides where id = p_id and user_id = v_uid) then
    perform private.raise_rule_not_found('availability_override_not_found', p_id);
  end if;
  perform private.raise_if_invalid(private.availability_override_errors(
    p_date, p_kind, p_start_time, p_end_time));
  if (select count(*) from public.availability_overrides
      where user_id = v_uid and date = p_date and id <> p_id) >= private.max_overrides_per_date() then
    perform private.raise_if_invalid(jsonb_build_array(private.field_error('date',
      format('at most %s overrides per date', private.max_overrides_per_date()))));
  end if;
  update public.availability_overrides
  set date = p_date, kind = p_kind, start_time = p_start_time, end_time = p_end_time
  where id = p_id and user_id = v_uid
  returning * into v;
  return private.availability_override_json(v);
end
$$;
comment on function public.update_availability_override(uuid, date, text, time, time) is
  'Replace one of the caller''s date overrides; PT404 if it is not theirs.';

create function public.delete_availability_override(p_id uuid) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := private.lock_rules_owner();
  v public.availability_overrides;
begin
  delete from public.availability_overrides where id = p_id and user_id = v_uid returning * into v;
  if v.id is null then
    perform private.raise_rule_not_found('availability_override_not_found', p_id);
  end if;
  return private.availability_override_json(v);
end
$$;
comment on function public.delete_availability_override(uuid) is
  'Delete one of the caller''s date overrides and return it; PT404 if it is not theirs.';

-- Public RPCs: limits --------------------------------------------------------

-- Full replacement (PUT semantics): an omitted or null limit is no limit.
create function public.set_availability_limits(
  p_earliest_start time default null,
  p_latest_end time default null,
  p_horizon_days integer default null,
  p_max_meetings_per_day integer default null
) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := private.lock_rules_owner();
  v public.availability_limits;
begin
  perform private.raise_if_invalid((
    select coalesce(jsonb_agg(private.field_error(f, m)), '[]'::jsonb)
    from (
      select 'earliest_start' as f, private.time_of_day_problem(p_earliest_start, false) as m
      where p_earliest_start is not null
        and private.time_of_day_problem(p_earliest_start, false) is not null
      union all
      select 'latest_end', private.time_of_day_problem(p_latest_end, true)
      where p_latest_end is not null and private.time_of_day_problem(p_latest_end, true) is not null
      union all
      select 'latest_end', 'must be after earliest_start' where p_latest_end <= p_earliest_start
      union all
      select 'horizon_days', 'must be between 0 and 3650' where p_horizon_days not between 0 and 3650
      union all
      select 'max_meetings_per_day', 'must be between 1 and 1000'
      where p_max_meetings_per_day not between 1 and 1000
    ) problems));

  insert into public.availability_limits (user_id, earliest_start, latest_end, horizon_days,
                                          max_meetings_per_day)
  values (v_uid, p_earliest_start, p_latest_end, p_horizon_days, p_max_meetings_per_day)
  on conflict (user_id) do update
  set earliest_start = excluded.earliest_start,
      latest_end = excluded.latest_end,
      horizon_days = excluded.horizon_days,
      max_meetings_per_day = excluded.max_meetings_per_day
  returning * into v;
  return private.availability_limits_json(v);
end
$$;
comment on function public.set_availability_limits(time, time, integer, integer) is
  'Set the caller''s limits: earliest start, latest end (local times), horizon in days, meetings per day. Null: no limit.';

-- Grants ---------------------------------------------------------------------

grant execute on function
  public.get_availability_rules(),
  public.list_availability_overrides(date, date),
  public.create_working_hours(integer, time, time, date, date),
  public.update_working_hours(uuid, integer, time, time, date, date),
  public.delete_working_hours(uuid),
  public.replace_working_hours(jsonb),
  public.create_availability_override(date, text, time, time),
  public.update_availability_override(uuid, date, text, time, time),
  public.delete_availability_override(uuid),
  public.set_availability_limits(time, time, integer, integer)
  to authenticated;
-- The invoker-rights readers build their answers with these.
grant execute on function
  private.working_hours_json(public.working_hours),
  private.availability_override_json(public.availability_overrides),
  private.availability_limits_json(public.availability_limits),
  private.time_of_day_text(time),
  private.field_error(text, text),
  private.raise_if_invalid(jsonb),
  private.require_user()
  to authenticated;
