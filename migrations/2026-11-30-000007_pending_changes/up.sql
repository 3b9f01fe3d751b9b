-- Pending changes to a live article are kept as a hidden copy of it (its own row,
-- parts and versions), which no read or list shows, until they are published onto
-- the article (at once, or at pending_publish_at) or discarded.
ALTER TABLE articles
    ADD COLUMN pending_for uuid REFERENCES articles (id) ON DELETE CASCADE,
    ADD COLUMN pending_publish_at timestamptz,
    -- The live article's version the changes were saved against: publishing them
    -- over a newer one would silently undo that edit, so it is refused.
    ADD COLUMN pending_base_version integer,
    ADD CONSTRAINT articles_pending_for_key UNIQUE (pending_for),
    ADD CONSTRAINT articles_pending_publish_only_for_copies
        CHECK (pending_publish_at IS NULL OR pending_for IS NOT NULL);
CREATE INDEX articles_pending_publish_at_idx ON articles (pending_publish_at)
    WHERE pending_publish_at IS NOT NULL;

-- Secrets the replicas share, made once by the database: the key that signs
-- preview links (32 bytes from PostgreSQL's strong random source).
CREATE TABLE server_secrets (
    name text PRIMARY KEY,
    secret bytea NOT NULL CHECK (octet_length(secret) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO server_secrets (name, secret)
VALUES ('preview-links',
        decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));
