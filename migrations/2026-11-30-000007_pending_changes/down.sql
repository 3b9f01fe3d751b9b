DROP TABLE server_secrets;
DROP INDEX articles_pending_publish_at_idx;
ALTER TABLE articles
    DROP CONSTRAINT articles_pending_publish_only_for_copies,
    DROP CONSTRAINT articles_pending_for_key,
    DROP COLUMN pending_base_version,
    DROP COLUMN pending_publish_at,
    DROP COLUMN pending_for;
