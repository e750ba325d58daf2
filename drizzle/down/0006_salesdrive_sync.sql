-- Reverts 0006_salesdrive_sync. What the column held is not lost: it is the `updateAt` of the
-- delivery whose payload orders.raw_data keeps (data.updateAt, Kyiv time).
ALTER TABLE "orders" DROP COLUMN "salesdrive_updated_at";
