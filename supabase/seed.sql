-- Demo data for the local stack: three people in three time zones and a few
-- meetings between them. Safe to load again: users are upserted and meetings
-- are only booked when the demo has none yet.
insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
                        raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
values
  ('00000000-0000-0000-0000-000000000000', 'a11ce000-0000-4000-8000-000000000001', 'authenticated',
   'authenticated', 'alice@example.com', extensions.crypt('password', extensions.gen_salt('bf')), now(),
   '{"provider": "email", "providers": ["email"]}',
   '{"display_name": "Alice Adler", "time_zone": "Europe/Berlin"}', now(), now()),
  ('00000000-0000-0000-0000-000000000000', 'b0b00000-0000-4000-8000-000000000002', 'authenticated',
   'authenticated', 'bob@example.com', extensions.crypt('password', extensions.gen_salt('bf')), now(),
   '{"provider": "email", "providers": ["email"]}',
   '{"display_name": "Bob Brown", "time_zone": "America/New_York"}', now(), now()),
  ('00000000-0000-0000-0000-000000000000', 'ca201000-0000-4000-8000-000000000003', 'authenticated',
   'authenticated', 'carol@example.com', extensions.crypt('password', extensions.gen_salt('bf')), now(),
   '{"provider": "email", "providers": ["email"]}',
   '{"display_name": "Carol Chen", "time_zone": "Asia/Kolkata"}', now(), now())
on conflict (id) do nothing;

-- Alice keeps 10 minutes after each meeting free; Bob wants a day's notice.
update public.profiles set buffer_after_minutes = 10 where id = 'a11ce000-0000-4000-8000-000000000001';
update public.profiles set minimum_notice_minutes = 1440 where id = 'b0b00000-0000-4000-8000-000000000002';

-- Working hours, each in the person's own zone, set through the same RPCs a
-- client uses (as each of them). Replacing is idempotent; the override is
-- only added once.
do $$
declare
  v_alice constant text := 'a11ce000-0000-4000-8000-000000000001';
  v_bob constant text := 'b0b00000-0000-4000-8000-000000000002';
  v_carol constant text := 'ca201000-0000-4000-8000-000000000003';
begin
  -- Alice (Europe/Berlin): 09:00-17:00, Fridays until 13:00; never before 09:30.
  perform set_config('request.jwt.claims', json_build_object('sub', v_alice, 'role', 'authenticated')::text, true);
  perform public.replace_working_hours('[
    {"weekday": 1, "start_time": "09:00", "end_time": "17:00"},
    {"weekday": 2, "start_time": "09:00", "end_time": "17:00"},
    {"weekday": 3, "start_time": "09:00", "end_time": "17:00"},
    {"weekday": 4, "start_time": "09:00", "end_time": "17:00"},
    {"weekday": 5, "start_time": "09:00", "end_time": "13:00"}]');
  perform public.set_availability_limits(p_earliest_start => '09:30', p_horizon_days => 60);

  -- Bob (America/New_York): 08:00-12:00 and 13:00-17:00, at most 6 meetings a day.
  perform set_config('request.jwt.claims', json_build_object('sub', v_bob, 'role', 'authenticated')::text, true);
  perform public.replace_working_hours((
    select jsonb_agg(w)
    from generate_series(1, 5) d,
    lateral (values (jsonb_build_object('weekday', d, 'start_time', '08:00', 'end_time', '12:00')),
                    (jsonb_build_object('weekday', d, 'start_time', '13:00', 'end_time', '17:00'))) v(w)));
  perform public.set_availability_limits(p_max_meetings_per_day => 6);

  -- Carol (Asia/Kolkata): 10:00-18:30 on weekdays and Saturday mornings; the
  -- second Monday from now off.
  perform set_config('request.jwt.claims', json_build_object('sub', v_carol, 'role', 'authenticated')::text, true);
  perform public.replace_working_hours((
    select jsonb_agg(jsonb_build_object('weekday', d, 'start_time', '10:00', 'end_time', '18:30'))
    from generate_series(1, 5) d) || '[{"weekday": 6, "start_time": "10:00", "end_time": "13:00"}]'::jsonb);
  if not exists (select 1 from public.availability_overrides where user_id = v_carol::uuid) then
    perform public.create_availability_override(
      (select d from generate_series(current_date + 8, current_date + 14, interval '1 day') g(d)
       where extract(isodow from d) = 1)::date,
      'unavailable');
  end if;
  perform set_config('request.jwt.claims', '', true);
end
$$;

do $$
declare
  v_day date := (now() at time zone 'Europe/Berlin')::date + 2;
begin
  if exists (select 1 from public.meetings where organizer_id = 'a11ce000-0000-4000-8000-000000000001') then
    return;
  end if;
  -- Book as Alice, exactly as supabase.rpc would with her token.
  perform set_config('request.jwt.claims',
    '{"sub": "a11ce000-0000-4000-8000-000000000001", "role": "authenticated"}', true);
  perform public.book_meeting(
    p_title => 'Weekly planning',
    p_start => (v_day + time '10:00') at time zone 'Europe/Berlin',
    p_end => (v_day + time '10:45') at time zone 'Europe/Berlin',
    p_time_zone => 'Europe/Berlin',
    p_attendees => '[{"email": "bob@example.com"}, {"email": "carol@example.com", "role": "optional"}]',
    p_location => 'https://meet.example.com/weekly');
  perform public.book_meeting(
    p_title => 'Design review with a customer',
    p_start => (v_day + time '15:00') at time zone 'Europe/Berlin',
    p_end => (v_day + time '16:00') at time zone 'Europe/Berlin',
    p_time_zone => 'Europe/Berlin',
    p_attendees => '[{"email": "dana@customer.example", "display_name": "Dana (customer)"}]');
  perform public.book_meeting(
    p_title => 'Offsite',
    p_all_day => true,
    p_start_date => v_day + 7,
    p_end_date => v_day + 9,
    p_time_zone => 'Europe/Berlin',
    p_attendees => '[{"email": "carol@example.com"}]');
  perform set_config('request.jwt.claims', '', true);
end
$$;
