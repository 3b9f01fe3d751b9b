-- Media: uploaded images. The file is stored once per content (its SHA-256 names
-- it in storage and in its URLs, which never change); each upload is a record of
-- its own, with the editors' text about it.
CREATE TABLE media (
    id           uuid PRIMARY KEY,
    sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp', 'image/gif')),
    width        integer NOT NULL CHECK (width > 0),
    height       integer NOT NULL CHECK (height > 0),
    size_bytes   bigint NOT NULL CHECK (size_bytes > 0),
    alt          text CHECK (char_length(alt) <= 1000),
    caption      text CHECK (char_length(caption) <= 2000),
    credit       text CHECK (char_length(credit) <= 300),
    -- Where the subject is, 0..1 from the left and from the top: crops keep it.
    focal_x      real NOT NULL DEFAULT 0.5 CHECK (focal_x BETWEEN 0 AND 1),
    focal_y      real NOT NULL DEFAULT 0.5 CHECK (focal_y BETWEEN 0 AND 1),
    version      integer NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    created_by   uuid,
    updated_by   uuid
);
CREATE INDEX media_sha256_idx ON media (sha256);
-- The library, newest first: ORDER BY created_at DESC, id DESC.
CREATE INDEX media_created_idx ON media (created_at DESC, id DESC);

-- An article's lead image, with its own caption and credit when they differ from
-- the image's. Media in use is deleted only with force (which takes it off first).
ALTER TABLE articles
    ADD COLUMN lead_image_id uuid REFERENCES media (id),
    ADD COLUMN lead_image_caption text CHECK (char_length(lead_image_caption) <= 2000),
    ADD COLUMN lead_image_credit text CHECK (char_length(lead_image_credit) <= 300);
CREATE INDEX articles_lead_image_idx ON articles (lead_image_id) WHERE lead_image_id IS NOT NULL;

ALTER TABLE authors ADD COLUMN avatar_id uuid REFERENCES media (id);
CREATE INDEX authors_avatar_idx ON authors (avatar_id) WHERE avatar_id IS NOT NULL;

-- An article's lead image as reads and snapshots show it: $1 the media, $2 and $3
-- the article's own caption and credit (positional: in SQL functions a column
-- named like a parameter would win).
CREATE FUNCTION article_lead_image(uuid, text, text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
SELECT jsonb_build_object('id', m.id, 'sha256', m.sha256, 'content_type', m.content_type,
    'width', m.width, 'height', m.height, 'alt', m.alt,
    'caption', COALESCE($2, m.caption), 'credit', COALESCE($3, m.credit),
    'focal_point', jsonb_build_object('x', m.focal_x, 'y', m.focal_y))
FROM media m WHERE m.id = $1
$$;

ALTER FUNCTION article_snapshot(uuid) RENAME TO article_snapshot_without_media;
CREATE FUNCTION article_snapshot(article uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
SELECT article_snapshot_without_media(a.id) || jsonb_build_object('lead_image',
    article_lead_image(a.lead_image_id, a.lead_image_caption, a.lead_image_credit))
FROM articles a WHERE a.id = article
$$;
