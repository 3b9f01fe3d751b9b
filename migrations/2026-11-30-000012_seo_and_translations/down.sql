DROP FUNCTION article_snapshot(uuid);
ALTER FUNCTION article_snapshot_without_seo(uuid) RENAME TO article_snapshot;
DROP INDEX articles_translation_language_key;
ALTER TABLE articles DROP COLUMN translation_group;
ALTER TABLE articles DROP COLUMN seo;
