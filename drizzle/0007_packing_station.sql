-- The packing station (issue 19). Written by drizzle-kit generate, except the extension and the
-- settings row, which it has no word for.
-- GET /orders?q=: trigram search (pg_trgm: a trusted extension, which the database's owner may
-- create; PGlite loads it in src/db/client.ts openPglite). An operator's pg_trgm is used as it is.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
--> statement-breakpoint
CREATE TABLE "shop_settings" (
	"id" integer PRIMARY KEY DEFAULT 1 NOT NULL,
	"weight_tolerance_percent" numeric(5, 2) DEFAULT '5.00' NOT NULL,
	"weight_tolerance_grams" integer DEFAULT 50 NOT NULL,
	"updated_at" timestamp with time zone,
	CONSTRAINT "shop_settings_one_row_check" CHECK ("shop_settings"."id" = 1),
	CONSTRAINT "shop_settings_weight_tolerance_check" CHECK ("shop_settings"."weight_tolerance_percent" >= 0 AND "shop_settings"."weight_tolerance_percent" <= 100 AND "shop_settings"."weight_tolerance_grams" >= 0)
);
--> statement-breakpoint
-- the one row, with the defaults: 5 % or 50 g, whichever is larger (updated_at null: never changed)
INSERT INTO "shop_settings" ("id") VALUES (1);
--> statement-breakpoint
-- reads every order once (11 s and 101 MB at 1M orders, bench database; writes to orders wait meanwhile)
CREATE INDEX "orders_search_idx" ON "orders" USING gin (("order_number" || chr(10) || "ttn" || chr(10) || coalesce("customer_name", '') || chr(10) || coalesce("customer_phone", '')) gin_trgm_ops);
