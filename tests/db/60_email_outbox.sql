-- The outbox's SQL side by actor: locale on profiles, the e-mail log (the
-- organiser sees their meeting's notices and nothing else), the sender's
-- functions (service_role only; claim leases, skips what others hold,
-- record guards the lease), and the states a row may be in.
begin;
select plan(27);

select tests.create_user('alice', 'Europe/Berlin');
select tests.create_user('bob', 'America/New_York');
select tests.create_user('mallory', 'UTC');

-- Locale ----------------------------------------------------------------------

select is((select locale from public.profiles where id = tests.user_id('alice')), 'en',
  'a new profile speaks English by default');

insert into auth.users (instance_id, id, aud, role, email, raw_user_meta_data, created_at, updated_at)
values ('00000000-0000-0000-0000-000000000000', extensions.gen_random_uuid(), 'authenticated',
        'authenticated', 'dora@test.example', '{"locale": "de"}', now(), now());
select is((select locale from public.profiles where email = 'dora@test.example'), 'de',
  'the sign-up metadata may choose German');

select tests.authenticate_as('bob');
update public.profiles set locale = 'de' where id = tests.user_id('bob');
select is((select locale from public.profiles where id = tests.user_id('bob')), 'de',
  'a user sets their own locale');
select throws_ok(
  $$update public.profiles set locale = 'fr' where id = tests.user_id('bob')$$,
  'PT422', 'locale: unsupported locale ''fr''',
  'an unsupported locale is refused with PT422 naming the field');
select tests.clear_authentication();

-- Bookings queue notices; the organiser reads them in the e-mail log ----------

select tests.authenticate_as('alice');
create temporary table m on commit drop as
select (public.book_meeting(p_title => 'Plan', p_start => now() + interval '3 days',
        p_end => now() + interval '3 days 1 hour', p_time_zone => 'Europe/Berlin',
        p_attendees => '[{"email": "bob@test.example"}, {"email": "guest@outside.test"}]'))->>'id' as id;
select tests.clear_authentication();
grant select on m to authenticated;

select is((select count(*)::int from private.email_outbox
           where meeting_id = (select id::uuid from m) and kind = 'confirmation' and status = 'queued'),
  3, 'a booking queues a confirmation to each of the three attendees');

select tests.authenticate_as('alice');
select is((select count(*)::int from public.email_log where meeting_id = (select id::uuid from m)),
  9, 'the organiser sees every notice about their meeting (3 confirmations, 6 reminders)');
select tests.authenticate_as('bob');
select is((select count(*)::int from public.email_log), 0,
  'an attendee sees no notices, not even their own');
select tests.authenticate_as('mallory');
select is((select count(*)::int from public.email_log), 0, 'a stranger sees nothing');
select throws_ok($$select lease_token from private.email_outbox$$, '42501', null,
  'leases, payloads and provider ids are not readable by users');
select tests.authenticate_as_anon();
select throws_ok($$select * from public.email_log$$, '42501', null, 'anon cannot read the log');
select tests.clear_authentication();

-- The sender's functions are for service_role only -----------------------------

select ok(not has_function_privilege('authenticated',
  'private.claim_due_emails(integer, integer, timestamptz)', 'execute'),
  'users cannot claim mail');
select ok(not has_function_privilege('authenticated',
  'private.record_email_results(jsonb, timestamptz)', 'execute'),
  'users cannot record delivery results');
select ok(has_function_privilege('service_role',
  'private.claim_due_emails(integer, integer, timestamptz)', 'execute'),
  'service_role may claim');

-- Claim: leases, skip what is not due -------------------------------------------

-- Only this file's meeting: whatever else is due in the database (the seed's
-- notices, say) may be claimed by the same call and is no concern here.
create temporary table claimed on commit drop as
select c.* from private.claim_due_emails(50, 60, now() + interval '1 second') c
join private.email_outbox o on o.id = c.outbox_id
where o.meeting_id = (select id::uuid from m);
select is((select count(*)::int from claimed c join private.email_outbox o on o.id = c.outbox_id
           where o.meeting_id = (select id::uuid from m)),
  3, 'the three due confirmations are claimed; the scheduled reminders are not');
select ok((select bool_and(o.status = 'sending' and o.attempts = 1 and o.lease_token = c.lease_token
                           and o.leased_until > now())
           from claimed c join private.email_outbox o on o.id = c.outbox_id),
  'claimed rows are sending, under a lease, attempt counted');
select is((select c.message #>> '{recipient,locale}' from claimed c
           where c.message #>> '{recipient,email}' = 'bob@test.example'), 'de',
  'the message carries the recipient''s locale');
select is((select c.message #>> '{recipient,time_zone}' from claimed c
           where c.message #>> '{recipient,email}' = 'guest@outside.test'), 'Europe/Berlin',
  'a guest reads times in the meeting''s zone');
select is((select count(*)::int from private.claim_due_emails(50, 60, now() + interval '2 seconds') c
           join private.email_outbox o on o.id = c.outbox_id
           where o.meeting_id = (select id::uuid from m)),
  0, 'a leased row is not claimed again while its lease holds');

-- Record: lease-guarded failures, successes always --------------------------------

select is(
  (private.record_email_results(
     (select jsonb_agg(jsonb_build_object('outbox_id', c.outbox_id, 'lease_token', extensions.gen_random_uuid(),
                                          'outcome', 'retry', 'error', 'stale')) from claimed c)) ->> 'retrying')::int,
  0, 'a failure reported under someone else''s lease changes nothing');
select is(
  private.record_email_results(jsonb_build_array(
    (select jsonb_build_object('outbox_id', c.outbox_id, 'lease_token', c.lease_token, 'outcome', 'sent',
                               'message_id', 'pm-1') from claimed c order by c.outbox_id limit 1),
    (select jsonb_build_object('outbox_id', c.outbox_id, 'lease_token', c.lease_token, 'outcome', 'retry',
                               'error', 'HTTP 500', 'http_status', 500, 'retry_in_seconds', 30)
     from claimed c order by c.outbox_id offset 1 limit 1),
    (select jsonb_build_object('outbox_id', c.outbox_id, 'lease_token', c.lease_token, 'outcome', 'permanent',
                               'error', 'ErrorCode 406', 'error_code', 406, 'http_status', 200)
     from claimed c order by c.outbox_id offset 2 limit 1))),
  '{"sent": 1, "dead": 1, "ignored": 0, "retrying": 1}'::jsonb,
  'one sent, one retrying, one dead');
select is((select array_agg(status || ':' || coalesce(dead_reason, '-') order by id) from private.email_outbox
           where id in (select outbox_id from claimed)),
  array['sent:-', 'failed:-', 'dead:permanent_error'], 'each row is in the state its outcome says');
select ok((select next_attempt_at >= now() + interval '29 seconds' from private.email_outbox
           where id = (select outbox_id from claimed order by outbox_id offset 1 limit 1)),
  'a retry waits for its backoff');
select is((select count(*)::int from private.email_alerts
           where outbox_id in (select outbox_id from claimed) and kind = 'permanent_failure'),
  1, 'a permanent failure raises an alert');
select throws_ok($$select private.record_email_results('[{"outbox_id": 1, "outcome": "maybe"}]')$$,
  'PT422', 'results[0].outcome: must be sent, retry, permanent or render_error',
  'an unknown outcome is refused, naming the field');
select throws_ok($$select * from private.claim_due_emails(0)$$, 'PT422',
  'limit: must be between 1 and 500 (Postmark''s batch limit)', 'a bad batch size is refused');

-- Wake-ups: through pg_net, with the Vault secrets, at most once a second.
-- (The booking above already woke the sender in its second: start afresh.)
delete from private.email_wakeups;
create temporary table wake_before on commit drop as
select coalesce(max(id), 0) as id from net.http_request_queue;
select private.wake_email_sender_once_per_second();
select private.wake_email_sender_once_per_second();
select is((select count(*)::int from net.http_request_queue where id > (select id from wake_before)),
  1, 'two wake-ups in the same second queue one request');
select ok((select url like '%/functions/v1/email-sender'
                  and headers ->> 'Authorization' = 'Bearer ' || (select decrypted_secret from vault.decrypted_secrets
                                                                  where name = 'service_role_key')
           from net.http_request_queue where id > (select id from wake_before)),
  'to the email-sender function, with the service_role key from Vault');

select * from finish();
rollback;
