-- The reconciliation with SalesDrive (issue 27): how far each pulling feed has read, as drizzle-kit
-- generate wrote it.
CREATE TABLE "feed_marks" (
	"name" text PRIMARY KEY NOT NULL,
	"mark" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone DEFAULT date_trunc('milliseconds', now()) NOT NULL
);
