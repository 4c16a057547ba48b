-- Recurrence rules: parsing and expansion of the RFC 5545 RRULE subset people
-- use (FREQ DAILY/WEEKLY/MONTHLY/YEARLY, INTERVAL, BYDAY with ordinals,
-- BYMONTHDAY, BYMONTH, BYSETPOS, COUNT, UNTIL, WKST) plus EXDATE.
--
-- Expansion happens in local wall-clock time in the series' zone and is
-- converted to instants per occurrence, so a 09:00 meeting stays at 09:00
-- local across DST changes. Local times that do not exist (spring forward)
-- use the offset before the gap, local times that exist twice (fall back)
-- mean the first of the two, as RFC 5545 section 3.3.5 specifies.
--
-- The expansion is set-based: it enumerates periods (days, weeks, months or
-- years) and the days inside them, never minutes, and is bounded by a window
-- end and a maximum number of occurrences.

create type private.rrule as (
  freq text,
  step integer,
  count integer,
  until_utc timestamptz,
  until_local timestamp,
  by_day text[],
  by_month_day integer[],
  by_month integer[],
  by_set_pos integer[],
  wkst text
);

-- A local wall-clock time in a zone -> the instant, with RFC 5545's rules for
-- times that do not exist or exist twice. Postgres already shifts a missing
-- local time forward by the gap (the offset before it); for a repeated one it
-- picks the later instant, so we look for an earlier instant that shows the
-- same wall-clock time (DST shifts are 30 minutes, 1 or 2 hours; at most one
-- of them can match). One CASE expression and no SET clause, so the planner
-- inlines it into the expansion query; names are schema-qualified instead.
create function private.local_to_instant(p_local timestamp, p_time_zone text) returns timestamptz
language sql
stable
as $$
  select case
    when (((p_local at time zone p_time_zone) - interval '1 hour') at time zone p_time_zone) = p_local
      then (p_local at time zone p_time_zone) - interval '1 hour'
    when (((p_local at time zone p_time_zone) - interval '30 minutes') at time zone p_time_zone) = p_local
      then (p_local at time zone p_time_zone) - interval '30 minutes'
    when (((p_local at time zone p_time_zone) - interval '2 hours') at time zone p_time_zone) = p_local
      then (p_local at time zone p_time_zone) - interval '2 hours'
    else p_local at time zone p_time_zone
  end;
$$;

-- Parse an RRULE value ("FREQ=WEEKLY;BYDAY=MO,WE" with or without the
-- "RRULE:" prefix). Every problem is reported at once, as PT422 on the field
-- p_field, naming the rule part.
create function private.parse_rrule(
  p_rrule text,
  p_time_zone text,
  p_field text default 'recurrence'
) returns private.rrule
language plpgsql
stable
set search_path = ''
as $$
declare
  v private.rrule;
  v_errors jsonb := '[]'::jsonb;
  v_part text;
  v_key text;
  v_value text;
  v_item text;
  v_seen text[] := '{}'::text[];
begin
  v.step := 1;
  v.wkst := 'MO';
  if p_rrule is null or btrim(p_rrule) = '' then
    perform private.raise_if_invalid(jsonb_build_array(private.field_error(p_field, 'is required')));
  end if;
  if char_length(p_rrule) > 1000 then
    perform private.raise_if_invalid(jsonb_build_array(
      private.field_error(p_field, 'at most 1000 characters')));
  end if;

  foreach v_part in array string_to_array(regexp_replace(upper(btrim(p_rrule)), '^RRULE:', ''), ';') loop
    continue when v_part = '';
    v_key := split_part(v_part, '=', 1);
    v_value := substr(v_part, length(v_key) + 2);
    if v_key = any (v_seen) then
      v_errors := v_errors || private.field_error(p_field, v_key || ' appears twice');
      continue;
    end if;
    v_seen := v_seen || v_key;
    if v_value = '' then
      v_errors := v_errors || private.field_error(p_field, v_key || ' has no value');
      continue;
    end if;
    case v_key
      when 'FREQ' then
        if v_value in ('DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY') then
          v.freq := v_value;
        else
          v_errors := v_errors || private.field_error(p_field,
            'FREQ=' || v_value || ' is not supported; use DAILY, WEEKLY, MONTHLY or YEARLY');
        end if;
      when 'INTERVAL' then
        if v_value ~ '^[0-9]{1,4}$' and v_value::integer between 1 and 1000 then
          v.step := v_value::integer;
        else
          v_errors := v_errors || private.field_error(p_field, 'INTERVAL must be a number from 1 to 1000');
        end if;
      when 'COUNT' then
        if v_value ~ '^[0-9]{1,5}$' and v_value::integer between 1 and 10000 then
          v.count := v_value::integer;
        else
          v_errors := v_errors || private.field_error(p_field, 'COUNT must be a number from 1 to 10000');
        end if;
      when 'UNTIL' then
        if v_value ~ '^[0-9]{8}T[0-9]{6}Z$' then
          begin
            v.until_utc := to_timestamp(v_value, 'YYYYMMDD"T"HH24MISS"Z"')::timestamp at time zone 'UTC';
          exception when others then
            v_errors := v_errors || private.field_error(p_field, 'UNTIL is not a valid date-time');
          end;
        elsif v_value ~ '^[0-9]{8}(T[0-9]{6})?$' then
          begin
            -- A date-only UNTIL includes that whole (local) day.
            v.until_local := case when length(v_value) = 8
              then to_timestamp(v_value, 'YYYYMMDD')::timestamp + interval '1 day' - interval '1 microsecond'
              else to_timestamp(v_value, 'YYYYMMDD"T"HH24MISS')::timestamp end;
          exception when others then
            v_errors := v_errors || private.field_error(p_field, 'UNTIL is not a valid date');
          end;
        else
          v_errors := v_errors || private.field_error(p_field,
            'UNTIL must look like 20301231, 20301231T170000 or 20301231T170000Z');
        end if;
      when 'BYDAY' then
        foreach v_item in array string_to_array(v_value, ',') loop
          if v_item !~ '^([+-]?[0-9]{1,2})?(MO|TU|WE|TH|FR|SA|SU)$'
             or coalesce(nullif(substring(v_item from '^[+-]?[0-9]+'), '')::integer, 1) not between -53 and 53
             or coalesce(nullif(substring(v_item from '^[+-]?[0-9]+'), '')::integer, 1) = 0 then
            v_errors := v_errors || private.field_error(p_field,
              'BYDAY value ' || v_item || ' is not a weekday such as MO, 1MO or -1FR');
          end if;
        end loop;
        v.by_day := string_to_array(v_value, ',');
      when 'BYMONTHDAY' then
        foreach v_item in array string_to_array(v_value, ',') loop
          if v_item !~ '^[+-]?[0-9]{1,2}$' or v_item::integer not between -31 and 31 or v_item::integer = 0 then
            v_errors := v_errors || private.field_error(p_field,
              'BYMONTHDAY value ' || v_item || ' must be 1 to 31 or -31 to -1');
          else
            v.by_month_day := coalesce(v.by_month_day, '{}') || v_item::integer;
          end if;
        end loop;
      when 'BYMONTH' then
        foreach v_item in array string_to_array(v_value, ',') loop
          if v_item !~ '^[0-9]{1,2}$' or v_item::integer not between 1 and 12 then
            v_errors := v_errors || private.field_error(p_field, 'BYMONTH value ' || v_item || ' must be 1 to 12');
          else
            v.by_month := coalesce(v.by_month, '{}') || v_item::integer;
          end if;
        end loop;
      when 'BYSETPOS' then
        foreach v_item in array string_to_array(v_value, ',') loop
          if v_item !~ '^[+-]?[0-9]{1,3}$' or v_item::integer not between -366 and 366 or v_item::integer = 0 then
            v_errors := v_errors || private.field_error(p_field,
              'BYSETPOS value ' || v_item || ' must be 1 to 366 or -366 to -1');
          else
            v.by_set_pos := coalesce(v.by_set_pos, '{}') || v_item::integer;
          end if;
        end loop;
      when 'WKST' then
        if v_value in ('MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU') then
          v.wkst := v_value;
        else
          v_errors := v_errors || private.field_error(p_field, 'WKST must be a weekday such as MO');
        end if;
      when 'BYHOUR', 'BYMINUTE', 'BYSECOND', 'BYWEEKNO', 'BYYEARDAY' then
        v_errors := v_errors || private.field_error(p_field,
          v_key || ' is not supported; a series has one time of day, that of its first meeting');
      else
        v_errors := v_errors || private.field_error(p_field, 'unknown rule part ' || quote_literal(v_key));
    end case;
  end loop;

  if v.freq is null and not ('FREQ' = any (v_seen)) then
    v_errors := v_errors || private.field_error(p_field, 'FREQ is required');
  end if;
  if v.count is not null and (v.until_utc is not null or v.until_local is not null) then
    v_errors := v_errors || private.field_error(p_field, 'COUNT and UNTIL cannot both be given');
  end if;
  if v.by_set_pos is not null and v.by_day is null and v.by_month_day is null and v.by_month is null then
    v_errors := v_errors || private.field_error(p_field, 'BYSETPOS needs BYDAY, BYMONTHDAY or BYMONTH');
  end if;
  if v.freq in ('DAILY', 'WEEKLY') and exists (
       select 1 from unnest(v.by_day) d where d ~ '^[+-]?[0-9]') then
    v_errors := v_errors || private.field_error(p_field,
      'BYDAY ordinals such as 1MO only apply to MONTHLY and YEARLY rules');
  end if;
  if v.freq = 'WEEKLY' and v.by_month_day is not null then
    v_errors := v_errors || private.field_error(p_field, 'BYMONTHDAY does not apply to WEEKLY rules');
  end if;
  perform private.raise_if_invalid(v_errors);
  if v.until_local is not null then
    v.until_utc := private.local_to_instant(v.until_local, p_time_zone);
  end if;
  return v;
end
$$;

-- Occurrences of a rule starting at the local time p_dtstart in p_time_zone,
-- up to (not including) p_window_end, at most p_max of them. The first
-- meeting (DTSTART) always counts as occurrence 0. EXDATEs (local times) are
-- left out but still count towards COUNT, as RFC 5545 specifies.
create function private.expand_rrule(
  p_rule private.rrule,
  p_dtstart timestamp,
  p_time_zone text,
  p_window_end timestamptz,
  p_exdates timestamp[] default '{}',
  p_max integer default 1000
) returns table (occurrence_index integer, local_start timestamp, start_at timestamptz)
language plpgsql
stable
set search_path = ''
as $$
declare
  v_first date := p_dtstart::date;
  v_time time := p_dtstart::time;
  v_end_local timestamp := (p_window_end at time zone p_time_zone) + interval '1 day';
  v_periods integer;
  v_wkst_dow integer := array_position(array['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'], p_rule.wkst) - 1;
  v_days integer;
begin
  if p_rule.until_utc is not null then
    v_end_local := least(v_end_local, (p_rule.until_utc at time zone p_time_zone) + interval '1 day');
  end if;
  v_days := greatest(0, (v_end_local::date - v_first));
  v_periods := least(20000, case p_rule.freq
    when 'DAILY' then v_days / p_rule.step + 1
    when 'WEEKLY' then v_days / (7 * p_rule.step) + 2
    when 'MONTHLY' then v_days / (28 * p_rule.step) + 2
    else v_days / (365 * p_rule.step) + 2
  end);

  return query
  with periods as (
    select k,
           case p_rule.freq
             when 'DAILY' then v_first + k * p_rule.step
             when 'WEEKLY' then v_first - ((extract(dow from v_first)::integer - v_wkst_dow + 7) % 7)
                                + k * 7 * p_rule.step
             when 'MONTHLY' then (date_trunc('month', v_first) + make_interval(months => k * p_rule.step))::date
             else (date_trunc('year', v_first) + make_interval(years => k * p_rule.step))::date
           end as period_start
    from generate_series(0, v_periods) k
  ),
  days as (
    select p.k, d::date as day
    from periods p
    cross join lateral generate_series(
      p.period_start,
      case p_rule.freq
        when 'DAILY' then p.period_start
        when 'WEEKLY' then p.period_start + 6
        when 'MONTHLY' then (p.period_start + interval '1 month - 1 day')::date
        else (p.period_start + interval '1 year - 1 day')::date
      end,
      interval '1 day') d
  ),
  described as (
    select d.k, d.day,
           (array['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'])[extract(dow from d.day)::integer + 1] as wd,
           extract(day from d.day)::integer as mday,
           extract(day from (date_trunc('month', d.day) + interval '1 month - 1 day'))::integer as mdays,
           extract(month from d.day)::integer as month,
           extract(doy from d.day)::integer as yday,
           extract(doy from (date_trunc('year', d.day) + interval '1 year - 1 day'))::integer as ydays
    from days d
  ),
  candidates as (
    select c.k, c.day
    from described c
    where
      -- BYMONTH, or for YEARLY rules that name no month or weekday, the first meeting's month.
      (case
         when p_rule.by_month is not null then c.month = any (p_rule.by_month)
         when p_rule.freq = 'YEARLY' and p_rule.by_day is null then c.month = extract(month from v_first)
         else true
       end)
      -- BYMONTHDAY (negative counts from the month's end), or the first meeting's day of month for
      -- MONTHLY and YEARLY rules that give neither days of month nor weekdays.
      and (case
         when p_rule.by_month_day is not null then
           c.mday = any (p_rule.by_month_day) or (c.mday - c.mdays - 1) = any (p_rule.by_month_day)
         when p_rule.freq in ('MONTHLY', 'YEARLY') and p_rule.by_day is null then
           c.mday = extract(day from v_first)
         else true
       end)
      -- BYDAY, with an ordinal counting within the month (MONTHLY, or YEARLY with BYMONTH) or
      -- the year; WEEKLY rules without BYDAY repeat the first meeting's weekday.
      and (case
         when p_rule.by_day is not null then exists (
           select 1 from unnest(p_rule.by_day) as b(spec)
           where right(b.spec, 2) = c.wd
             and (b.spec !~ '^[+-]?[0-9]'
                  or (case when p_rule.freq = 'MONTHLY' or p_rule.by_month is not null
                           then (case when substring(b.spec from '^[+-]?[0-9]+')::integer > 0
                                      then (c.mday - 1) / 7 + 1
                                      else -((c.mdays - c.mday) / 7 + 1) end)
                           else (case when substring(b.spec from '^[+-]?[0-9]+')::integer > 0
                                      then (c.yday - 1) / 7 + 1
                                      else -((c.ydays - c.yday) / 7 + 1) end)
                      end) = substring(b.spec from '^[+-]?[0-9]+')::integer))
         when p_rule.freq = 'WEEKLY' then extract(dow from c.day) = extract(dow from v_first)
         else true
       end)
  ),
  positioned as (
    select c.k, c.day,
           row_number() over (partition by c.k order by c.day) as pos,
           -(row_number() over (partition by c.k order by c.day desc)) as neg_pos
    from candidates c
  ),
  chosen as (
    select c.day + v_time as local_start
    from positioned c
    where (p_rule.by_set_pos is null or c.pos = any (p_rule.by_set_pos) or c.neg_pos = any (p_rule.by_set_pos))
      and c.day + v_time > p_dtstart
    union all
    select p_dtstart
  ),
  numbered as (
    select (row_number() over (order by c.local_start) - 1)::integer as idx, c.local_start
    from chosen c
  ),
  kept as (
    select n.idx, n.local_start, private.local_to_instant(n.local_start, p_time_zone) as instant
    from numbered n
    where (p_rule.count is null or n.idx < p_rule.count)
      and n.local_start < v_end_local
      and not (n.local_start = any (coalesce(p_exdates, '{}')))
  )
  select k.idx, k.local_start, k.instant
  from kept k
  where k.instant < p_window_end
    and (p_rule.until_utc is null or k.instant <= p_rule.until_utc)
  order by k.idx
  limit p_max;
end
$$;
