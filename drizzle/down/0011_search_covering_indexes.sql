-- Reverts 0011_search_covering_indexes: the indexes of the list's orders without the searched fields, as 0002 made them.
DROP INDEX "orders_status_created_at_idx";
--> statement-breakpoint
CREATE INDEX "orders_status_created_at_idx" ON "orders" USING btree ("status","created_at","id");
--> statement-breakpoint
DROP INDEX "orders_created_at_idx";
--> statement-breakpoint
CREATE INDEX "orders_created_at_idx" ON "orders" USING btree ("created_at","id");
--> statement-breakpoint
DROP INDEX "orders_order_date_idx";
--> statement-breakpoint
CREATE INDEX "orders_order_date_idx" ON "orders" USING btree ("order_date","id");
--> statement-breakpoint
DROP INDEX "orders_last_synced_idx";
--> statement-breakpoint
CREATE INDEX "orders_last_synced_idx" ON "orders" USING btree ("last_synced","id");
--> statement-breakpoint
ALTER TABLE "orders" RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_insert_scale_factor);
