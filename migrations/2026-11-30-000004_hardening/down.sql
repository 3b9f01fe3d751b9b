DROP INDEX tags_name_lower_key;
ALTER TABLE articles DROP COLUMN body_html;
