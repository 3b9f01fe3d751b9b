DROP INDEX articles_search_document_idx;
DROP FUNCTION article_search_query_any(text);
DROP FUNCTION article_search_query(text, text);
DROP FUNCTION article_search_document(uuid);
DROP FUNCTION article_search_config(text);
ALTER TABLE articles DROP COLUMN search_document, DROP COLUMN language;
DROP TEXT SEARCH CONFIGURATION cms_unaccent;

-- Snapshots as they were, without the language.
CREATE OR REPLACE FUNCTION article_snapshot(article uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
SELECT jsonb_build_object(
    'id', a.id,
    'slug', a.slug,
    'title', a.title,
    'standfirst', a.standfirst,
    'body', a.body,
    'status', CASE
        WHEN a.status = 'published' AND a.published_at > now() THEN 'scheduled'
        ELSE a.status
    END,
    'published_at', a.published_at,
    'created_at', a.created_at,
    'updated_at', a.updated_at,
    'version', a.version,
    'created_by', a.created_by,
    'updated_by', a.updated_by,
    'tags', COALESCE((
        SELECT jsonb_agg(
            jsonb_build_object('id', t.id, 'slug', t.slug, 'name', t.name)
            ORDER BY at.position)
        FROM article_tags at JOIN tags t ON t.id = at.tag_id
        WHERE at.article_id = a.id), '[]'::jsonb),
    'key_point_lists', COALESCE((
        SELECT jsonb_agg(
            jsonb_build_object(
                'id', l.id,
                'title', l.title,
                'position', l.position,
                'points', COALESCE((
                    SELECT jsonb_agg(
                        jsonb_build_object('id', p.id, 'position', p.position, 'text', p.text)
                        ORDER BY p.position)
                    FROM key_points p
                    WHERE p.list_id = l.id), '[]'::jsonb))
            ORDER BY l.position)
        FROM key_point_lists l
        WHERE l.article_id = a.id), '[]'::jsonb),
    'citations', COALESCE((
        SELECT jsonb_agg(
            jsonb_build_object(
                'id', c.id,
                'number', c.number,
                'title', c.title,
                'publisher', c.publisher,
                'url', c.url,
                'author', c.author,
                'date', c.published_on,
                'quote', c.quote)
            ORDER BY c.number)
        FROM citations c
        WHERE c.article_id = a.id), '[]'::jsonb))
FROM articles a
WHERE a.id = article
$$;
