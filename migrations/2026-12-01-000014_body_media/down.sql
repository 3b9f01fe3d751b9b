DROP FUNCTION article_snapshot(uuid);
ALTER FUNCTION article_snapshot_without_body_media(uuid) RENAME TO article_snapshot;
DROP TABLE article_media;
