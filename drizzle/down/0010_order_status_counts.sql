-- Reverts 0010_order_status_counts. The legacy back office counts the orders table itself.
DROP TRIGGER "orders_status_counts_insert" ON "orders";
--> statement-breakpoint
DROP TRIGGER "orders_status_counts_delete" ON "orders";
--> statement-breakpoint
DROP TRIGGER "orders_status_counts_update" ON "orders";
--> statement-breakpoint
DROP TRIGGER "orders_status_counts_truncate" ON "orders";
--> statement-breakpoint
DROP FUNCTION "order_status_counts_inserted"();
--> statement-breakpoint
DROP FUNCTION "order_status_counts_deleted"();
--> statement-breakpoint
DROP FUNCTION "order_status_counts_updated"();
--> statement-breakpoint
DROP FUNCTION "order_status_counts_truncated"();
--> statement-breakpoint
DROP TABLE "order_status_counts";
