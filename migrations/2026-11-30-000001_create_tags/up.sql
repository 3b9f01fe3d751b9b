-- Tags: named topics shared by many articles.
-- Names sort with the ICU root collation so that lists read naturally
-- ("apple", "Banana", "Zürich") whatever the server's default locale is.
CREATE TABLE tags (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL,
    name        text COLLATE "und-x-icu" NOT NULL,
    description text,
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tags_slug_key UNIQUE (slug),
    CONSTRAINT tags_slug_format CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(slug) <= 100),
    CONSTRAINT tags_name_length CHECK (char_length(btrim(name)) BETWEEN 1 AND 100),
    CONSTRAINT tags_description_length CHECK (description IS NULL OR char_length(description) <= 2000),
    CONSTRAINT tags_version_positive CHECK (version > 0)
);

-- Keyset pagination of the tag list: ORDER BY name, id.
CREATE INDEX tags_name_id_idx ON tags (name, id);
