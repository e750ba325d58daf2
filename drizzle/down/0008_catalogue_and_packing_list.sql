-- Reverts 0008_catalogue_and_packing_list. The legacy schema has no place for the barcodes, the
-- outdated mark or the sync's runs: they are dropped (the next sync from Dilovod brings the product
-- barcodes back; box barcodes are entered again).
DROP TABLE "catalogue_sync_runs";
--> statement-breakpoint
ALTER TABLE "products" DROP COLUMN "outdated_at";
--> statement-breakpoint
ALTER TABLE "products" DROP COLUMN "barcode";
--> statement-breakpoint
ALTER TABLE "box_settings" DROP COLUMN "barcode";
