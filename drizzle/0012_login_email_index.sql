-- A login looks its account up by lower(btrim(email)), which finds a legacy address kept with spaces
-- around it too (users_email_check is NOT VALID for those rows). The unique index is on lower(email), which
-- that expression cannot use: every login read the whole of users (1.0-2.1 ms at 1,057 users, EXPLAIN ANALYZE).
CREATE INDEX "users_email_trimmed_idx" ON "users" USING btree (lower(btrim("email")));
