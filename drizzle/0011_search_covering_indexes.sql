-- GET /orders?q= walks the list in its order and tests each order's searched fields (src/orders/search.ts):
-- the indexes of the list's orders carry those fields, and the status, so that the walk reads the index alone
-- (an index-only scan) instead of a heap page per order. Written by hand: drizzle-kit has no word for INCLUDE.
-- Each index is built anew: writes to orders wait until the commit (about 1.5 s per index at a million orders).
DROP INDEX "orders_status_created_at_idx";
--> statement-breakpoint
CREATE INDEX "orders_status_created_at_idx" ON "orders" USING btree ("status","created_at","id") INCLUDE ("order_number","ttn","customer_name","customer_phone");
--> statement-breakpoint
DROP INDEX "orders_created_at_idx";
--> statement-breakpoint
CREATE INDEX "orders_created_at_idx" ON "orders" USING btree ("created_at","id") INCLUDE ("status","order_number","ttn","customer_name","customer_phone");
--> statement-breakpoint
DROP INDEX "orders_order_date_idx";
--> statement-breakpoint
CREATE INDEX "orders_order_date_idx" ON "orders" USING btree ("order_date","id") INCLUDE ("status","order_number","ttn","customer_name","customer_phone");
--> statement-breakpoint
DROP INDEX "orders_last_synced_idx";
--> statement-breakpoint
CREATE INDEX "orders_last_synced_idx" ON "orders" USING btree ("last_synced","id") INCLUDE ("status","order_number","ttn","customer_name","customer_phone");
--> statement-breakpoint
-- An index-only scan reads the table for the orders on pages not marked all-visible: those written or changed
-- since orders was last vacuumed. Autovacuum's defaults wait until a fifth of the table has changed (months of
-- orders at a million); here a hundredth.
ALTER TABLE "orders" SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01);
