-- Profiles gain a locale: the language (and date/time conventions) of the
-- e-mails a user receives. English and German are supported; the list lives
-- in one function so that adding a language (templates plus this list) is a
-- one-line change here.

create function private.supported_locales() returns text[]
language sql
immutable
as $$
  select array['en', 'de']::text[];
$$;

alter table public.profiles
  add column locale text not null default 'en';
-- The backstop for writers that skip the trigger below (none today).
alter table public.profiles
  add constraint profiles_locale_supported check (locale = any (private.supported_locales()));
comment on column public.profiles.locale is
  'Language of the e-mails this user receives: en or de.';

-- A clear PT422 naming the field instead of a bare check violation; on sign-up
-- the locale may come from the user metadata, like display name and time zone.
create function private.check_profile_locale() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_meta_locale text;
begin
  if tg_op = 'INSERT' and new.locale = 'en' then
    select lower(u.raw_user_meta_data ->> 'locale') into v_meta_locale
    from auth.users u where u.id = new.id;
    if v_meta_locale = any (private.supported_locales()) then
      new.locale := v_meta_locale;
    end if;
  end if;
  if new.locale is null or not (new.locale = any (private.supported_locales())) then
    perform private.raise_error(422, 'validation_failed',
      'locale: unsupported locale ' || coalesce(quote_literal(new.locale), 'null'),
      jsonb_build_object('errors', jsonb_build_array(private.field_error('locale',
        'unsupported locale ' || coalesce(quote_literal(new.locale), 'null') || '; use one of '
        || array_to_string(private.supported_locales(), ', ')))));
  end if;
  return new;
end
$$;

create trigger profiles_check_locale
  before insert or update of locale on public.profiles
  for each row execute function private.check_profile_locale();

-- Users choose their own language.
grant update (locale) on public.profiles to authenticated;
-- The check constraint calls it on every profile write, whoever writes.
grant execute on function private.supported_locales() to authenticated, service_role;
