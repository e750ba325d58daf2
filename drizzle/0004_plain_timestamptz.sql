-- Installations that applied the first version of 0002_restructure hold timestamptz(3) columns
-- whose defaults are now(); 0002 now gives plain timestamptz with millisecond defaults. This brings
-- the former to the latter and changes nothing anywhere else, so that every installation ends with
-- the same schema. timestamptz(3) -> timestamptz rewrites no table and rebuilds no index (the
-- values are kept as they are, and the operator class does not change).
DO $plain$
DECLARE
  t record;
BEGIN
  FOR t IN
    SELECT a.attrelid::regclass AS tbl,
           string_agg(format('ALTER COLUMN %I SET DATA TYPE timestamp with time zone', a.attname)
             || CASE WHEN pg_get_expr(d.adbin, d.adrelid) = 'now()'
                     THEN format(', ALTER COLUMN %I SET DEFAULT date_trunc(''milliseconds'', now())', a.attname) ELSE '' END,
             ', ' ORDER BY a.attnum) AS changes
      FROM pg_attribute a
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attrelid IN ('users'::regclass, 'orders'::regclass, 'order_history'::regclass,
                          'products'::regclass, 'box_settings'::regclass, 'wordpress_sku_cache'::regclass)
       AND a.atttypid = 'timestamptz'::regtype AND a.atttypmod = 3 AND NOT a.attisdropped
     GROUP BY a.attrelid
  LOOP
    EXECUTE format('ALTER TABLE %s %s', t.tbl, t.changes);
  END LOOP;
END
$plain$;
