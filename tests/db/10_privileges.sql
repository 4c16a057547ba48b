-- Privileges as data: exactly what each API role may touch, object by object.
-- RLS narrows rows; these grants decide whether a role reaches a table or a
-- function at all. Writes go only through the booking functions, so no API
-- role holds INSERT, UPDATE or DELETE on a table, except authenticated on the
-- profile settings a user owns.
begin;
select plan(98);

-- Schemas -------------------------------------------------------------------

select schema_privs_are('private', 'anon', '{}'::text[],
  'anon has no usage on schema private');
select schema_privs_are('private', 'authenticated', array['USAGE'],
  'authenticated may use schema private (for the helpers its policies call) but not create in it');
select schema_privs_are('private', 'service_role', array['USAGE'],
  'service_role may use schema private but not create in it');
select schema_privs_are('public', 'anon', array['USAGE'], 'anon may use schema public, not create in it');
select schema_privs_are('public', 'authenticated', array['USAGE'],
  'authenticated may use schema public, not create in it');
select schema_privs_are('public', 'service_role', array['USAGE'],
  'service_role may use schema public, not create in it');

-- Tables in public ----------------------------------------------------------

select table_privs_are('public', 'profiles', 'anon', '{}'::text[], 'anon: nothing on profiles');
select table_privs_are('public', 'meetings', 'anon', '{}'::text[], 'anon: nothing on meetings');
select table_privs_are('public', 'attendees', 'anon', '{}'::text[], 'anon: nothing on attendees');

-- UPDATE on profiles is column-level (below), so the table-level answer is SELECT alone.
select table_privs_are('public', 'profiles', 'authenticated', array['SELECT'],
  'authenticated: select on profiles, no table-wide write');
select table_privs_are('public', 'meetings', 'authenticated', array['SELECT'],
  'authenticated: select on meetings only');
select table_privs_are('public', 'attendees', 'authenticated', array['SELECT'],
  'authenticated: select on attendees only');

select table_privs_are('public', 'profiles', 'service_role', array['SELECT'],
  'service_role: select on profiles only');
select table_privs_are('public', 'meetings', 'service_role', array['SELECT'],
  'service_role: select on meetings only');
select table_privs_are('public', 'attendees', 'service_role', array['SELECT'],
  'service_role: select on attendees only');

-- Columns of profiles: a user updates their own settings, never id, email or timestamps.

select column_privs_are('public', 'profiles', 'id', 'authenticated', array['SELECT'],
  'authenticated may read, not update, profiles.id');
select column_privs_are('public', 'profiles', 'email', 'authenticated', array['SELECT'],
  'authenticated may read, not update, profiles.email');
select column_privs_are('public', 'profiles', 'display_name', 'authenticated', array['SELECT', 'UPDATE'],
  'authenticated may update profiles.display_name');
select column_privs_are('public', 'profiles', 'time_zone', 'authenticated', array['SELECT', 'UPDATE'],
  'authenticated may update profiles.time_zone');
select column_privs_are('public', 'profiles', 'buffer_before_minutes', 'authenticated',
  array['SELECT', 'UPDATE'], 'authenticated may update profiles.buffer_before_minutes');
select column_privs_are('public', 'profiles', 'buffer_after_minutes', 'authenticated',
  array['SELECT', 'UPDATE'], 'authenticated may update profiles.buffer_after_minutes');
select column_privs_are('public', 'profiles', 'minimum_notice_minutes', 'authenticated',
  array['SELECT', 'UPDATE'], 'authenticated may update profiles.minimum_notice_minutes');
select column_privs_are('public', 'profiles', 'created_at', 'authenticated', array['SELECT'],
  'authenticated may read, not update, profiles.created_at');
select column_privs_are('public', 'profiles', 'updated_at', 'authenticated', array['SELECT'],
  'authenticated may read, not update, profiles.updated_at');
select column_privs_are('public', 'profiles', 'deleted_at', 'authenticated', array['SELECT'],
  'authenticated may read, not update, profiles.deleted_at');
select column_privs_are('public', 'profiles', 'display_name', 'anon', '{}'::text[],
  'anon may neither read nor update profiles.display_name');
select column_privs_are('public', 'profiles', 'display_name', 'service_role', array['SELECT'],
  'service_role may read, not update, profiles.display_name');

-- Every column-level grant in public and private, as one list: a new one shows up here.
select is(
  (select coalesce(array_agg(x order by x), '{}')
   from (select format('%s.%s.%s:%s:%s', n.nspname, c.relname, a.attname, g.rolname,
                       acl.privilege_type) as x
   from pg_attribute a
   join pg_class c on c.oid = a.attrelid
   join pg_namespace n on n.oid = c.relnamespace
   cross join lateral aclexplode(a.attacl) acl
   join pg_roles g on g.oid = acl.grantee
   where n.nspname in ('public', 'private') and a.attacl is not null) grants),
  array[
    'private.email_alerts.acknowledged_at:service_role:UPDATE',
    'private.email_outbox.attempts:authenticated:SELECT',
    'private.email_outbox.created_at:authenticated:SELECT',
    'private.email_outbox.dead_reason:authenticated:SELECT',
    'private.email_outbox.due_at:authenticated:SELECT',
    'private.email_outbox.id:authenticated:SELECT',
    'private.email_outbox.kind:authenticated:SELECT',
    'private.email_outbox.last_error:authenticated:SELECT',
    'private.email_outbox.late:authenticated:SELECT',
    'private.email_outbox.meeting_id:authenticated:SELECT',
    'private.email_outbox.meeting_version:authenticated:SELECT',
    'private.email_outbox.recipient_email:authenticated:SELECT',
    'private.email_outbox.sent_at:authenticated:SELECT',
    'private.email_outbox.status:authenticated:SELECT',
    'private.email_outbox.updated_at:authenticated:SELECT',
    'public.profiles.buffer_after_minutes:authenticated:UPDATE',
    'public.profiles.buffer_before_minutes:authenticated:UPDATE',
    'public.profiles.display_name:authenticated:UPDATE',
    'public.profiles.locale:authenticated:UPDATE',
    'public.profiles.minimum_notice_minutes:authenticated:UPDATE',
    'public.profiles.time_zone:authenticated:UPDATE'
  ],
  'the only column-level grants: the six profile settings a user may update, the outbox columns '
  'the e-mail log shows (rows narrowed by RLS to organisers), acknowledging an e-mail alert'
);

-- Tables in private ---------------------------------------------------------

select table_privs_are('private', 'settings', 'anon', '{}'::text[], 'anon: nothing on private.settings');
select table_privs_are('private', 'settings', 'authenticated', '{}'::text[],
  'authenticated: nothing on private.settings');
select table_privs_are('private', 'settings', 'service_role', array['SELECT', 'UPDATE'],
  'service_role may read and change private.settings, not insert or delete the row');

select table_privs_are('private', 'time_zone_names', 'anon', '{}'::text[],
  'anon: nothing on private.time_zone_names');
select table_privs_are('private', 'time_zone_names', 'authenticated', '{}'::text[],
  'authenticated: nothing on private.time_zone_names (read through is_valid_time_zone)');
select table_privs_are('private', 'time_zone_names', 'service_role', '{}'::text[],
  'service_role: nothing on private.time_zone_names');

select table_privs_are('private', 'busy_blocks', 'anon', '{}'::text[], 'anon: nothing on private.busy_blocks');
select table_privs_are('private', 'busy_blocks', 'authenticated', '{}'::text[],
  'authenticated: nothing on private.busy_blocks');
select table_privs_are('private', 'busy_blocks', 'service_role', array['SELECT'],
  'service_role may read private.busy_blocks, not write it');

select table_privs_are('private', 'audit_log', 'anon', '{}'::text[], 'anon: nothing on private.audit_log');
select table_privs_are('private', 'audit_log', 'authenticated', '{}'::text[],
  'authenticated: nothing on private.audit_log (read through get_meeting_history)');
select table_privs_are('private', 'audit_log', 'service_role', array['SELECT'],
  'service_role may read private.audit_log, not rewrite history');

select table_privs_are('private', 'email_outbox', 'anon', '{}'::text[], 'anon: nothing on private.email_outbox');
select table_privs_are('private', 'email_outbox', 'authenticated', '{}'::text[],
  'authenticated: nothing on private.email_outbox');
select table_privs_are('private', 'email_outbox', 'service_role', array['SELECT'],
  'service_role may read private.email_outbox');

select sequence_privs_are('private', 'audit_log_id_seq', 'anon', '{}'::text[],
  'anon: nothing on the audit_log sequence');
select sequence_privs_are('private', 'audit_log_id_seq', 'authenticated', '{}'::text[],
  'authenticated: nothing on the audit_log sequence');
select sequence_privs_are('private', 'audit_log_id_seq', 'service_role', '{}'::text[],
  'service_role: nothing on the audit_log sequence');
select sequence_privs_are('private', 'email_outbox_id_seq', 'anon', '{}'::text[],
  'anon: nothing on the email_outbox sequence');
select sequence_privs_are('private', 'email_outbox_id_seq', 'authenticated', '{}'::text[],
  'authenticated: nothing on the email_outbox sequence');
select sequence_privs_are('private', 'email_outbox_id_seq', 'service_role', '{}'::text[],
  'service_role: nothing on the email_outbox sequence');

-- Holds for every table, including those added later: anon reaches none.
select is(
  (select coalesce(array_agg(c.oid::regclass::text order by c.oid::regclass::text), '{}')
   from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where n.nspname in ('public', 'private') and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
     and (has_table_privilege('anon', c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
          or has_any_column_privilege('anon', c.oid, 'SELECT, INSERT, UPDATE, REFERENCES'))),
  '{}'::text[],
  'anon holds no privilege on any table, view or sequence in public or private'
);

-- Public functions ----------------------------------------------------------
-- The RPCs act for the signed-in user (auth.uid()); anon has no user and
-- service_role is not one, so only authenticated may call them.

select function_privs_are('public', 'book_meeting',
  array['text', 'timestamptz', 'timestamptz', 'text', 'jsonb', 'text', 'text', 'boolean', 'date',
        'date', 'text', 'timestamptz'], 'anon', '{}'::text[], 'anon may not execute book_meeting');
select function_privs_are('public', 'book_meeting',
  array['text', 'timestamptz', 'timestamptz', 'text', 'jsonb', 'text', 'text', 'boolean', 'date',
        'date', 'text', 'timestamptz'], 'authenticated', array['EXECUTE'],
  'authenticated may execute book_meeting');
select function_privs_are('public', 'book_meeting',
  array['text', 'timestamptz', 'timestamptz', 'text', 'jsonb', 'text', 'text', 'boolean', 'date',
        'date', 'text', 'timestamptz'], 'service_role', '{}'::text[],
  'service_role may not execute book_meeting');

select function_privs_are('public', 'update_meeting',
  array['uuid', 'integer', 'text', 'text', 'text', 'timestamptz', 'timestamptz', 'text', 'boolean',
        'date', 'date', 'jsonb', 'timestamptz'], 'anon', '{}'::text[],
  'anon may not execute update_meeting');
select function_privs_are('public', 'update_meeting',
  array['uuid', 'integer', 'text', 'text', 'text', 'timestamptz', 'timestamptz', 'text', 'boolean',
        'date', 'date', 'jsonb', 'timestamptz'], 'authenticated', array['EXECUTE'],
  'authenticated may execute update_meeting');
select function_privs_are('public', 'update_meeting',
  array['uuid', 'integer', 'text', 'text', 'text', 'timestamptz', 'timestamptz', 'text', 'boolean',
        'date', 'date', 'jsonb', 'timestamptz'], 'service_role', '{}'::text[],
  'service_role may not execute update_meeting');

select function_privs_are('public', 'reschedule_meeting',
  array['uuid', 'integer', 'timestamptz', 'timestamptz', 'text', 'boolean', 'date', 'date', 'timestamptz'],
  'anon', '{}'::text[], 'anon may not execute reschedule_meeting');
select function_privs_are('public', 'reschedule_meeting',
  array['uuid', 'integer', 'timestamptz', 'timestamptz', 'text', 'boolean', 'date', 'date', 'timestamptz'],
  'authenticated', array['EXECUTE'], 'authenticated may execute reschedule_meeting');
select function_privs_are('public', 'reschedule_meeting',
  array['uuid', 'integer', 'timestamptz', 'timestamptz', 'text', 'boolean', 'date', 'date', 'timestamptz'],
  'service_role', '{}'::text[], 'service_role may not execute reschedule_meeting');

select function_privs_are('public', 'cancel_meeting', array['uuid', 'text', 'integer', 'timestamptz'],
  'anon', '{}'::text[], 'anon may not execute cancel_meeting');
select function_privs_are('public', 'cancel_meeting', array['uuid', 'text', 'integer', 'timestamptz'],
  'authenticated', array['EXECUTE'], 'authenticated may execute cancel_meeting');
select function_privs_are('public', 'cancel_meeting', array['uuid', 'text', 'integer', 'timestamptz'],
  'service_role', '{}'::text[], 'service_role may not execute cancel_meeting');

select function_privs_are('public', 'respond_to_meeting', array['uuid', 'text', 'timestamptz'],
  'anon', '{}'::text[], 'anon may not execute respond_to_meeting');
select function_privs_are('public', 'respond_to_meeting', array['uuid', 'text', 'timestamptz'],
  'authenticated', array['EXECUTE'], 'authenticated may execute respond_to_meeting');
select function_privs_are('public', 'respond_to_meeting', array['uuid', 'text', 'timestamptz'],
  'service_role', '{}'::text[], 'service_role may not execute respond_to_meeting');

select function_privs_are('public', 'get_meeting', array['uuid'], 'anon', '{}'::text[],
  'anon may not execute get_meeting');
select function_privs_are('public', 'get_meeting', array['uuid'], 'authenticated', array['EXECUTE'],
  'authenticated may execute get_meeting');
select function_privs_are('public', 'get_meeting', array['uuid'], 'service_role', '{}'::text[],
  'service_role may not execute get_meeting');

select function_privs_are('public', 'get_meeting_history', array['uuid'], 'anon', '{}'::text[],
  'anon may not execute get_meeting_history');
select function_privs_are('public', 'get_meeting_history', array['uuid'], 'authenticated',
  array['EXECUTE'], 'authenticated may execute get_meeting_history');
select function_privs_are('public', 'get_meeting_history', array['uuid'], 'service_role', '{}'::text[],
  'service_role may not execute get_meeting_history');

-- Revoke by default works for every function, including those added later:
-- none in public or private is executable by PUBLIC (every role).
select is(
  (select coalesce(array_agg(p.oid::regprocedure::text order by p.oid::regprocedure::text), '{}')
   from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   cross join lateral aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) acl
   where n.nspname in ('public', 'private') and acl.grantee = 0 and acl.privilege_type = 'EXECUTE'),
  '{}'::text[],
  'no function in public or private is executable by PUBLIC'
);

-- Private helpers granted to API roles --------------------------------------
-- The policies call these, and get_meeting (security invoker) builds its
-- answer and its 404 with meeting_json and raise_error.

select function_privs_are('private', 'is_valid_time_zone', array['text'], 'anon', '{}'::text[],
  'anon may not execute private.is_valid_time_zone');
select function_privs_are('private', 'is_valid_time_zone', array['text'], 'authenticated',
  array['EXECUTE'], 'authenticated may execute private.is_valid_time_zone');
select function_privs_are('private', 'is_valid_time_zone', array['text'], 'service_role',
  array['EXECUTE'], 'service_role may execute private.is_valid_time_zone');

select function_privs_are('private', 'attended_meeting_ids', '{}'::name[], 'anon', '{}'::text[],
  'anon may not execute private.attended_meeting_ids');
select function_privs_are('private', 'attended_meeting_ids', '{}'::name[], 'authenticated',
  array['EXECUTE'], 'authenticated may execute private.attended_meeting_ids');
select function_privs_are('private', 'attended_meeting_ids', '{}'::name[], 'service_role',
  array['EXECUTE'], 'service_role may execute private.attended_meeting_ids');

select function_privs_are('private', 'visible_meeting_ids', '{}'::name[], 'anon', '{}'::text[],
  'anon may not execute private.visible_meeting_ids');
select function_privs_are('private', 'visible_meeting_ids', '{}'::name[], 'authenticated',
  array['EXECUTE'], 'authenticated may execute private.visible_meeting_ids');
select function_privs_are('private', 'visible_meeting_ids', '{}'::name[], 'service_role',
  array['EXECUTE'], 'service_role may execute private.visible_meeting_ids');

select function_privs_are('private', 'co_participant_ids', '{}'::name[], 'anon', '{}'::text[],
  'anon may not execute private.co_participant_ids');
select function_privs_are('private', 'co_participant_ids', '{}'::name[], 'authenticated',
  array['EXECUTE'], 'authenticated may execute private.co_participant_ids');
select function_privs_are('private', 'co_participant_ids', '{}'::name[], 'service_role',
  array['EXECUTE'], 'service_role may execute private.co_participant_ids');

select function_privs_are('private', 'can_see_meeting', array['uuid'], 'anon', '{}'::text[],
  'anon may not execute private.can_see_meeting');
select function_privs_are('private', 'can_see_meeting', array['uuid'], 'authenticated',
  array['EXECUTE'], 'authenticated may execute private.can_see_meeting');
select function_privs_are('private', 'can_see_meeting', array['uuid'], 'service_role',
  array['EXECUTE'], 'service_role may execute private.can_see_meeting');

select function_privs_are('private', 'meeting_json', array['uuid'], 'anon', '{}'::text[],
  'anon may not execute private.meeting_json');
select function_privs_are('private', 'meeting_json', array['uuid'], 'authenticated',
  array['EXECUTE'], 'authenticated may execute private.meeting_json (RLS still applies inside)');
select function_privs_are('private', 'meeting_json', array['uuid'], 'service_role', '{}'::text[],
  'service_role may not execute private.meeting_json');

select function_privs_are('private', 'raise_error', array['integer', 'text', 'text', 'jsonb'], 'anon',
  '{}'::text[], 'anon may not execute private.raise_error');
select function_privs_are('private', 'raise_error', array['integer', 'text', 'text', 'jsonb'],
  'authenticated', array['EXECUTE'], 'authenticated may execute private.raise_error');
select function_privs_are('private', 'raise_error', array['integer', 'text', 'text', 'jsonb'],
  'service_role', '{}'::text[], 'service_role may not execute private.raise_error');

-- A sample of the internal functions that must stay internal: they write
-- rows or bypass checks, so no API role may call them directly.
select function_privs_are('private', 'forget_user', array['uuid', 'timestamptz'], 'authenticated',
  '{}'::text[], 'authenticated may not execute private.forget_user');
select function_privs_are('private', 'forget_user', array['uuid', 'timestamptz'], 'service_role',
  '{}'::text[], 'service_role may not execute private.forget_user');
select function_privs_are('private', 'enqueue_meeting_notice', array['uuid', 'text', 'text[]', 'jsonb'],
  'authenticated', '{}'::text[], 'authenticated may not execute private.enqueue_meeting_notice');
select function_privs_are('private', 'lock_users', array['uuid[]'], 'authenticated', '{}'::text[],
  'authenticated may not execute private.lock_users');

-- The exact list of private functions any API role may execute: a new grant
-- must be deliberate and show up here.
select is(
  (select coalesce(array_agg(distinct p.oid::regprocedure::text
                             order by p.oid::regprocedure::text), '{}')
   from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   cross join (values ('anon'), ('authenticated'), ('service_role')) r(role)
   where n.nspname = 'private' and has_function_privilege(r.role, p.oid, 'EXECUTE')),
  array[
    'private.attended_meeting_ids()',
    'private.availability_limits_json(availability_limits)',
    'private.availability_override_json(availability_overrides)',
    'private.calendar_connection_json(calendar_connections)',
    'private.can_see_meeting(uuid)',
    'private.claim_due_emails(integer,integer,timestamp with time zone)',
    'private.co_participant_ids()',
    'private.email_tick(timestamp with time zone)',
    'private.field_error(text,text)',
    'private.is_valid_time_zone(text)',
    'private.meeting_calendar_warnings(uuid)',
    'private.meeting_json(uuid)',
    'private.organized_meeting_ids()',
    'private.promote_due_reminders(timestamp with time zone)',
    'private.raise_error(integer,text,text,jsonb)',
    'private.raise_if_invalid(jsonb)',
    'private.record_email_results(jsonb,timestamp with time zone)',
    'private.require_user()',
    'private.series_json(uuid)',
    'private.supported_locales()',
    'private.time_of_day_text(time without time zone)',
    'private.visible_meeting_ids()',
    'private.visible_series_ids()',
    'private.working_hours_json(working_hours)'
  ],
  'API roles may execute exactly these private helpers'
);

select * from finish();
rollback;
