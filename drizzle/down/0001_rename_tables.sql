-- Reverts 0001_rename_tables: the legacy names of the six tables, their sequences and primary keys.
ALTER TABLE "box_settings" RENAME CONSTRAINT "box_settings_pkey" TO "BoxSettings_pkey";--> statement-breakpoint
ALTER TABLE "orders" RENAME CONSTRAINT "orders_pkey" TO "Order_pkey";--> statement-breakpoint
ALTER TABLE "order_history" RENAME CONSTRAINT "order_history_pkey" TO "OrderHistory_pkey";--> statement-breakpoint
ALTER TABLE "products" RENAME CONSTRAINT "products_pkey" TO "Product_pkey";--> statement-breakpoint
ALTER TABLE "users" RENAME CONSTRAINT "users_pkey" TO "User_pkey";--> statement-breakpoint
ALTER TABLE "wordpress_sku_cache" RENAME CONSTRAINT "wordpress_sku_cache_pkey" TO "WordPressSkuCache_pkey";--> statement-breakpoint
ALTER SEQUENCE "box_settings_id_seq" RENAME TO "BoxSettings_id_seq";--> statement-breakpoint
ALTER SEQUENCE "products_id_seq" RENAME TO "Product_id_seq";--> statement-breakpoint
ALTER SEQUENCE "users_id_seq" RENAME TO "User_id_seq";--> statement-breakpoint
ALTER SEQUENCE "wordpress_sku_cache_id_seq" RENAME TO "WordPressSkuCache_id_seq";--> statement-breakpoint
ALTER TABLE "box_settings" RENAME TO "BoxSettings";--> statement-breakpoint
ALTER TABLE "orders" RENAME TO "Order";--> statement-breakpoint
ALTER TABLE "order_history" RENAME TO "OrderHistory";--> statement-breakpoint
ALTER TABLE "products" RENAME TO "Product";--> statement-breakpoint
ALTER TABLE "users" RENAME TO "User";--> statement-breakpoint
ALTER TABLE "wordpress_sku_cache" RENAME TO "WordPressSkuCache";
