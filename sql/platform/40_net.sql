-- Local stand-in for pg_net: the same schema, tables and function signatures
-- (net.http_get / http_post / http_delete return a request id; the request
-- goes out after commit; the answer lands in net._http_response). pg_net's
-- background worker is replaced by scripts/net_worker.ts, which LISTENs for
-- the wake-up sent by net.wake() (NOTIFY is delivered at commit, just as
-- pg_net's worker only sees committed rows) and really sends the requests.
create schema if not exists net;
grant usage on schema net to postgres, anon, authenticated, service_role;

do $$
begin
  if not exists (select 1 from pg_type t join pg_namespace n on n.oid = t.typnamespace
                 where n.nspname = 'net' and t.typname = 'http_method') then
    create domain net.http_method as text
      check (value ilike 'get' or value ilike 'post' or value ilike 'delete');
  end if;
end
$$;

create unlogged table if not exists net.http_request_queue (
  id bigserial,
  method net.http_method not null,
  url text not null,
  headers jsonb,
  body bytea,
  timeout_milliseconds int not null
);

create unlogged table if not exists net._http_response (
  id bigint,
  status_code integer,
  content_type text,
  headers jsonb,
  content text,
  timed_out bool,
  error_msg text,
  created timestamptz not null default now()
);
create index if not exists _http_response_created_idx on net._http_response (created);

create or replace function net.wake() returns void
language sql
as $$ select pg_notify('pg_net_wake', '') $$;

create or replace function net._urlencode_string(string varchar) returns text
language plpgsql immutable
as $$
declare
  v_out text := '';
  v_byte int;
  v_bytes bytea := convert_to(string, 'UTF8');
begin
  for i in 0 .. length(v_bytes) - 1 loop
    v_byte := get_byte(v_bytes, i);
    if (v_byte between 48 and 57) or (v_byte between 65 and 90) or (v_byte between 97 and 122)
       or v_byte in (45, 46, 95, 126) then
      v_out := v_out || chr(v_byte);
    else
      v_out := v_out || '%' || upper(lpad(to_hex(v_byte), 2, '0'));
    end if;
  end loop;
  return v_out;
end
$$;

create or replace function net._encode_url_with_params_array(url text, params_array text[])
returns text
language sql immutable
as $$
  select case
    when cardinality(params_array) = 0 then url
    else url || case when url like '%?%' then '&' else '?' end || array_to_string(params_array, '&')
  end
$$;

create or replace function net._params_array(params jsonb) returns text[]
language sql immutable
as $$
  select coalesce(array_agg(net._urlencode_string(key) || '=' || net._urlencode_string(value)), '{}')
  from jsonb_each_text(coalesce(params, '{}'::jsonb))
$$;

create or replace function net.http_get(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds int default 5000
) returns bigint
language plpgsql
as $$
declare
  request_id bigint;
begin
  insert into net.http_request_queue (method, url, headers, timeout_milliseconds)
  values ('GET', net._encode_url_with_params_array(url, net._params_array(params)), headers,
          timeout_milliseconds)
  returning id into request_id;
  perform net.wake();
  return request_id;
end
$$;

create or replace function net.http_post(
  url text,
  body jsonb default '{}'::jsonb,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds int default 5000
) returns bigint
language plpgsql
as $$
declare
  request_id bigint;
  content_type text;
begin
  select header_value into content_type
  from jsonb_each_text(coalesce(headers, '{}'::jsonb)) r(header_name, header_value)
  where lower(header_name) = 'content-type'
  limit 1;

  if content_type is null then
    headers := coalesce(headers, '{}'::jsonb) || '{"Content-Type": "application/json"}'::jsonb;
  end if;
  if content_type <> 'application/json' then
    raise exception 'Content-Type header must be "application/json"';
  end if;

  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('POST', net._encode_url_with_params_array(url, net._params_array(params)), headers,
          convert_to(body::text, 'UTF8'), timeout_milliseconds)
  returning id into request_id;
  perform net.wake();
  return request_id;
end
$$;

create or replace function net.http_delete(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds int default 5000,
  body jsonb default null
) returns bigint
language plpgsql
as $$
declare
  request_id bigint;
begin
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('DELETE', net._encode_url_with_params_array(url, net._params_array(params)), headers,
          convert_to(body::text, 'UTF8'), timeout_milliseconds)
  returning id into request_id;
  perform net.wake();
  return request_id;
end
$$;

-- Hosted pg_net lets postgres and the API roles queue requests; the tables
-- are the worker's.
revoke all on net.http_request_queue, net._http_response from public;
grant select, insert on net.http_request_queue to postgres, service_role;
grant usage on sequence net.http_request_queue_id_seq to postgres, service_role;
grant select on net._http_response to postgres, service_role;
revoke all on all functions in schema net from public;
grant execute on function
  net.http_get(text, jsonb, jsonb, int),
  net.http_post(text, jsonb, jsonb, jsonb, int),
  net.http_delete(text, jsonb, jsonb, int, jsonb)
  to postgres, service_role;
-- The request functions run with their caller's rights and call these, as
-- pg_net's own do.
grant execute on function
  net._urlencode_string(varchar), net._params_array(jsonb),
  net._encode_url_with_params_array(text, text[]), net.wake()
  to postgres, service_role;

-- Database webhooks created in the dashboard call this trigger function with
-- (url, method, headers, params, timeout_ms); it posts the changed row in the
-- documented payload shape {type, table, schema, record, old_record}.
create schema if not exists supabase_functions;
grant usage on schema supabase_functions to postgres, anon, authenticated, service_role;

create or replace function supabase_functions.http_request() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_url text := tg_argv[0];
  v_method text := upper(tg_argv[1]);
  v_headers jsonb := coalesce(nullif(tg_argv[2], '')::jsonb, '{}'::jsonb);
  v_params jsonb := coalesce(nullif(tg_argv[3], '')::jsonb, '{}'::jsonb);
  v_timeout int := coalesce(nullif(tg_argv[4], '')::int, 1000);
  v_payload jsonb;
begin
  v_payload := jsonb_build_object(
    'type', tg_op,
    'table', tg_table_name,
    'schema', tg_table_schema,
    'record', case when tg_op = 'DELETE' then null else to_jsonb(new) end,
    'old_record', case when tg_op = 'INSERT' then null else to_jsonb(old) end
  );
  if v_method = 'GET' then
    perform net.http_get(v_url, v_params, v_headers, v_timeout);
  else
    perform net.http_post(v_url, v_payload, v_params, v_headers, v_timeout);
  end if;
  return coalesce(new, old);
end
$$;
revoke all on function supabase_functions.http_request() from public;
grant execute on function supabase_functions.http_request() to postgres, service_role;
