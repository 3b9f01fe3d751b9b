DROP FUNCTION article_snapshot(uuid);
ALTER FUNCTION article_snapshot_without_authors(uuid) RENAME TO article_snapshot;
DROP TABLE article_authors;
DROP TABLE authors;
