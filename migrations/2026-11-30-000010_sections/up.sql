-- Sections: a small managed list (an admin's), each article in at most one — its
-- primary section, the kicker above its headline ("Diplomacy"). Distinct from tags,
-- which editors create freely and of which an article has many.
CREATE TABLE sections (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL,
    name        text COLLATE "und-x-icu" NOT NULL,
    description text,
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid,
    updated_by  uuid,
    CONSTRAINT sections_slug_key UNIQUE (slug),
    CONSTRAINT sections_slug_format CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(slug) <= 100),
    CONSTRAINT sections_name_length CHECK (char_length(btrim(name)) BETWEEN 1 AND 100),
    CONSTRAINT sections_description_length CHECK (description IS NULL OR char_length(description) <= 2000),
    CONSTRAINT sections_version_positive CHECK (version > 0)
);
CREATE UNIQUE INDEX sections_name_lower_key ON sections (lower(name));

-- A section in use cannot be deleted (the API says so first; this holds under races).
ALTER TABLE articles ADD COLUMN section_id uuid REFERENCES sections (id);
CREATE INDEX articles_section_idx ON articles (section_id) WHERE section_id IS NOT NULL;

-- The snapshot of an article (its revision, as a read serves it) gains its section.
ALTER FUNCTION article_snapshot(uuid) RENAME TO article_snapshot_without_section;
CREATE FUNCTION article_snapshot(article uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
SELECT article_snapshot_without_section(a.id) || jsonb_build_object('section', (
    SELECT jsonb_build_object('id', s.id, 'slug', s.slug, 'name', s.name)
    FROM sections s WHERE s.id = a.section_id))
FROM articles a WHERE a.id = article
$$;
