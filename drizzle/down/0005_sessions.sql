-- Reverts 0005_sessions: back to one refresh-token slot per user.
-- What cannot go back: a user holds one session again, so each keeps only the newest of their
-- unexpired sessions (latest rotation, else latest creation) with its previous hash; the other
-- devices must log in again. Session ids and device labels are dropped, and so is token_version:
-- access tokens issued before the rollback stop carrying anything the old code checks, so they
-- keep working until they expire (the old code's behaviour). Login-attempt counters are dropped.
DROP TRIGGER "users_auth_delete" ON "users";--> statement-breakpoint
DROP TRIGGER "users_auth_change" ON "users";--> statement-breakpoint
DROP FUNCTION "users_notify_auth_change"();--> statement-breakpoint
DROP TABLE "rate_limits";--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "refresh_token_hash" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "refresh_token_expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "previous_refresh_token_hash" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "refresh_token_rotated_at" timestamp with time zone;--> statement-breakpoint
-- As in 0005: the NOT VALID checks of users are set aside for the move (PostgreSQL would check a
-- legacy row that breaks one again on its UPDATE) and added back as they were.
CREATE TEMPORARY TABLE "set_aside_checks" ON COMMIT DROP AS
  SELECT conname AS name, pg_get_constraintdef(oid) AS definition
    FROM pg_constraint WHERE conrelid = '"users"'::regclass AND contype = 'c' AND NOT convalidated;--> statement-breakpoint
DO $set_aside$
DECLARE c record;
BEGIN
  FOR c IN SELECT name FROM set_aside_checks LOOP
    EXECUTE format('ALTER TABLE "users" DROP CONSTRAINT %I', c.name);
  END LOOP;
END
$set_aside$;--> statement-breakpoint
UPDATE "users" AS u
   SET "refresh_token_hash" = s."hash",
       "refresh_token_expires_at" = s."expiresAt",
       "previous_refresh_token_hash" = s."previousHash",
       "refresh_token_rotated_at" = s."rotatedAt"
  FROM (SELECT DISTINCT ON (u2."id") u2."id", e.s->>'hash' AS "hash", (e.s->>'expiresAt')::timestamptz AS "expiresAt",
               e.s->>'previousHash' AS "previousHash", (e.s->>'rotatedAt')::timestamptz AS "rotatedAt"
          FROM "users" AS u2, jsonb_array_elements(u2."sessions") AS e(s)
         WHERE (e.s->>'expiresAt')::timestamptz > now()
         ORDER BY u2."id", coalesce((e.s->>'rotatedAt')::timestamptz, (e.s->>'createdAt')::timestamptz) DESC, e.s->>'id') AS s
 WHERE u."id" = s."id";--> statement-breakpoint
DO $restore$
DECLARE c record;
BEGIN
  FOR c IN SELECT name, definition FROM set_aside_checks ORDER BY name LOOP
    EXECUTE format('ALTER TABLE "users" ADD CONSTRAINT %I %s', c.name, c.definition);
  END LOOP;
END
$restore$;--> statement-breakpoint
DROP TABLE "set_aside_checks";--> statement-breakpoint
DROP INDEX "users_sessions_idx";--> statement-breakpoint
ALTER TABLE "users" DROP COLUMN "sessions";--> statement-breakpoint
ALTER TABLE "users" DROP COLUMN "token_version";--> statement-breakpoint
CREATE UNIQUE INDEX "users_refresh_token_hash_key" ON "users" USING btree ("refresh_token_hash");--> statement-breakpoint
CREATE INDEX "users_previous_refresh_token_hash_idx" ON "users" USING btree ("previous_refresh_token_hash");
