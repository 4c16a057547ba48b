-- Rate limiting for the REST API, per user and per client IP. Edge Function
-- isolates share no memory and come and go, so the counters live here.
--
-- Fixed windows: one row per bucket ('user:<uuid>', 'ip:<address>') holding
-- the current window's start and its hit count, bumped by a single upsert so
-- concurrent requests count exactly, without a read-then-write race.
--
-- UNLOGGED on purpose: counters are worth nothing after a crash, and an
-- unlogged write needs no WAL flush, so counting a request costs no fsync.

create unlogged table private.rate_limit_buckets (
  bucket text primary key check (char_length(bucket) between 1 and 200),
  window_start timestamptz not null,
  hits integer not null check (hits >= 0)
);
comment on table private.rate_limit_buckets is
  'Request counts per rate-limit bucket (user or IP) in the current fixed window.';

create index rate_limit_buckets_window_idx on private.rate_limit_buckets (window_start);

-- No API role reads or writes it; the API's own connection (postgres, the
-- owner) does, through the function below.
alter table private.rate_limit_buckets enable row level security;

-- Count one request against every bucket given, each with its own limit, in
-- one statement. Answers the most constrained bucket: whether the request is
-- allowed, its limit, what remains, and the seconds until its window resets.
-- Rejected requests count too, so a client that ignores Retry-After stays
-- blocked until the window ends.
create function private.rate_limit_hit(
  p_buckets text[],
  p_limits integer[],
  p_window_seconds integer,
  p_now timestamptz default null
) returns table (allowed boolean, limit_value integer, remaining integer, reset_seconds integer)
language sql
set search_path = ''
as $$
  with input as (
    select b.bucket, b.lim,
           to_timestamp(floor(extract(epoch from coalesce(p_now, now())) / p_window_seconds)
                        * p_window_seconds) as window_start
    from unnest(p_buckets, p_limits) as b (bucket, lim)
  ),
  counted as (
    insert into private.rate_limit_buckets as r (bucket, window_start, hits)
    select i.bucket, i.window_start, 1 from input i order by i.bucket
    on conflict (bucket) do update
      set hits = case when r.window_start = excluded.window_start then r.hits + 1 else 1 end,
          window_start = excluded.window_start
    returning r.bucket, r.hits, r.window_start
  )
  select bool_and(c.hits <= i.lim),
         (array_agg(i.lim order by (i.lim - c.hits), i.bucket))[1],
         greatest(0, min(i.lim - c.hits)),
         max(ceil(extract(epoch from c.window_start + make_interval(secs => p_window_seconds)
                                     - coalesce(p_now, now())))::integer)
  from counted c
  join input i using (bucket);
$$;
comment on function private.rate_limit_hit is
  'Count a request against each bucket (fixed window); answers whether it is within every limit.';

-- Old windows are dead weight; sweep them every ten minutes.
create function private.purge_rate_limit_buckets() returns void
language sql
set search_path = ''
as $$
  delete from private.rate_limit_buckets where window_start < now() - interval '1 hour';
$$;

select cron.schedule(
  'purge-rate-limit-buckets',
  '*/10 * * * *',
  'select private.purge_rate_limit_buckets()'
);
