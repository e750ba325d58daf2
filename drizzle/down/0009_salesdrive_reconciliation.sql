-- Reverts 0009_salesdrive_reconciliation. The legacy schema keeps no high-water mark: the next
-- reconciliation after migrating again reads the last day, as a first run does.
DROP TABLE "feed_marks";
