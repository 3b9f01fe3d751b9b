-- API tokens. The secret is never stored: only its SHA-256 digest, next to a short
-- public prefix that finds the row (the secret has 256 random bits, so a fast hash
-- is enough; there is nothing to guess).
CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    name         text NOT NULL CHECK (char_length(btrim(name)) BETWEEN 1 AND 100),
    prefix       text NOT NULL,
    secret_hash  bytea NOT NULL CHECK (octet_length(secret_hash) = 32),
    scopes       text[] NOT NULL CHECK (
        cardinality(scopes) >= 1
        AND scopes <@ ARRAY['content:read', 'content:write', 'admin']::text[]
    ),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    CONSTRAINT api_tokens_prefix_key UNIQUE (prefix)
);

-- Who did it: the token that created and last changed each piece of content.
ALTER TABLE articles
    ADD COLUMN created_by uuid REFERENCES api_tokens (id) ON DELETE SET NULL,
    ADD COLUMN updated_by uuid REFERENCES api_tokens (id) ON DELETE SET NULL;
ALTER TABLE tags
    ADD COLUMN created_by uuid REFERENCES api_tokens (id) ON DELETE SET NULL,
    ADD COLUMN updated_by uuid REFERENCES api_tokens (id) ON DELETE SET NULL;

-- Public reads: published articles whose time has come, newest first.
CREATE INDEX articles_public_idx ON articles (published_at DESC, id DESC) WHERE status = 'published';
