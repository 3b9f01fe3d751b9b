-- The rendered body, computed once per version when the body is written (NULL for
-- rows written before this column existed: rendered when read).
ALTER TABLE articles ADD COLUMN body_html text;

-- One name gives one tag, whatever the case and however many writers race. Names
-- that already differ only in case keep the oldest; the others get the start of
-- their id (unique, so the renamed cannot clash with each other or with the rest).
WITH ranked AS (
    SELECT id, row_number() OVER (PARTITION BY lower(name) ORDER BY created_at, id) AS n
    FROM tags
)
UPDATE tags
SET name = left(tags.name, 80) || ' (' || left(tags.id::text, 8) || ')'
FROM ranked
WHERE ranked.id = tags.id AND ranked.n > 1;

CREATE UNIQUE INDEX tags_name_lower_key ON tags (lower(name));
