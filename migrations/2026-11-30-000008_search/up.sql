-- Full-text search: each article's language, and a weighted document (title A,
-- standfirst and key points B, citation titles C, body D) kept current by the
-- write hook in the transaction of every write, with a GIN index.

-- `simple` with accents folded, for the languages PostgreSQL has no stemmer for
-- (Mongolian, Korean...): words are kept whole, lowercased, accents removed.
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE TEXT SEARCH CONFIGURATION cms_unaccent (COPY = simple);
ALTER TEXT SEARCH CONFIGURATION cms_unaccent
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple;

ALTER TABLE articles
    ADD COLUMN language text NOT NULL DEFAULT 'en'
        CONSTRAINT articles_language_bcp47
        CHECK (language ~ '^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$' AND length(language) <= 35),
    ADD COLUMN search_document tsvector;

-- The text-search configuration of a BCP 47 language tag: its primary subtag's
-- stemmer when PostgreSQL ships one, else `cms_unaccent`.
CREATE FUNCTION article_search_config(language text) RETURNS regconfig
LANGUAGE sql STABLE AS $$
SELECT (CASE lower(split_part(language, '-', 1))
    WHEN 'ar' THEN 'arabic' WHEN 'hy' THEN 'armenian' WHEN 'eu' THEN 'basque'
    WHEN 'ca' THEN 'catalan' WHEN 'da' THEN 'danish' WHEN 'nl' THEN 'dutch'
    WHEN 'en' THEN 'english' WHEN 'fi' THEN 'finnish' WHEN 'fr' THEN 'french'
    WHEN 'de' THEN 'german' WHEN 'el' THEN 'greek' WHEN 'hi' THEN 'hindi'
    WHEN 'hu' THEN 'hungarian' WHEN 'id' THEN 'indonesian' WHEN 'ga' THEN 'irish'
    WHEN 'it' THEN 'italian' WHEN 'lt' THEN 'lithuanian' WHEN 'ne' THEN 'nepali'
    WHEN 'no' THEN 'norwegian' WHEN 'nb' THEN 'norwegian' WHEN 'nn' THEN 'norwegian'
    WHEN 'pt' THEN 'portuguese' WHEN 'ro' THEN 'romanian' WHEN 'ru' THEN 'russian'
    WHEN 'sr' THEN 'serbian' WHEN 'es' THEN 'spanish' WHEN 'sv' THEN 'swedish'
    WHEN 'ta' THEN 'tamil' WHEN 'tr' THEN 'turkish' WHEN 'yi' THEN 'yiddish'
    ELSE 'cms_unaccent'
END)::regconfig
$$;

-- The search document of an article as it is now (in the calling transaction).
-- Bodies count up to their first 200,000 characters (a tsvector holds at most
-- 1 MB).
CREATE FUNCTION article_search_document(article uuid) RETURNS tsvector
LANGUAGE sql STABLE AS $$
SELECT setweight(to_tsvector(c.cfg, a.title), 'A')
    || setweight(to_tsvector(c.cfg, concat_ws(E'\n', a.standfirst, (
        SELECT string_agg(concat_ws(E'\n', l.title, (
                   SELECT string_agg(p.text, E'\n' ORDER BY p.position)
                   FROM key_points p WHERE p.list_id = l.id)), E'\n' ORDER BY l.position)
        FROM key_point_lists l WHERE l.article_id = a.id))), 'B')
    || setweight(to_tsvector(c.cfg, coalesce((
        SELECT string_agg(ci.title, E'\n' ORDER BY ci.number)
        FROM citations ci WHERE ci.article_id = a.id), '')), 'C')
    || setweight(to_tsvector(c.cfg, left(a.body, 200000)), 'D')
FROM articles a CROSS JOIN LATERAL (SELECT article_search_config(a.language) AS cfg) c
WHERE a.id = article
$$;

-- A query in web-search syntax, parsed as an article in `language` is indexed.
CREATE FUNCTION article_search_query(language text, query text) RETURNS tsquery
LANGUAGE sql STABLE AS $$
SELECT websearch_to_tsquery(article_search_config(language), query)
$$;

-- The same query parsed with every configuration an article may be indexed with,
-- OR-ed: whatever an article's language, a document matching the first matches
-- this one, which is a constant for a search and so lets the GIN index find the
-- candidates (each is then checked with the query of its own language).
CREATE FUNCTION article_search_query_any(query text) RETURNS tsquery
LANGUAGE sql STABLE AS $$
SELECT websearch_to_tsquery('arabic', query)
    || websearch_to_tsquery('armenian', query)
    || websearch_to_tsquery('basque', query)
    || websearch_to_tsquery('catalan', query)
    || websearch_to_tsquery('danish', query)
    || websearch_to_tsquery('dutch', query)
    || websearch_to_tsquery('english', query)
    || websearch_to_tsquery('finnish', query)
    || websearch_to_tsquery('french', query)
    || websearch_to_tsquery('german', query)
    || websearch_to_tsquery('greek', query)
    || websearch_to_tsquery('hindi', query)
    || websearch_to_tsquery('hungarian', query)
    || websearch_to_tsquery('indonesian', query)
    || websearch_to_tsquery('irish', query)
    || websearch_to_tsquery('italian', query)
    || websearch_to_tsquery('lithuanian', query)
    || websearch_to_tsquery('nepali', query)
    || websearch_to_tsquery('norwegian', query)
    || websearch_to_tsquery('portuguese', query)
    || websearch_to_tsquery('romanian', query)
    || websearch_to_tsquery('russian', query)
    || websearch_to_tsquery('serbian', query)
    || websearch_to_tsquery('spanish', query)
    || websearch_to_tsquery('swedish', query)
    || websearch_to_tsquery('tamil', query)
    || websearch_to_tsquery('turkish', query)
    || websearch_to_tsquery('yiddish', query)
    || websearch_to_tsquery('cms_unaccent', query)
$$;

UPDATE articles SET search_document = article_search_document(id);
CREATE INDEX articles_search_document_idx ON articles USING gin (search_document);

-- Snapshots (revisions) carry the language, as the `Article` schema does.
CREATE OR REPLACE FUNCTION article_snapshot(article uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
SELECT jsonb_build_object(
    'id', a.id,
    'slug', a.slug,
    'title', a.title,
    'standfirst', a.standfirst,
    'body', a.body,
    'language', a.language,
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
