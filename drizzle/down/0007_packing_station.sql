-- Reverts 0007_packing_station. The shop's settings (the weight tolerance) have no place in the
-- schema before it and are dropped with their row.
DROP INDEX "orders_search_idx";
--> statement-breakpoint
DROP TABLE "shop_settings";
--> statement-breakpoint
-- pg_trgm goes too, unless something else uses it (an operator's own index, say): then it stays
DO $$
BEGIN
  DROP EXTENSION IF EXISTS pg_trgm;
EXCEPTION WHEN dependent_objects_still_exist THEN
  RAISE NOTICE 'pg_trgm is kept: other objects use it';
END $$;
