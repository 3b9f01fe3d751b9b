-- The images an article's body shows (`![alt](media:<id>)`), kept when the body is
-- written: what keeps them from being deleted, and what is read with the article.
CREATE TABLE article_media (
    article_id uuid NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    media_id uuid NOT NULL REFERENCES media (id),
    PRIMARY KEY (article_id, media_id)
);
CREATE INDEX article_media_media_id_idx ON article_media (media_id);

-- Revisions record the body's images as a read shows them.
ALTER FUNCTION article_snapshot(uuid) RENAME TO article_snapshot_without_body_media;
CREATE FUNCTION article_snapshot(article uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
SELECT article_snapshot_without_body_media(article) || jsonb_build_object('body_media',
    COALESCE((SELECT jsonb_agg(article_lead_image(am.media_id, NULL, NULL) ORDER BY am.media_id)
        FROM article_media am WHERE am.article_id = article), '[]'::jsonb))
$$;
