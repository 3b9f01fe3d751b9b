DROP FUNCTION article_snapshot(uuid);
DROP TABLE article_revisions;
DROP INDEX articles_trashed_at_idx;
ALTER TABLE articles DROP COLUMN trashed_at, DROP COLUMN trashed_by;
