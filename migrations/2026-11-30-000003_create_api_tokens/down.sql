DROP INDEX articles_public_idx;
ALTER TABLE tags DROP COLUMN created_by, DROP COLUMN updated_by;
ALTER TABLE articles DROP COLUMN created_by, DROP COLUMN updated_by;
DROP TABLE api_tokens;
