-- Authors: the people a byline names. Editors keep the list; an article names
-- them in order (a byline may name several). Names are not unique: two
-- journalists may share one; slugs tell them apart.
CREATE TABLE authors (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL,
    name        text COLLATE "und-x-icu" NOT NULL,
    bio         text,
    -- [{"label": "Website", "url": "https://..."}], at most 10 (the API checks each).
    links       jsonb NOT NULL DEFAULT '[]'::jsonb,
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid,
    updated_by  uuid,
    CONSTRAINT authors_slug_key UNIQUE (slug),
    CONSTRAINT authors_slug_format CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(slug) <= 100),
    CONSTRAINT authors_name_length CHECK (char_length(btrim(name)) BETWEEN 1 AND 200),
    CONSTRAINT authors_bio_length CHECK (bio IS NULL OR char_length(bio) <= 5000),
    CONSTRAINT authors_links_shape CHECK (jsonb_typeof(links) = 'array' AND jsonb_array_length(links) <= 10),
    CONSTRAINT authors_version_positive CHECK (version > 0)
);
-- Keyset pagination of the author list: ORDER BY name, id.
CREATE INDEX authors_name_id_idx ON authors (name, id);

-- An article's byline, in order. An author on a byline cannot be deleted (the API
-- says so first; the foreign key holds under races).
CREATE TABLE article_authors (
    article_id uuid NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    author_id  uuid NOT NULL REFERENCES authors (id),
    position   integer NOT NULL CHECK (position >= 0),
    PRIMARY KEY (article_id, author_id),
    CONSTRAINT article_authors_position_key UNIQUE (article_id, position) DEFERRABLE INITIALLY IMMEDIATE
);
-- An author's articles: GET /authors/{author}/articles and the author filter.
CREATE INDEX article_authors_author_idx ON article_authors (author_id, article_id);

-- The snapshot of an article (its revision, as a read serves it) gains its byline.
ALTER FUNCTION article_snapshot(uuid) RENAME TO article_snapshot_without_authors;
CREATE FUNCTION article_snapshot(article uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
SELECT article_snapshot_without_authors(article) || jsonb_build_object('authors', COALESCE((
    SELECT jsonb_agg(jsonb_build_object('id', au.id, 'slug', au.slug, 'name', au.name)
                     ORDER BY aa.position)
    FROM article_authors aa JOIN authors au ON au.id = aa.author_id
    WHERE aa.article_id = article), '[]'::jsonb))
$$;
