-- Trash: a deleted article keeps its row (and slug) until it is purged.
ALTER TABLE articles
    ADD COLUMN trashed_at timestamptz,
    ADD COLUMN trashed_by uuid;
CREATE INDEX articles_trashed_at_idx ON articles (trashed_at DESC, id DESC)
    WHERE trashed_at IS NOT NULL;

-- Revisions: the whole article as every change left it, never rewritten.
CREATE TABLE article_revisions (
    article_id uuid NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    version integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    snapshot jsonb NOT NULL,
    PRIMARY KEY (article_id, version)
);

-- The whole article as the API serves it (the `Article` schema, without
-- `body_html`), read inside the transaction that changed it. Revisions store it;
-- a test holds it equal to a read of the article.
CREATE FUNCTION article_snapshot(article uuid) RETURNS jsonb
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

-- Every article as it is now is its first revision.
INSERT INTO article_revisions (article_id, version, created_at, created_by, snapshot)
SELECT id, version, updated_at, updated_by, article_snapshot(id) FROM articles;
