-- SalesDrive's updateAt of the newest webhook delivery applied to the order (UTC): a delivery older
-- than it changes nothing (routes/salesdrive-webhook.ts). Null for the orders no delivery has touched.
ALTER TABLE "orders" ADD COLUMN "salesdrive_updated_at" timestamp with time zone;