-- Reverts 0002_restructure: the legacy columns, types, defaults and indexes, and the three
-- dropped tables recreated (empty: what they held is not kept by the new schema). Every row of the
-- six tables is carried back, including those written through the service since.
-- What cannot go back: the sessions. users keeps only the SHA-256 of each refresh token, and the
-- legacy refresh_tokens table needs the token itself, so it comes back empty and the users of the
-- old back office log in again (`npm run db:rollback` reports how many sessions end).
--
-- Pre-flight: a value the legacy columns cannot hold stops the rollback before anything is
-- committed, with one line per row. No statement reads the rows for this alone: the rewrites
-- test each timestamp as they convert it (cannot_carry_back() stops them at the first such row);
-- only then is the whole list made (rollback_problems()). A separate read cost 1.85 s at a
-- million orders. Money numeric(12,2) -> double precision keeps every cent (twelve
-- digits fit a double exactly); a timestamp finer than a millisecond would be rounded by TIMESTAMP(3).
SET LOCAL TimeZone = 'UTC';--> statement-breakpoint
CREATE FUNCTION pg_temp.rollback_problems() RETURNS void LANGUAGE plpgsql AS $preflight$
DECLARE
  t record;
  found text[];
  problems text[] := '{}';
  shown int := 50;
BEGIN
  FOR t IN
    SELECT c.relname AS tbl,
           string_agg(format('(CASE WHEN r.%1$I <> date_trunc(''milliseconds'', r.%1$I) THEN format(%2$L, quote_literal(r.id), r.%1$I) END)',
                             a.attname, format('%s id=%%s %s=%%s: finer than a millisecond (TIMESTAMP(3) would round it)', c.relname, a.attname)), ', ') AS lines,
           string_agg(format('r.%1$I <> date_trunc(''milliseconds'', r.%1$I)', a.attname), ' OR ') AS fine
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
     WHERE c.relnamespace = 'public'::regnamespace
       AND c.relname IN ('users', 'orders', 'order_history', 'products', 'box_settings', 'wordpress_sku_cache')
       AND a.atttypid = 'timestamptz'::regtype AND a.attnum > 0 AND NOT a.attisdropped
       -- the session columns are dropped, not carried back
       AND a.attname NOT IN ('refresh_token_expires_at', 'refresh_token_rotated_at')
     GROUP BY c.relname ORDER BY c.relname
  LOOP
    EXECUTE format('SELECT array_agg(line ORDER BY line) FROM (SELECT * FROM %I r WHERE %s) r CROSS JOIN LATERAL (VALUES %s) AS v(line) WHERE line IS NOT NULL',
                   t.tbl, t.fine, t.lines) INTO found;
    problems := problems || coalesce(found, '{}');
  END LOOP;

  IF cardinality(problems) > 0 THEN
    RAISE EXCEPTION 'Rollback stopped before changing anything: % row(s) hold a value the legacy schema cannot hold unchanged:%',
      cardinality(problems),
      E'\n  ' || array_to_string(problems[1:shown], E'\n  ')
        || CASE WHEN cardinality(problems) > shown THEN format(E'\n  … and %s more', cardinality(problems) - shown) ELSE '' END
      USING HINT = 'Correct these rows (see README, "Going back"), then roll back again.';
  END IF;
END
$preflight$;
--> statement-breakpoint
CREATE FUNCTION pg_temp.cannot_carry_back() RETURNS timestamp LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'a value cannot be carried back unchanged' USING ERRCODE = 'BO002';
END
$$;
--> statement-breakpoint
-- Indexes and checks of the new schema go first, so that the rewrites below do not rebuild them.
DROP INDEX "orders_status_created_at_idx";--> statement-breakpoint
DROP INDEX "orders_created_at_idx";--> statement-breakpoint
DROP INDEX "orders_order_date_idx";--> statement-breakpoint
DROP INDEX "orders_last_synced_idx";--> statement-breakpoint
DROP INDEX "orders_customer_phone_idx";--> statement-breakpoint
DROP INDEX "order_history_order_id_changed_at_idx";--> statement-breakpoint
DROP INDEX "order_history_changed_at_idx";--> statement-breakpoint
DROP INDEX "products_category_name_idx";--> statement-breakpoint
DROP INDEX "products_last_sync_at_idx";--> statement-breakpoint
DROP INDEX "users_email_key";--> statement-breakpoint
DROP INDEX "users_refresh_token_hash_key";--> statement-breakpoint
DROP INDEX "users_previous_refresh_token_hash_idx";--> statement-breakpoint
ALTER INDEX "orders_external_id_key" RENAME TO "Order_externalId_key";--> statement-breakpoint
ALTER INDEX "orders_sync_status_idx" RENAME TO "Order_syncStatus_idx";--> statement-breakpoint
ALTER INDEX "products_sku_key" RENAME TO "Product_sku_key";--> statement-breakpoint
ALTER TABLE "order_history" RENAME CONSTRAINT "order_history_order_id_fkey" TO "OrderHistory_orderId_fkey";--> statement-breakpoint
ALTER TABLE "order_history" RENAME CONSTRAINT "order_history_user_id_fkey" TO "OrderHistory_userId_fkey";--> statement-breakpoint
-- One ALTER TABLE per table, each table rewritten once: TIMESTAMP(3) holding UTC, money as
-- DOUBLE PRECISION, the legacy defaults.
DO $orders$
BEGIN
  ALTER TABLE "orders"
    DROP CONSTRAINT "orders_quantity_check",
    DROP CONSTRAINT "orders_total_price_check",
    DROP CONSTRAINT "orders_items_check",
    DROP CONSTRAINT "orders_sync_status_check",
    ALTER COLUMN "total_price" SET DATA TYPE double precision USING "total_price"::double precision,
    ALTER COLUMN "order_date" SET DATA TYPE timestamp(3)
      USING CASE WHEN ("order_date" AT TIME ZONE 'UTC')::timestamp(3) <> "order_date" AT TIME ZONE 'UTC' THEN pg_temp.cannot_carry_back() ELSE "order_date" AT TIME ZONE 'UTC' END,
    ALTER COLUMN "last_synced" SET DATA TYPE timestamp(3)
      USING CASE WHEN ("last_synced" AT TIME ZONE 'UTC')::timestamp(3) <> "last_synced" AT TIME ZONE 'UTC' THEN pg_temp.cannot_carry_back() ELSE "last_synced" AT TIME ZONE 'UTC' END,
    ALTER COLUMN "last_synced" SET DEFAULT CURRENT_TIMESTAMP,
    ALTER COLUMN "created_at" SET DATA TYPE timestamp(3)
      USING CASE WHEN ("created_at" AT TIME ZONE 'UTC')::timestamp(3) <> "created_at" AT TIME ZONE 'UTC' THEN pg_temp.cannot_carry_back() ELSE "created_at" AT TIME ZONE 'UTC' END,
    ALTER COLUMN "created_at" SET DEFAULT CURRENT_TIMESTAMP,
    ALTER COLUMN "updated_at" DROP DEFAULT,
    ALTER COLUMN "updated_at" SET DATA TYPE timestamp(3)
      USING CASE WHEN ("updated_at" AT TIME ZONE 'UTC')::timestamp(3) <> "updated_at" AT TIME ZONE 'UTC' THEN pg_temp.cannot_carry_back() ELSE "updated_at" AT TIME ZONE 'UTC' END;
EXCEPTION WHEN SQLSTATE 'BO002' THEN
  PERFORM pg_temp.rollback_problems();
  RAISE;
END
$orders$;
--> statement-breakpoint
DO $order_history$
BEGIN
  ALTER TABLE "order_history"
    DROP CONSTRAINT "order_history_source_check",
    ALTER COLUMN "id" DROP DEFAULT,
    ALTER COLUMN "changed_at" SET DATA TYPE timestamp(3)
      USING CASE WHEN ("changed_at" AT TIME ZONE 'UTC')::timestamp(3) <> "changed_at" AT TIME ZONE 'UTC' THEN pg_temp.cannot_carry_back() ELSE "changed_at" AT TIME ZONE 'UTC' END,
    ALTER COLUMN "changed_at" SET DEFAULT CURRENT_TIMESTAMP;
EXCEPTION WHEN SQLSTATE 'BO002' THEN
  PERFORM pg_temp.rollback_problems();
  RAISE;
END
$order_history$;
--> statement-breakpoint
DO $products$
BEGIN
  ALTER TABLE "products"
    DROP CONSTRAINT "products_cost_per_item_check",
    DROP CONSTRAINT "products_currency_check",
    ALTER COLUMN "cost_per_item" SET DATA TYPE double precision USING "cost_per_item"::double precision,
    ALTER COLUMN "last_sync_at" SET DATA TYPE timestamp(3)
      USING CASE WHEN ("last_sync_at" AT TIME ZONE 'UTC')::timestamp(3) <> "last_sync_at" AT TIME ZONE 'UTC' THEN pg_temp.cannot_carry_back() ELSE "last_sync_at" AT TIME ZONE 'UTC' END,
    ALTER COLUMN "last_sync_at" SET DEFAULT CURRENT_TIMESTAMP,
    ALTER COLUMN "created_at" SET DATA TYPE timestamp(3)
      USING CASE WHEN ("created_at" AT TIME ZONE 'UTC')::timestamp(3) <> "created_at" AT TIME ZONE 'UTC' THEN pg_temp.cannot_carry_back() ELSE "created_at" AT TIME ZONE 'UTC' END,
    ALTER COLUMN "created_at" SET DEFAULT CURRENT_TIMESTAMP,
    ALTER COLUMN "updated_at" DROP DEFAULT,
    ALTER COLUMN "updated_at" SET DATA TYPE timestamp(3)
      USING CASE WHEN ("updated_at" AT TIME ZONE 'UTC')::timestamp(3) <> "updated_at" AT TIME ZONE 'UTC' THEN pg_temp.cannot_carry_back() ELSE "updated_at" AT TIME ZONE 'UTC' END;
EXCEPTION WHEN SQLSTATE 'BO002' THEN
  PERFORM pg_temp.rollback_problems();
  RAISE;
END
$products$;
--> statement-breakpoint
DO $box_settings$
BEGIN
  ALTER TABLE "box_settings"
    DROP CONSTRAINT "box_settings_portions_check",
    DROP CONSTRAINT "box_settings_size_check",
    ALTER COLUMN "created_at" SET DATA TYPE timestamp(3)
      USING CASE WHEN ("created_at" AT TIME ZONE 'UTC')::timestamp(3) <> "created_at" AT TIME ZONE 'UTC' THEN pg_temp.cannot_carry_back() ELSE "created_at" AT TIME ZONE 'UTC' END,
    ALTER COLUMN "created_at" SET DEFAULT CURRENT_TIMESTAMP,
    ALTER COLUMN "updated_at" DROP DEFAULT,
    ALTER COLUMN "updated_at" SET DATA TYPE timestamp(3)
      USING CASE WHEN ("updated_at" AT TIME ZONE 'UTC')::timestamp(3) <> "updated_at" AT TIME ZONE 'UTC' THEN pg_temp.cannot_carry_back() ELSE "updated_at" AT TIME ZONE 'UTC' END;
EXCEPTION WHEN SQLSTATE 'BO002' THEN
  PERFORM pg_temp.rollback_problems();
  RAISE;
END
$box_settings$;
--> statement-breakpoint
DO $wordpress_sku_cache$
BEGIN
  ALTER TABLE "wordpress_sku_cache"
    DROP CONSTRAINT "wordpress_sku_cache_skus_check",
    ALTER COLUMN "last_updated" SET DATA TYPE timestamp(3)
      USING CASE WHEN ("last_updated" AT TIME ZONE 'UTC')::timestamp(3) <> "last_updated" AT TIME ZONE 'UTC' THEN pg_temp.cannot_carry_back() ELSE "last_updated" AT TIME ZONE 'UTC' END,
    ALTER COLUMN "last_updated" SET DEFAULT CURRENT_TIMESTAMP;
EXCEPTION WHEN SQLSTATE 'BO002' THEN
  PERFORM pg_temp.rollback_problems();
  RAISE;
END
$wordpress_sku_cache$;
--> statement-breakpoint
DO $users$
BEGIN
  ALTER TABLE "users"
    DROP CONSTRAINT "users_role_check",
    DROP CONSTRAINT "users_email_check",
    DROP COLUMN "refresh_token_hash",
    DROP COLUMN "refresh_token_expires_at",
    DROP COLUMN "previous_refresh_token_hash",
    DROP COLUMN "refresh_token_rotated_at",
    ALTER COLUMN "last_activity_at" SET DATA TYPE timestamp(3)
      USING CASE WHEN ("last_activity_at" AT TIME ZONE 'UTC')::timestamp(3) <> "last_activity_at" AT TIME ZONE 'UTC' THEN pg_temp.cannot_carry_back() ELSE "last_activity_at" AT TIME ZONE 'UTC' END,
    ALTER COLUMN "last_login_at" SET DATA TYPE timestamp(3)
      USING CASE WHEN ("last_login_at" AT TIME ZONE 'UTC')::timestamp(3) <> "last_login_at" AT TIME ZONE 'UTC' THEN pg_temp.cannot_carry_back() ELSE "last_login_at" AT TIME ZONE 'UTC' END,
    ALTER COLUMN "created_at" SET DATA TYPE timestamp(3)
      USING CASE WHEN ("created_at" AT TIME ZONE 'UTC')::timestamp(3) <> "created_at" AT TIME ZONE 'UTC' THEN pg_temp.cannot_carry_back() ELSE "created_at" AT TIME ZONE 'UTC' END,
    ALTER COLUMN "created_at" SET DEFAULT CURRENT_TIMESTAMP,
    ALTER COLUMN "updated_at" DROP DEFAULT,
    ALTER COLUMN "updated_at" SET DATA TYPE timestamp(3)
      USING CASE WHEN ("updated_at" AT TIME ZONE 'UTC')::timestamp(3) <> "updated_at" AT TIME ZONE 'UTC' THEN pg_temp.cannot_carry_back() ELSE "updated_at" AT TIME ZONE 'UTC' END;
EXCEPTION WHEN SQLSTATE 'BO002' THEN
  PERFORM pg_temp.rollback_problems();
  RAISE;
END
$users$;
--> statement-breakpoint
DROP FUNCTION pg_temp.cannot_carry_back();--> statement-breakpoint
DROP FUNCTION pg_temp.rollback_problems();--> statement-breakpoint
ALTER TABLE "box_settings" RENAME COLUMN "qnt_from" TO "qntFrom";--> statement-breakpoint
ALTER TABLE "box_settings" RENAME COLUMN "qnt_to" TO "qntTo";--> statement-breakpoint
ALTER TABLE "box_settings" RENAME COLUMN "is_active" TO "isActive";--> statement-breakpoint
ALTER TABLE "box_settings" RENAME COLUMN "created_at" TO "createdAt";--> statement-breakpoint
ALTER TABLE "box_settings" RENAME COLUMN "updated_at" TO "updatedAt";--> statement-breakpoint
ALTER TABLE "orders" RENAME COLUMN "external_id" TO "externalId";--> statement-breakpoint
ALTER TABLE "orders" RENAME COLUMN "order_number" TO "orderNumber";--> statement-breakpoint
ALTER TABLE "orders" RENAME COLUMN "status_text" TO "statusText";--> statement-breakpoint
ALTER TABLE "orders" RENAME COLUMN "raw_data" TO "rawData";--> statement-breakpoint
ALTER TABLE "orders" RENAME COLUMN "customer_name" TO "customerName";--> statement-breakpoint
ALTER TABLE "orders" RENAME COLUMN "customer_phone" TO "customerPhone";--> statement-breakpoint
ALTER TABLE "orders" RENAME COLUMN "delivery_address" TO "deliveryAddress";--> statement-breakpoint
ALTER TABLE "orders" RENAME COLUMN "city_name" TO "cityName";--> statement-breakpoint
ALTER TABLE "orders" RENAME COLUMN "payment_method" TO "paymentMethod";--> statement-breakpoint
ALTER TABLE "orders" RENAME COLUMN "shipping_method" TO "shippingMethod";--> statement-breakpoint
ALTER TABLE "orders" RENAME COLUMN "total_price" TO "totalPrice";--> statement-breakpoint
ALTER TABLE "orders" RENAME COLUMN "order_date" TO "orderDate";--> statement-breakpoint
ALTER TABLE "orders" RENAME COLUMN "sync_status" TO "syncStatus";--> statement-breakpoint
ALTER TABLE "orders" RENAME COLUMN "sync_error" TO "syncError";--> statement-breakpoint
ALTER TABLE "orders" RENAME COLUMN "last_synced" TO "lastSynced";--> statement-breakpoint
ALTER TABLE "orders" RENAME COLUMN "created_at" TO "createdAt";--> statement-breakpoint
ALTER TABLE "orders" RENAME COLUMN "updated_at" TO "updatedAt";--> statement-breakpoint
ALTER TABLE "order_history" RENAME COLUMN "order_id" TO "orderId";--> statement-breakpoint
ALTER TABLE "order_history" RENAME COLUMN "status_text" TO "statusText";--> statement-breakpoint
ALTER TABLE "order_history" RENAME COLUMN "changed_at" TO "changedAt";--> statement-breakpoint
ALTER TABLE "order_history" RENAME COLUMN "user_id" TO "userId";--> statement-breakpoint
ALTER TABLE "products" RENAME COLUMN "cost_per_item" TO "costPerItem";--> statement-breakpoint
ALTER TABLE "products" RENAME COLUMN "category_id" TO "categoryId";--> statement-breakpoint
ALTER TABLE "products" RENAME COLUMN "category_name" TO "categoryName";--> statement-breakpoint
ALTER TABLE "products" RENAME COLUMN "additional_prices" TO "additionalPrices";--> statement-breakpoint
ALTER TABLE "products" RENAME COLUMN "stock_balance_by_stock" TO "stockBalanceByStock";--> statement-breakpoint
ALTER TABLE "products" RENAME COLUMN "dilovod_id" TO "dilovodId";--> statement-breakpoint
ALTER TABLE "products" RENAME COLUMN "last_sync_at" TO "lastSyncAt";--> statement-breakpoint
ALTER TABLE "products" RENAME COLUMN "created_at" TO "createdAt";--> statement-breakpoint
ALTER TABLE "products" RENAME COLUMN "updated_at" TO "updatedAt";--> statement-breakpoint
ALTER TABLE "users" RENAME COLUMN "role_name" TO "roleName";--> statement-breakpoint
ALTER TABLE "users" RENAME COLUMN "password_hash" TO "password";--> statement-breakpoint
ALTER TABLE "users" RENAME COLUMN "is_active" TO "isActive";--> statement-breakpoint
ALTER TABLE "users" RENAME COLUMN "last_activity_at" TO "lastActivityAt";--> statement-breakpoint
ALTER TABLE "users" RENAME COLUMN "last_login_at" TO "lastLoginAt";--> statement-breakpoint
ALTER TABLE "users" RENAME COLUMN "created_at" TO "createdAt";--> statement-breakpoint
ALTER TABLE "users" RENAME COLUMN "updated_at" TO "updatedAt";--> statement-breakpoint
ALTER TABLE "wordpress_sku_cache" RENAME COLUMN "last_updated" TO "lastUpdated";--> statement-breakpoint
ALTER TABLE "wordpress_sku_cache" RENAME COLUMN "total_count" TO "totalCount";--> statement-breakpoint
-- The legacy indexes that 0002 dropped (duplicates included: the old back office's Prisma schema
-- declares them).
CREATE INDEX "Order_externalId_idx" ON "orders" USING btree ("externalId");--> statement-breakpoint
CREATE INDEX "Order_lastSynced_idx" ON "orders" USING btree ("lastSynced");--> statement-breakpoint
CREATE INDEX "Order_status_idx" ON "orders" USING btree ("status");--> statement-breakpoint
CREATE INDEX "OrderHistory_changedAt_idx" ON "order_history" USING btree ("changedAt");--> statement-breakpoint
CREATE INDEX "OrderHistory_orderId_idx" ON "order_history" USING btree ("orderId");--> statement-breakpoint
CREATE INDEX "OrderHistory_source_idx" ON "order_history" USING btree ("source");--> statement-breakpoint
CREATE INDEX "Product_categoryId_idx" ON "products" USING btree ("categoryId");--> statement-breakpoint
CREATE INDEX "Product_lastSyncAt_idx" ON "products" USING btree ("lastSyncAt");--> statement-breakpoint
CREATE INDEX "Product_sku_idx" ON "products" USING btree ("sku");--> statement-breakpoint
CREATE INDEX "BoxSettings_isActive_idx" ON "box_settings" USING btree ("isActive");--> statement-breakpoint
CREATE INDEX "BoxSettings_marking_idx" ON "box_settings" USING btree ("marking");--> statement-breakpoint
CREATE INDEX "BoxSettings_qntFrom_idx" ON "box_settings" USING btree ("qntFrom");--> statement-breakpoint
CREATE INDEX "BoxSettings_qntTo_idx" ON "box_settings" USING btree ("qntTo");--> statement-breakpoint
CREATE UNIQUE INDEX "User_email_key" ON "users" USING btree ("email");--> statement-breakpoint
-- The tables 0002 dropped, as the legacy schema has them, empty.
CREATE TABLE "refresh_tokens" (
    "id" TEXT NOT NULL,
    "token" TEXT NOT NULL,
    "userId" INTEGER NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "refresh_tokens_pkey" PRIMARY KEY ("id")
);--> statement-breakpoint
CREATE UNIQUE INDEX "refresh_tokens_token_key" ON "refresh_tokens"("token");--> statement-breakpoint
CREATE INDEX "refresh_tokens_userId_idx" ON "refresh_tokens"("userId");--> statement-breakpoint
CREATE INDEX "refresh_tokens_expiresAt_idx" ON "refresh_tokens"("expiresAt");--> statement-breakpoint
ALTER TABLE "refresh_tokens" ADD CONSTRAINT "refresh_tokens_userId_fkey" FOREIGN KEY ("userId") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;--> statement-breakpoint
CREATE TABLE "DilovodData" (
    "id" SERIAL NOT NULL,
    "title" TEXT NOT NULL,
    "price" DOUBLE PRECISION NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "DilovodData_pkey" PRIMARY KEY ("id")
);--> statement-breakpoint
CREATE TABLE "SalesDriveData" (
    "id" SERIAL NOT NULL,
    "title" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL,
    "price" DOUBLE PRECISION NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "SalesDriveData_pkey" PRIMARY KEY ("id")
);
