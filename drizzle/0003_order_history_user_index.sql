-- Deleting a user (ON DELETE SET NULL) read all of order_history without it: 246 ms per user at
-- 3.25 million rows (bench, EXPLAIN ANALYZE); the history list filters by user_id too.
CREATE INDEX "order_history_user_id_idx" ON "order_history" USING btree ("user_id");