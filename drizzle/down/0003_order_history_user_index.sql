-- Reverts 0003_order_history_user_index.
DROP INDEX "order_history_user_id_idx";
