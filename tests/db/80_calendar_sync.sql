-- Calendar sync, database side: leases, what a pull stores, priority between
-- sources, our own meetings, backoff and the error alert, webhooks, the
-- push plan, warnings on meetings, the health view, and who may call what.
-- The clock is pinned to 2030-01-01 (tests.pinned_now()) throughout.
begin;
select plan(39);

do $$
begin
  perform tests.create_user('cara', 'UTC');
  perform tests.create_user('dan', 'UTC');
end
$$;

-- Connections as their owners make them (through the API's function).
select tests.authenticate_as('cara') \g /dev/null
create temp table conn as
select 'low'::text as name,
       (public.create_calendar_connection('ics', 'https://feeds.example/low.ics', p_priority => 10) ->> 'id')::uuid as id
union all
select 'high', (public.create_calendar_connection('ics', 'https://feeds.example/high.ics', p_priority => 50) ->> 'id')::uuid
union all
select 'dav', (public.create_calendar_connection('caldav', 'https://dav.example/cara/work/',
                 '{"username": "cara", "password": "pw"}', repeat('k', 32), 5) ->> 'id')::uuid;
select tests.clear_authentication() \g /dev/null
grant select on conn to public;

create function pg_temp.cid(p_name text) returns uuid language sql stable as
  $$ select id from pg_temp.conn where name = p_name $$;
create function pg_temp.busy(p_user text) returns setof text language sql stable as $$
  select lower(b.range)::text || ' ' || upper(b.range)::text
  from private.external_busy b where b.user_id = tests.user_id(p_user) order by lower(b.range);
$$;
-- Claim one named connection, answering its lease token.
create function pg_temp.lease(p_name text, p_now timestamptz default tests.pinned_now()) returns uuid
language sql as $$
  select (private.claim_calendar_syncs(5, array[pg_temp.cid(p_name)], p_now) -> 0 ->> 'lease_token')::uuid
$$;
create function pg_temp.occ(p_id text, p_start text, p_end text, p_free boolean default false,
                            p_meeting text default null) returns jsonb language sql immutable as $$
  select jsonb_build_object('externalId', p_id, 'start', p_start, 'end', p_end, 'allDay', false,
                            'free', p_free, 'meetingId', p_meeting)
$$;

-- Leases ------------------------------------------------------------------------------

-- How many of this suite's connections a claim at p_now takes.
create function pg_temp.claimed(p_now timestamptz) returns integer language sql as $$
  select count(*)::integer from jsonb_array_elements(private.claim_calendar_syncs(100, null, p_now)) j
  where (j ->> 'connection_id')::uuid in (select id from pg_temp.conn)
$$;
select is(pg_temp.claimed(tests.pinned_now()), 3, 'every new connection is due at once and claimed');
select is(pg_temp.claimed(tests.pinned_now()), 0,
  'a claimed connection is not claimed again while its lease runs');
select is(pg_temp.claimed(tests.pinned_now() + interval '6 minutes'), 3,
  'when the lease runs out (the worker died) the connection is due again');

create temp table lease as select pg_temp.lease('low', tests.pinned_now() + interval '20 minutes') as token;
select is(
  tests.error_of(format($$select private.apply_calendar_pull(%L, %L, true, '[]', '{}', '{}', '{}', %L)$$,
    pg_temp.cid('low'), extensions.gen_random_uuid(), tests.pinned_now() + interval '20 minutes')) ->> 'sqlstate',
  'PT409', 'a worker without the lease cannot store a pull'
);

-- What a pull stores ----------------------------------------------------------------------

select lives_ok(
  format($$select private.apply_calendar_pull(%L, %L, true, %L::jsonb, '{}', '{"etag": "\"v1\""}', '{}', %L)$$,
    pg_temp.cid('low'), (select token from lease),
    jsonb_build_array(jsonb_build_object('itemId', 'feed', 'etag', '"v1"', 'busy', jsonb_build_array(
      pg_temp.occ('a', '2030-01-05T09:00:00Z', '2030-01-05T10:00:00Z'),
      pg_temp.occ('b', '2030-01-05T12:00:00Z', '2030-01-05T13:00:00Z', true),
      pg_temp.occ('c', '2030-01-06T09:00:00Z', '2030-01-06T10:00:00Z')))),
    tests.pinned_now() + interval '20 minutes'),
  'a full pull is stored'
);
select results_eq(
  $$select * from pg_temp.busy('cara')$$,
  $$values ('2030-01-05 09:00:00+00 2030-01-05 10:00:00+00'), ('2030-01-06 09:00:00+00 2030-01-06 10:00:00+00')$$,
  'busy occurrences become external busy time; the free one does not'
);
select is(
  (select cursor ->> 'etag' from private.calendar_sync_state where connection_id = pg_temp.cid('low')),
  '"v1"', 'the cursor is kept for the next pull'
);

-- An incremental pull replaces only the items it names.
select lives_ok(
  format($$select private.apply_calendar_pull(%L, %L, false, %L::jsonb, '{}', '{}', '{}', %L)$$,
    pg_temp.cid('low'), (select token from lease),
    jsonb_build_array(jsonb_build_object('itemId', 'feed', 'etag', '"v2"', 'busy', jsonb_build_array(
      pg_temp.occ('a', '2030-01-05T09:30:00Z', '2030-01-05T10:30:00Z')))),
    tests.pinned_now() + interval '20 minutes'),
  'an incremental pull is stored'
);
select results_eq(
  $$select * from pg_temp.busy('cara')$$,
  $$values ('2030-01-05 09:30:00+00 2030-01-05 10:30:00+00')$$,
  'a changed item replaces its occurrences, moved and removed ones included'
);

-- Priority: the highest source describing the same time decides --------------------------------

create temp table lease_high as select pg_temp.lease('high', tests.pinned_now() + interval '20 minutes') as token;
select lives_ok(
  format($$select private.apply_calendar_pull(%L, %L, true, %L::jsonb, '{}', '{}', '{}', %L)$$,
    pg_temp.cid('high'), (select token from lease_high),
    jsonb_build_array(jsonb_build_object('itemId', 'feed', 'etag', null, 'busy', jsonb_build_array(
      pg_temp.occ('x', '2030-01-05T09:30:00Z', '2030-01-05T10:30:00Z', true),
      pg_temp.occ('y', '2030-01-07T09:00:00Z', '2030-01-07T10:00:00Z')))),
    tests.pinned_now() + interval '20 minutes'),
  'a second source is stored'
);
select results_eq(
  $$select * from pg_temp.busy('cara')$$,
  $$values ('2030-01-07 09:00:00+00 2030-01-07 10:00:00+00')$$,
  'the higher-priority source says the shared time is free, so it is'
);
select is(
  (select connection_id from private.external_busy where user_id = tests.user_id('cara')),
  pg_temp.cid('high'), 'the busy row names the source that decided'
);
update public.calendar_connections set priority = 0 where id = pg_temp.cid('high');
select results_eq(
  $$select * from pg_temp.busy('cara')$$,
  $$values ('2030-01-05 09:30:00+00 2030-01-05 10:30:00+00'), ('2030-01-07 09:00:00+00 2030-01-07 10:00:00+00')$$,
  'lowering that priority hands the shared time back to the other source'
);
update public.calendar_connections set status = 'disabled' where id = pg_temp.cid('high');
select results_eq(
  $$select * from pg_temp.busy('cara')$$,
  $$values ('2030-01-05 09:30:00+00 2030-01-05 10:30:00+00')$$,
  'a disabled connection blocks nothing'
);
update public.calendar_connections set status = 'active', priority = 50 where id = pg_temp.cid('high');

-- Our own meetings -------------------------------------------------------------------

select tests.authenticate_as('cara') \g /dev/null
select tests.remember_meeting('sync', public.book_meeting(
  p_title => 'Sync', p_start => '2030-01-08 09:00+00', p_end => '2030-01-08 10:00+00', p_time_zone => 'UTC',
  p_attendees => '[{"email": "dan@test.example"}]', p_now => tests.pinned_now())) \g /dev/null
select tests.clear_authentication() \g /dev/null

create temp table lease_dav as select pg_temp.lease('dav', tests.pinned_now() + interval '20 minutes') as token;
select is(
  (select jsonb_agg(s -> 'meeting' ->> 'meetingId')
   from jsonb_array_elements(private.calendar_push_plan(pg_temp.cid('dav'), (select token from lease_dav),
                                                       tests.pinned_now() + interval '20 minutes')) s
   where s ->> 'action' = 'upsert'),
  jsonb_build_array(tests.meeting_id('sync')),
  'the push plan writes the owner''s meeting to the writable calendar'
);
select is(
  private.calendar_push_plan(pg_temp.cid('low'), (select token from lease), tests.pinned_now() + interval '20 minutes'),
  '[]'::jsonb, 'nothing is pushed to a read-only ICS feed'
);
select lives_ok(
  format($$select private.record_calendar_push(%L, %L, %L, 'https://dav.example/cara/work/m.ics', '"e1"', 1, %L)$$,
    pg_temp.cid('dav'), (select token from lease_dav), tests.meeting_id('sync'),
    tests.pinned_now() + interval '20 minutes'),
  'a push is recorded'
);
select is(
  jsonb_array_length(private.calendar_push_plan(pg_temp.cid('dav'), (select token from lease_dav),
                                                tests.pinned_now() + interval '20 minutes')),
  0, 'a pushed meeting is not pushed again until it changes'
);
select lives_ok(
  format($$select private.apply_calendar_pull(%L, %L, true, %L::jsonb, '{}', '{}', '{}', %L)$$,
    pg_temp.cid('dav'), (select token from lease_dav),
    jsonb_build_array(
      jsonb_build_object('itemId', 'https://dav.example/cara/work/m.ics', 'etag', '"e1"', 'busy', jsonb_build_array(
        pg_temp.occ('m', '2030-01-08T09:00:00Z', '2030-01-08T10:00:00Z'))),
      jsonb_build_object('itemId', 'https://dav.example/cara/work/other.ics', 'etag', '"o"', 'busy', jsonb_build_array(
        pg_temp.occ('o', '2030-01-09T09:00:00Z', '2030-01-09T10:00:00Z', false, tests.meeting_id('sync')::text))),
      jsonb_build_object('itemId', 'https://dav.example/cara/work/forged.ics', 'etag', '"f"', 'busy', jsonb_build_array(
        pg_temp.occ('f', '2030-01-10T09:00:00Z', '2030-01-10T10:00:00Z', false, 'not-a-uuid')))),
    tests.pinned_now() + interval '20 minutes'),
  'a pull that contains our meeting is stored'
);
select results_eq(
  $$select b from pg_temp.busy('cara') b where b between '2030-01-08' and '2030-01-11'$$,
  $$values ('2030-01-10 09:00:00+00 2030-01-10 10:00:00+00')$$,
  'our meeting (by mapping, or by its marker) is never foreign busy time; a marker naming no meeting is'
);

-- Cancelled here: the plan removes it there.
select tests.authenticate_as('cara') \g /dev/null
select public.cancel_meeting(tests.meeting_id('sync'), p_now => tests.pinned_now()) \g /dev/null
select tests.clear_authentication() \g /dev/null
select is(
  (select jsonb_agg(s ->> 'action')
   from jsonb_array_elements(private.calendar_push_plan(pg_temp.cid('dav'), (select token from lease_dav),
                                                       tests.pinned_now() + interval '20 minutes')) s),
  '["delete"]'::jsonb, 'a cancelled meeting is deleted from the calendar it was written to'
);

-- Warnings ------------------------------------------------------------------------------

select tests.authenticate_as('cara') \g /dev/null
select tests.remember_meeting('clash', public.book_meeting(
  p_title => 'Clash', p_start => '2030-01-07 09:30+00', p_end => '2030-01-07 11:00+00', p_time_zone => 'UTC',
  p_attendees => '[{"email": "dan@test.example"}]', p_now => tests.pinned_now())) \g /dev/null
select is(
  public.get_meeting(tests.meeting_id('clash')) -> 'calendar_warnings',
  jsonb_build_array(jsonb_build_object('code', 'external_calendar_conflict', 'user_id', tests.user_id('cara'),
                                       'message', 'busy in a connected calendar during the meeting',
                                       'start', '2030-01-07T09:00:00+00:00', 'end', '2030-01-07T10:00:00+00:00')),
  'a meeting overlapping a participant''s external busy time carries a warning'
);
select tests.authenticate_as('dan') \g /dev/null
select is(
  jsonb_array_length(public.get_meeting(tests.meeting_id('clash')) -> 'calendar_warnings'), 1,
  'every participant sees the warning (time and person only)'
);
select is(private.meeting_calendar_warnings(tests.meeting_id('clash')) -> 0 ->> 'user_id',
  tests.user_id('cara')::text, 'the warnings helper answers a participant');
select tests.clear_authentication() \g /dev/null

-- Failures, backoff, error and one alert ----------------------------------------------------

create temp table f1 as select private.finish_calendar_sync(pg_temp.cid('low'), (select token from lease),
  'ics: GET feed: 429 Too Many Requests', 600, false, tests.pinned_now() + interval '20 minutes') as r;
select ok(
  (select next_attempt_at >= tests.pinned_now() + interval '30 minutes'
   from public.calendar_connections where id = pg_temp.cid('low')),
  'the next attempt waits at least as long as Retry-After asked'
);
select is(
  (select consecutive_failures from public.calendar_connections where id = pg_temp.cid('low')), 1,
  'a failure is counted'
);
do $$
declare
  i integer;
  v_token uuid;
begin
  for i in 1..4 loop
    v_token := pg_temp.lease('low', tests.pinned_now() + make_interval(days => i));
    perform private.finish_calendar_sync(pg_temp.cid('low'), v_token, 'ics: GET feed: 503', null, false,
                                         tests.pinned_now() + make_interval(days => i));
  end loop;
end
$$;
select is(
  (select status || '/' || consecutive_failures from public.calendar_connections where id = pg_temp.cid('low')),
  'error/5', 'after five failures in a row the connection is in error'
);
select is(
  (select count(*)::integer from private.email_outbox where kind = 'calendar_sync_failed'
     and recipient_user_id = tests.user_id('cara')), 1,
  'its owner gets one alert e-mail through the outbox'
);
select is(
  (select payload ->> 'connection_id' from private.email_outbox where kind = 'calendar_sync_failed'
     and recipient_user_id = tests.user_id('cara')), pg_temp.cid('low')::text,
  'the alert names the connection'
);
select lives_ok(
  format($$select private.finish_calendar_sync(%L, %L, null, null, false, %L)$$, pg_temp.cid('low'),
    pg_temp.lease('low', tests.pinned_now() + interval '10 days'), tests.pinned_now() + interval '10 days'),
  'a success ends the episode'
);
select is(
  (select status || '/' || consecutive_failures from public.calendar_connections where id = pg_temp.cid('low')),
  'active/0', 'the connection is active again'
);

-- Webhooks ------------------------------------------------------------------------------------

insert into private.calendar_channels (channel_id, connection_id, provider, secret)
values ('chan-1', pg_temp.cid('dav'), 'google', 'a-secret-of-enough-length');
select is(private.calendar_channel_notified('chan-1', 'wrong-secret-of-some-length'), null,
  'a notification with the wrong secret changes nothing');
select is(private.calendar_channel_notified('chan-1', 'a-secret-of-enough-length'), pg_temp.cid('dav'),
  'a notification with the channel''s secret marks its connection due');

-- Removing a connection -------------------------------------------------------------------

select tests.authenticate_as('cara') \g /dev/null
select public.delete_calendar_connection(pg_temp.cid('high')) \g /dev/null
select tests.clear_authentication() \g /dev/null
select is(
  (select count(*)::integer from private.external_busy where connection_id = pg_temp.cid('high')), 0,
  'a removed connection''s busy time goes with it'
);
select ok(
  (select count(*) from private.external_busy b where b.connection_id = pg_temp.cid('low')
     and b.range = tstzrange('2030-01-05 09:30+00', '2030-01-05 10:30+00')) = 1,
  'time it shadowed in another calendar counts again'
);

-- The health view and privileges -------------------------------------------------------------------

select tests.authenticate_as('dan') \g /dev/null
select is((select count(*)::integer from public.calendar_sync_health), 0,
  'another user sees no one else''s connections in the health view');
select tests.authenticate_as('cara') \g /dev/null
select is((select count(*)::integer from public.calendar_sync_health), 2,
  'the owner sees each of their connections');
select tests.authenticate_as_service_role() \g /dev/null
select ok((select count(*) from public.calendar_sync_health) >= 2, 'service_role sees every connection');
select tests.clear_authentication() \g /dev/null

select ok(
  not has_function_privilege('authenticated', 'private.claim_calendar_syncs(integer, uuid[], timestamptz)', 'execute')
  and not has_function_privilege('service_role', 'private.apply_calendar_pull(uuid, uuid, boolean, jsonb, text[], jsonb, jsonb, timestamptz)', 'execute')
  and not has_function_privilege('anon', 'private.finish_calendar_sync(uuid, uuid, text, numeric, boolean, timestamptz)', 'execute')
  and not has_table_privilege('authenticated', 'private.calendar_events', 'select'),
  'no API role may run the worker''s functions or read synced events'
);

select * from finish();
rollback;
