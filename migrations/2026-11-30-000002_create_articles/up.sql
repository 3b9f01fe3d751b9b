-- Articles and their parts: key-point lists (with their points), citations, tags.
--
-- Status is stored as draft, published or archived. "Scheduled" is a published
-- article whose published_at is still in the future: it becomes visible at that
-- time with no job to run, because visibility is decided when reading.
CREATE TABLE articles (
    id           uuid PRIMARY KEY,
    slug         text NOT NULL,
    title        text COLLATE "und-x-icu" NOT NULL,
    standfirst   text,
    body         text NOT NULL DEFAULT '',
    status       text NOT NULL DEFAULT 'draft',
    published_at timestamptz,
    version      integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT articles_slug_key UNIQUE (slug),
    CONSTRAINT articles_slug_format CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(slug) <= 100),
    CONSTRAINT articles_title_length CHECK (char_length(btrim(title)) BETWEEN 1 AND 300),
    CONSTRAINT articles_standfirst_length CHECK (standfirst IS NULL OR char_length(standfirst) <= 2000),
    CONSTRAINT articles_body_length CHECK (char_length(body) <= 500000),
    CONSTRAINT articles_status_values CHECK (status IN ('draft', 'published', 'archived')),
    CONSTRAINT articles_published_has_date CHECK (status <> 'published' OR published_at IS NOT NULL),
    CONSTRAINT articles_version_positive CHECK (version > 0)
);

-- Lists sorted by published_at (newest first), with the public filter on status.
CREATE INDEX articles_published_at_idx ON articles (published_at DESC, id DESC);
CREATE INDEX articles_status_published_at_idx ON articles (status, published_at DESC, id DESC);
CREATE INDEX articles_updated_at_idx ON articles (updated_at DESC, id DESC);
CREATE INDEX articles_title_idx ON articles (title, id);

-- Positions are 0-based and contiguous per parent. The unique constraints are
-- checked at the end of each statement, so one UPDATE can renumber a whole list.
CREATE TABLE key_point_lists (
    id         uuid PRIMARY KEY,
    article_id uuid NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    position   integer NOT NULL CHECK (position >= 0),
    title      text NOT NULL CHECK (char_length(btrim(title)) BETWEEN 1 AND 200),
    CONSTRAINT key_point_lists_position_key UNIQUE (article_id, position) DEFERRABLE INITIALLY IMMEDIATE
);

CREATE TABLE key_points (
    id       uuid PRIMARY KEY,
    list_id  uuid NOT NULL REFERENCES key_point_lists (id) ON DELETE CASCADE,
    position integer NOT NULL CHECK (position >= 0),
    text     text NOT NULL CHECK (char_length(btrim(text)) BETWEEN 1 AND 1000),
    CONSTRAINT key_points_position_key UNIQUE (list_id, position) DEFERRABLE INITIALLY IMMEDIATE
);

-- A citation's number is the n that the body refers to as [n].
CREATE TABLE citations (
    id           uuid PRIMARY KEY,
    article_id   uuid NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    number       integer NOT NULL CHECK (number BETWEEN 1 AND 9999),
    title        text NOT NULL CHECK (char_length(btrim(title)) BETWEEN 1 AND 500),
    publisher    text CHECK (char_length(publisher) <= 300),
    url          text CHECK (char_length(url) <= 2000),
    author       text CHECK (char_length(author) <= 300),
    published_on date,
    quote        text CHECK (char_length(quote) <= 5000),
    CONSTRAINT citations_number_key UNIQUE (article_id, number) DEFERRABLE INITIALLY IMMEDIATE
);

CREATE TABLE article_tags (
    article_id uuid NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    tag_id     uuid NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    position   integer NOT NULL CHECK (position >= 0),
    PRIMARY KEY (article_id, tag_id),
    CONSTRAINT article_tags_position_key UNIQUE (article_id, position) DEFERRABLE INITIALLY IMMEDIATE
);

-- Articles carrying a tag: GET /tags/{slug}/articles and the tag filter.
CREATE INDEX article_tags_tag_idx ON article_tags (tag_id, article_id);
