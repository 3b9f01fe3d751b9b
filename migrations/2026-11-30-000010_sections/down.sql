DROP FUNCTION article_snapshot(uuid);
ALTER FUNCTION article_snapshot_without_section(uuid) RENAME TO article_snapshot;
ALTER TABLE articles DROP COLUMN section_id;
DROP TABLE sections;
