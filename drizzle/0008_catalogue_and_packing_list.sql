-- The catalogue from Dilovod and the packing list (issue 27), as drizzle-kit generate wrote it:
-- the sync's runs, the barcodes the packing station scans (products, boxes), and when a product was
-- found gone from Dilovod. New columns are nullable without a default: no table is rewritten.
CREATE TABLE "catalogue_sync_runs" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"trigger" text NOT NULL,
	"requested_by" integer,
	"allow_large_change" boolean DEFAULT false NOT NULL,
	"state" text DEFAULT 'queued' NOT NULL,
	"created" integer,
	"changed" integer,
	"unchanged" integer,
	"outdated" integer,
	"error" text,
	"queued_at" timestamp with time zone DEFAULT date_trunc('milliseconds', now()) NOT NULL,
	"started_at" timestamp with time zone,
	"heartbeat_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	CONSTRAINT "catalogue_sync_runs_state_check" CHECK ("catalogue_sync_runs"."state" IN ('queued', 'running', 'succeeded', 'failed', 'refused')),
	CONSTRAINT "catalogue_sync_runs_trigger_check" CHECK ("catalogue_sync_runs"."trigger" IN ('schedule', 'manual'))
);
--> statement-breakpoint
ALTER TABLE "box_settings" ADD COLUMN "barcode" text;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "barcode" text;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "outdated_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "catalogue_sync_runs" ADD CONSTRAINT "catalogue_sync_runs_requested_by_fkey" FOREIGN KEY ("requested_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE cascade;--> statement-breakpoint
CREATE INDEX "catalogue_sync_runs_queued_at_idx" ON "catalogue_sync_runs" USING btree ("queued_at","id");
