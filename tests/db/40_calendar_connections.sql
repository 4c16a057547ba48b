-- Calendar connections, by actor: the owner links, lists, syncs and unlinks;
-- a stranger sees and touches nothing of theirs; anon nothing at all;
-- credentials are ciphertext that no API role can read.
begin;
select plan(16);

select tests.create_user('owner');
select tests.create_user('stranger');

-- Owner ----------------------------------------------------------------------
select tests.authenticate_as('owner');
select lives_ok(
  $$select public.create_calendar_connection('caldav', 'https://dav.example.com/owner/',
      '{"username": "owner", "password": "s3cret-pass"}', repeat('k', 40), 5, 'Work')$$,
  'the owner links a CalDAV calendar with credentials');
select is(jsonb_array_length(public.list_calendar_connections()), 1, 'and lists it');
select is((public.list_calendar_connections() -> 0 ->> 'priority')::int, 5, 'with its priority');
select ok(public.list_calendar_connections()::text !~ 's3cret', 'credentials are never listed');
select throws_ok(
  $$select public.create_calendar_connection('caldav', 'https://dav.example.com/owner/',
      '{"username": "owner", "password": "x"}', repeat('k', 40))$$,
  'PT409', 'this calendar is already connected', 'linking the same calendar twice is a conflict');
select throws_ok(
  $$select public.create_calendar_connection('google', 'primary', '{"access_token": "a"}', repeat('k', 40))$$,
  'PT422', 'credentials.refresh_token: is required for a google calendar',
  'provider-specific credentials are required');
select throws_ok(
  $$select public.create_calendar_connection('google', 'primary',
      '{"access_token": "a", "refresh_token": "b"}', 'short')$$,
  'PT500', 'the calendar credentials key is not configured (at least 32 characters)',
  'a missing or short key is refused, never used');
select throws_ok($$select * from private.calendar_credentials$$, '42501', null,
  'the owner cannot read the credentials table');

select tests.clear_authentication();
create temp table linked on commit drop as
  select id from public.calendar_connections where owner_id = tests.user_id('owner');
grant select on linked to authenticated;

-- Stranger -------------------------------------------------------------------
select tests.authenticate_as('stranger');
select is(public.list_calendar_connections(), '[]'::jsonb, 'a stranger lists none of them');
select throws_ok(
  $$select public.delete_calendar_connection((select id from linked))$$,
  'PT404', 'calendar connection not found', 'a stranger cannot delete it');
select is(public.request_calendar_sync() -> 'queued', '[]'::jsonb,
  'a stranger''s sync request queues nothing of the owner''s');

-- Anon -----------------------------------------------------------------------
select tests.authenticate_as_anon();
select throws_ok($$select public.list_calendar_connections()$$, '42501', null,
  'anon may not list connections');

-- Stored form ----------------------------------------------------------------
select tests.clear_authentication();
select ok(
  (select position('s3cret' in encode(secret, 'escape')) = 0
   from private.calendar_credentials where connection_id = (select id from linked)),
  'credentials are stored encrypted');
select is(
  private.read_calendar_credentials((select id from linked), repeat('k', 40)) ->> 'password',
  's3cret-pass', 'the worker decrypts them with the key');

-- Owner unlinks --------------------------------------------------------------
select tests.authenticate_as('owner');
select is(
  (public.delete_calendar_connection((select id from linked)) ->> 'deleted'),
  'true', 'the owner unlinks it');
select tests.clear_authentication();
select is((select count(*)::int from private.calendar_credentials
           where connection_id = (select id from linked)), 0,
  'and its credentials are gone with it');

select * from finish();
rollback;
