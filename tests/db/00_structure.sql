-- Structure invariants that hold for every table, now and as the schema
-- grows: RLS everywhere, an index behind every foreign key, definer
-- functions pinned to an empty search_path.
begin;
select plan(4);

select is(
  (select coalesce(array_agg(n.nspname || '.' || c.relname order by n.nspname, c.relname), '{}')
   from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where c.relkind in ('r', 'p') and n.nspname in ('public', 'private')
     and not c.relrowsecurity),
  '{}'::text[],
  'every table in public and private has row level security enabled'
);

-- A foreign key is covered when some index starts with its columns.
select is(
  (select coalesce(array_agg(con.conrelid::regclass::text || '(' || con.conname || ')' order by con.conname), '{}')
   from pg_constraint con
   join pg_namespace n on n.oid = con.connamespace
   where con.contype = 'f' and n.nspname in ('public', 'private')
     and not exists (
       select 1 from pg_index i
       where i.indrelid = con.conrelid
         and (i.indkey::int2[])[0:cardinality(con.conkey) - 1] = con.conkey
     )),
  '{}'::text[],
  'every foreign key has an index that starts with its columns'
);

select is(
  (select coalesce(array_agg(p.oid::regprocedure::text order by p.oid::regprocedure::text), '{}')
   from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname in ('public', 'private') and p.prosecdef
     and not coalesce(p.proconfig @> array['search_path=""'], false)),
  '{}'::text[],
  'every security definer function sets search_path to empty'
);

select is(
  (select coalesce(array_agg(p.oid::regprocedure::text order by p.oid::regprocedure::text), '{}')
   from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname in ('public', 'private')
     and has_function_privilege('anon', p.oid, 'execute')),
  '{}'::text[],
  'anon may execute no function of ours'
);

select * from finish();
rollback;
