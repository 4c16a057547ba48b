-- Local stand-in for Supabase Vault: the same table, view and functions with
-- the hosted signatures. Hosted Vault encrypts with a key outside the
-- database (pgsodium / libsodium); here pgcrypto with a cluster-local key
-- stands in, which keeps secrets out of plain-text dumps without claiming
-- more than that.
create schema if not exists vault;
grant usage on schema vault to postgres, service_role;

create table if not exists vault.secrets (
  id uuid primary key default extensions.gen_random_uuid(),
  name text unique,
  description text not null default '',
  secret text not null,
  key_id uuid,
  nonce bytea,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table if not exists vault.local_key (
  singleton boolean primary key default true check (singleton),
  key text not null default encode(extensions.gen_random_bytes(32), 'hex')
);
insert into vault.local_key default values on conflict do nothing;
revoke all on vault.local_key from public;

create or replace view vault.decrypted_secrets as
select
  s.id,
  s.name,
  s.description,
  s.secret,
  convert_from(
    extensions.pgp_sym_decrypt_bytea(decode(s.secret, 'base64'), k.key),
    'utf8'
  ) as decrypted_secret,
  s.key_id,
  s.nonce,
  s.created_at,
  s.updated_at
from vault.secrets s
cross join vault.local_key k;

create or replace function vault.create_secret(
  new_secret text,
  new_name text default null,
  new_description text default '',
  new_key_id uuid default null
) returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id uuid;
begin
  insert into vault.secrets (name, description, secret, key_id)
  select new_name, coalesce(new_description, ''),
    encode(extensions.pgp_sym_encrypt_bytea(convert_to(new_secret, 'utf8'), k.key), 'base64'),
    new_key_id
  from vault.local_key k
  returning id into v_id;
  return v_id;
end
$$;

create or replace function vault.update_secret(
  secret_id uuid,
  new_secret text default null,
  new_name text default null,
  new_description text default null,
  new_key_id uuid default null
) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  update vault.secrets s
  set
    secret = case when new_secret is null then s.secret else
      encode(extensions.pgp_sym_encrypt_bytea(convert_to(new_secret, 'utf8'),
        (select k.key from vault.local_key k)), 'base64') end,
    name = coalesce(new_name, s.name),
    description = coalesce(new_description, s.description),
    key_id = coalesce(new_key_id, s.key_id),
    updated_at = now()
  where s.id = secret_id;
end
$$;

revoke all on vault.secrets, vault.decrypted_secrets from public;
grant select, delete on vault.secrets, vault.decrypted_secrets to postgres, service_role;
revoke all on function vault.create_secret(text, text, text, uuid) from public;
revoke all on function vault.update_secret(uuid, text, text, text, uuid) from public;
grant execute on function vault.create_secret(text, text, text, uuid) to postgres, service_role;
grant execute on function vault.update_secret(uuid, text, text, text, uuid) to postgres, service_role;
