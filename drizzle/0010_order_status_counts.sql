-- GET /orders/counts without filters reads these few rows, not the whole orders table (issue 26).
-- Written by drizzle-kit generate, except the triggers and the first fill, which it has no word for.
CREATE TABLE "order_status_counts" (
	"status" text NOT NULL,
	"slot" smallint NOT NULL,
	"n" bigint NOT NULL,
	CONSTRAINT "order_status_counts_status_slot_pk" PRIMARY KEY("status","slot")
);
--> statement-breakpoint
-- Writes to orders wait from here to the commit, so that the fill and the triggers see the same rows.
LOCK TABLE "orders" IN SHARE ROW EXCLUSIVE MODE;
--> statement-breakpoint
-- One statement's changes per status, added to the slot of this connection (backend pid mod 16):
-- concurrent writers of the same status mostly hold different rows, and the rows are taken in
-- status order, so that two statements do not wait on each other crosswise. Three functions,
-- because a transition table exists only for the events that have it.
CREATE FUNCTION "order_status_counts_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "order_status_counts" ("status", "slot", "n")
  SELECT "status", pg_backend_pid() % 16, count(*) FROM "new_rows" GROUP BY "status" ORDER BY "status"
  ON CONFLICT ("status", "slot") DO UPDATE SET "n" = "order_status_counts"."n" + excluded."n";
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE FUNCTION "order_status_counts_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "order_status_counts" ("status", "slot", "n")
  SELECT "status", pg_backend_pid() % 16, -count(*) FROM "old_rows" GROUP BY "status" ORDER BY "status"
  ON CONFLICT ("status", "slot") DO UPDATE SET "n" = "order_status_counts"."n" + excluded."n";
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE FUNCTION "order_status_counts_updated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "order_status_counts" ("status", "slot", "n")
  SELECT "status", pg_backend_pid() % 16, sum("delta")
  FROM (
    SELECT "status", 1 AS "delta" FROM "new_rows"
    UNION ALL
    SELECT "status", -1 FROM "old_rows"
  ) AS "changes"
  GROUP BY "status"
  HAVING sum("delta") <> 0
  ORDER BY "status"
  ON CONFLICT ("status", "slot") DO UPDATE SET "n" = "order_status_counts"."n" + excluded."n";
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE FUNCTION "order_status_counts_truncated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "order_status_counts";
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "orders_status_counts_insert" AFTER INSERT ON "orders" REFERENCING NEW TABLE AS "new_rows"
  FOR EACH STATEMENT EXECUTE FUNCTION "order_status_counts_inserted"();
--> statement-breakpoint
CREATE TRIGGER "orders_status_counts_delete" AFTER DELETE ON "orders" REFERENCING OLD TABLE AS "old_rows"
  FOR EACH STATEMENT EXECUTE FUNCTION "order_status_counts_deleted"();
--> statement-breakpoint
CREATE TRIGGER "orders_status_counts_update" AFTER UPDATE ON "orders" REFERENCING OLD TABLE AS "old_rows" NEW TABLE AS "new_rows"
  FOR EACH STATEMENT EXECUTE FUNCTION "order_status_counts_updated"();
--> statement-breakpoint
CREATE TRIGGER "orders_status_counts_truncate" AFTER TRUNCATE ON "orders"
  FOR EACH STATEMENT EXECUTE FUNCTION "order_status_counts_truncated"();
--> statement-breakpoint
-- the orders there are, in slot 0 (reads every order once; writes to orders wait meanwhile)
INSERT INTO "order_status_counts" ("status", "slot", "n") SELECT "status", 0, count(*) FROM "orders" GROUP BY "status";
