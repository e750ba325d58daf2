-- The legacy schema, as Prisma created it and `drizzle-kit pull` read it from the backup
-- (test/fixtures/legacy-backup.sql); Prisma's own ledger, _prisma_migrations, is not part of it.
-- The chain starts here so that one chain takes a legacy database and an empty one to the same
-- schema: on a legacy database this migration changes nothing, on an empty one it creates the
-- legacy tables, which the next migrations restructure exactly as they restructure real data.
DO $legacy$
DECLARE
  required text[] := ARRAY['User', 'Order', 'OrderHistory', 'Product', 'BoxSettings', 'WordPressSkuCache', 'refresh_tokens'];
  present text[];
BEGIN
  SELECT coalesce(array_agg(name), '{}') INTO present
    FROM unnest(required) AS name
   WHERE to_regclass(format('public.%I', name)) IS NOT NULL;
  IF cardinality(present) = cardinality(required) THEN
    RETURN; -- a legacy database: nothing to create
  END IF;
  IF cardinality(present) > 0 THEN
    RAISE EXCEPTION 'This database holds only part of the legacy schema: found %, missing %.',
      present, ARRAY(SELECT unnest(required) EXCEPT SELECT unnest(present))
      USING HINT = 'Restore the whole legacy backup, or start from an empty database.';
  END IF;

  CREATE TABLE "Order" (
  	"id" text PRIMARY KEY NOT NULL,
  	"externalId" text NOT NULL,
  	"orderNumber" text NOT NULL,
  	"ttn" text NOT NULL,
  	"quantity" integer NOT NULL,
  	"status" text NOT NULL,
  	"statusText" text NOT NULL,
  	"items" jsonb NOT NULL,
  	"rawData" jsonb NOT NULL,
  	"customerName" text,
  	"customerPhone" text,
  	"deliveryAddress" text,
  	"cityName" text,
  	"paymentMethod" text,
  	"shippingMethod" text,
  	"provider" text,
  	"totalPrice" double precision,
  	"orderDate" timestamp(3),
  	"syncStatus" text DEFAULT 'pending' NOT NULL,
  	"syncError" text,
  	"lastSynced" timestamp(3) DEFAULT CURRENT_TIMESTAMP NOT NULL,
  	"createdAt" timestamp(3) DEFAULT CURRENT_TIMESTAMP NOT NULL,
  	"updatedAt" timestamp(3) NOT NULL
  );

  CREATE TABLE "OrderHistory" (
  	"id" text PRIMARY KEY NOT NULL,
  	"orderId" text NOT NULL,
  	"status" text NOT NULL,
  	"statusText" text NOT NULL,
  	"changedAt" timestamp(3) DEFAULT CURRENT_TIMESTAMP NOT NULL,
  	"source" text NOT NULL,
  	"userId" integer,
  	"notes" text
  );

  CREATE TABLE "Product" (
  	"id" serial PRIMARY KEY NOT NULL,
  	"sku" text NOT NULL,
  	"name" text NOT NULL,
  	"costPerItem" double precision,
  	"currency" text DEFAULT 'UAH' NOT NULL,
  	"categoryId" integer,
  	"categoryName" text,
  	"set" jsonb,
  	"additionalPrices" jsonb,
  	"stockBalanceByStock" jsonb,
  	"dilovodId" text,
  	"parent" text,
  	"weight" integer,
  	"lastSyncAt" timestamp(3) DEFAULT CURRENT_TIMESTAMP NOT NULL,
  	"createdAt" timestamp(3) DEFAULT CURRENT_TIMESTAMP NOT NULL,
  	"updatedAt" timestamp(3) NOT NULL
  );

  CREATE TABLE "BoxSettings" (
  	"id" serial PRIMARY KEY NOT NULL,
  	"name" text NOT NULL,
  	"marking" text NOT NULL,
  	"qntFrom" integer NOT NULL,
  	"qntTo" integer NOT NULL,
  	"width" integer NOT NULL,
  	"height" integer NOT NULL,
  	"length" integer NOT NULL,
  	"overflow" integer DEFAULT 1 NOT NULL,
  	"weight" numeric(10, 2) NOT NULL,
  	"self_weight" numeric(10, 2) NOT NULL,
  	"description" text,
  	"isActive" boolean DEFAULT true NOT NULL,
  	"createdAt" timestamp(3) DEFAULT CURRENT_TIMESTAMP NOT NULL,
  	"updatedAt" timestamp(3) NOT NULL
  );

  CREATE TABLE "WordPressSkuCache" (
  	"id" serial PRIMARY KEY NOT NULL,
  	"skus" jsonb NOT NULL,
  	"lastUpdated" timestamp(3) DEFAULT CURRENT_TIMESTAMP NOT NULL,
  	"totalCount" integer DEFAULT 0 NOT NULL
  );

  CREATE TABLE "DilovodData" (
  	"id" serial PRIMARY KEY NOT NULL,
  	"title" text NOT NULL,
  	"price" double precision NOT NULL,
  	"createdAt" timestamp(3) DEFAULT CURRENT_TIMESTAMP NOT NULL
  );

  CREATE TABLE "SalesDriveData" (
  	"id" serial PRIMARY KEY NOT NULL,
  	"title" text NOT NULL,
  	"quantity" integer NOT NULL,
  	"price" double precision NOT NULL,
  	"createdAt" timestamp(3) DEFAULT CURRENT_TIMESTAMP NOT NULL
  );

  CREATE TABLE "User" (
  	"id" serial PRIMARY KEY NOT NULL,
  	"email" text NOT NULL,
  	"name" text,
  	"role" text NOT NULL,
  	"roleName" text,
  	"password" text NOT NULL,
  	"isActive" boolean DEFAULT true NOT NULL,
  	"lastActivityAt" timestamp(3),
  	"lastLoginAt" timestamp(3),
  	"createdAt" timestamp(3) DEFAULT CURRENT_TIMESTAMP NOT NULL,
  	"updatedAt" timestamp(3) NOT NULL
  );

  CREATE TABLE "refresh_tokens" (
  	"id" text PRIMARY KEY NOT NULL,
  	"token" text NOT NULL,
  	"userId" integer NOT NULL,
  	"expiresAt" timestamp(3) NOT NULL,
  	"createdAt" timestamp(3) DEFAULT CURRENT_TIMESTAMP NOT NULL
  );

  ALTER TABLE "OrderHistory" ADD CONSTRAINT "OrderHistory_orderId_fkey" FOREIGN KEY ("orderId") REFERENCES "public"."Order"("id") ON DELETE cascade ON UPDATE cascade;
  ALTER TABLE "OrderHistory" ADD CONSTRAINT "OrderHistory_userId_fkey" FOREIGN KEY ("userId") REFERENCES "public"."User"("id") ON DELETE set null ON UPDATE cascade;
  ALTER TABLE "refresh_tokens" ADD CONSTRAINT "refresh_tokens_userId_fkey" FOREIGN KEY ("userId") REFERENCES "public"."User"("id") ON DELETE cascade ON UPDATE cascade;
  CREATE INDEX "Order_externalId_idx" ON "Order" USING btree ("externalId" text_ops);
  CREATE UNIQUE INDEX "Order_externalId_key" ON "Order" USING btree ("externalId" text_ops);
  CREATE INDEX "Order_lastSynced_idx" ON "Order" USING btree ("lastSynced" timestamp_ops);
  CREATE INDEX "Order_status_idx" ON "Order" USING btree ("status" text_ops);
  CREATE INDEX "Order_syncStatus_idx" ON "Order" USING btree ("syncStatus" text_ops);
  CREATE INDEX "OrderHistory_changedAt_idx" ON "OrderHistory" USING btree ("changedAt" timestamp_ops);
  CREATE INDEX "OrderHistory_orderId_idx" ON "OrderHistory" USING btree ("orderId" text_ops);
  CREATE INDEX "OrderHistory_source_idx" ON "OrderHistory" USING btree ("source" text_ops);
  CREATE INDEX "Product_categoryId_idx" ON "Product" USING btree ("categoryId" int4_ops);
  CREATE INDEX "Product_lastSyncAt_idx" ON "Product" USING btree ("lastSyncAt" timestamp_ops);
  CREATE INDEX "Product_sku_idx" ON "Product" USING btree ("sku" text_ops);
  CREATE UNIQUE INDEX "Product_sku_key" ON "Product" USING btree ("sku" text_ops);
  CREATE INDEX "BoxSettings_isActive_idx" ON "BoxSettings" USING btree ("isActive" bool_ops);
  CREATE INDEX "BoxSettings_marking_idx" ON "BoxSettings" USING btree ("marking" text_ops);
  CREATE INDEX "BoxSettings_qntFrom_idx" ON "BoxSettings" USING btree ("qntFrom" int4_ops);
  CREATE INDEX "BoxSettings_qntTo_idx" ON "BoxSettings" USING btree ("qntTo" int4_ops);
  CREATE UNIQUE INDEX "User_email_key" ON "User" USING btree ("email" text_ops);
  CREATE INDEX "refresh_tokens_expiresAt_idx" ON "refresh_tokens" USING btree ("expiresAt" timestamp_ops);
  CREATE UNIQUE INDEX "refresh_tokens_token_key" ON "refresh_tokens" USING btree ("token" text_ops);
  CREATE INDEX "refresh_tokens_userId_idx" ON "refresh_tokens" USING btree ("userId" int4_ops);
END
$legacy$;
