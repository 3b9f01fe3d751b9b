DROP FUNCTION article_snapshot(uuid);
ALTER FUNCTION article_snapshot_without_media(uuid) RENAME TO article_snapshot;
DROP FUNCTION article_lead_image(uuid, text, text);
ALTER TABLE authors DROP COLUMN avatar_id;
ALTER TABLE articles DROP COLUMN lead_image_id, DROP COLUMN lead_image_caption, DROP COLUMN lead_image_credit;
DROP TABLE media;
