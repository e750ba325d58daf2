-- Reverts 0012_login_email_index.
DROP INDEX "users_email_trimmed_idx";
