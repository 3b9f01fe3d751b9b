-- What search engines and social cards read, as editors set it (each field may
-- be absent: reads fall back to the article's own fields). The API validates it.
ALTER TABLE articles ADD COLUMN seo jsonb NOT NULL DEFAULT '{}'::jsonb
    CONSTRAINT articles_seo_shape CHECK (jsonb_typeof(seo) = 'object');

-- Translations: the same story in several languages, each its own article with its
-- own workflow, share a group (the id of the article the group started from). A
-- group has at most one live article per language: hreflang names one page each.
ALTER TABLE articles ADD COLUMN translation_group uuid;
CREATE UNIQUE INDEX articles_translation_language_key ON articles (translation_group, language)
    WHERE translation_group IS NOT NULL AND pending_for IS NULL AND trashed_at IS NULL;

-- The snapshot of an article (its revision, as a read serves it to editors) gains
-- its SEO fields and its translations as they were.
ALTER FUNCTION article_snapshot(uuid) RENAME TO article_snapshot_without_seo;
CREATE FUNCTION article_snapshot(article uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
SELECT article_snapshot_without_seo(a.id) || jsonb_build_object(
    'seo', a.seo,
    'translations', COALESCE((
        SELECT jsonb_agg(jsonb_build_object('id', t.id, 'slug', t.slug,
                                            'language', t.language, 'title', t.title)
                         ORDER BY t.language, t.id)
        FROM articles t
        WHERE t.translation_group = a.translation_group AND t.id <> a.id
          AND t.trashed_at IS NULL AND t.pending_for IS NULL), '[]'::jsonb))
FROM articles a WHERE a.id = article
$$;
