-- Deleting a user (auth.admin.deleteUser, hard or soft) must not lose
-- history, and must not leave anyone waiting for a meeting that will not
-- happen:
--   * meetings they organise that have not started are cancelled, and every
--     other attendee gets a cancellation notice;
--   * their attendance in meetings that have not started is removed (their
--     busy time goes with it);
--   * everything in the past stays, anonymised: the profile, their attendee
--     rows and the audit trail no longer carry their name or e-mail.

create function private.anonymise_values(p_values jsonb, p_alias text) returns jsonb
language sql
immutable
set search_path = ''
as $$
  select case when p_values is null then null else
    p_values
    -- Only values that were there: an e-mail that became null stays null.
    || case when p_values ->> 'email' is not null then jsonb_build_object('email', p_alias)
            else '{}'::jsonb end
    || case when p_values ->> 'display_name' is not null
            then jsonb_build_object('display_name', 'Deleted user') else '{}'::jsonb end
  end;
$$;

create function private.forget_user(p_user_id uuid, p_now timestamptz default now()) returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_profile public.profiles;
  v_meeting public.meetings;
  v_alias text := 'deleted-user-' || left(replace(p_user_id::text, '-', ''), 12) || '@invalid.invalid';
  v_attendee_ids uuid[];
begin
  select * into v_profile from public.profiles where id = p_user_id for update;
  if v_profile.id is null or v_profile.deleted_at is not null then
    return;
  end if;
  -- Their attendee rows, before some are removed: the audit trail of these
  -- is where their name and e-mail appear.
  v_attendee_ids := array(select a.id from public.attendees a where a.user_id = p_user_id);

  for v_meeting in
    select * from public.meetings
    where organizer_id = p_user_id and status = 'confirmed' and start_at > p_now
    order by id
    for update
  loop
    update public.meetings
    set status = 'cancelled', cancelled_at = now(), cancelled_by = p_user_id,
        cancel_reason = 'The organiser''s account was deleted.', version = version + 1
    where id = v_meeting.id;
    perform private.cancel_pending_notices(v_meeting.id, array['confirmation', 'update', 'reschedule']);
    perform private.enqueue_meeting_notice(v_meeting.id, 'cancellation',
      (select array_agg(a.email) from public.attendees a
       where a.meeting_id = v_meeting.id and a.user_id is distinct from p_user_id),
      jsonb_build_object('reason', 'The organiser''s account was deleted.'));
  end loop;

  -- Nothing more will be sent to them.
  update private.email_outbox
  set status = 'cancelled'
  where recipient_user_id = p_user_id and status in ('queued', 'failed');

  delete from public.attendees a
  using public.meetings m
  where a.meeting_id = m.id and a.user_id = p_user_id and a.role <> 'organizer'
    and m.start_at > p_now;

  update public.attendees
  set email = v_alias, display_name = 'Deleted user'
  where user_id = p_user_id;

  update private.email_outbox
  set recipient_email = v_alias
  where recipient_user_id = p_user_id;

  update public.profiles
  set email = null, display_name = 'Deleted user', deleted_at = now()
  where id = p_user_id;

  -- History stays; who it was does not. Last, because the updates above are
  -- audited too and their old values still carry the name and e-mail.
  update private.audit_log l
  set old_values = private.anonymise_values(l.old_values, v_alias),
      new_values = private.anonymise_values(l.new_values, v_alias)
  where (l.table_name = 'profiles' and l.record_id = p_user_id)
     or (l.table_name = 'attendees' and l.record_id = any (v_attendee_ids));
end
$$;

create function private.handle_auth_user_deleted() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.forget_user(old.id);
  return old;
end
$$;

create function private.handle_auth_user_soft_deleted() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.forget_user(new.id);
  return new;
end
$$;

create trigger on_auth_user_deleted
  before delete on auth.users
  for each row execute function private.handle_auth_user_deleted();

create trigger on_auth_user_soft_deleted
  after update of deleted_at on auth.users
  for each row
  when (old.deleted_at is null and new.deleted_at is not null)
  execute function private.handle_auth_user_soft_deleted();
