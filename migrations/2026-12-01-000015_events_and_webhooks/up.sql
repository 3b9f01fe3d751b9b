-- The outbox: every change to an article or a tag writes its events in the same
-- transaction as the change. `seq` is the change feed's order: events are written
-- under a transaction-scoped advisory lock (see record_events), so a transaction
-- that wrote seq n has committed before any other takes n + 1, and a reader never
-- sees n + 1 without n.
CREATE TABLE events (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    type          text NOT NULL,
    resource_type text NOT NULL CHECK (resource_type IN ('article', 'tag')),
    resource_id   uuid NOT NULL,
    slug          text NOT NULL,
    version       integer,
    -- Whether the public could see the resource after the change, and before it
    -- (the public feed shows a change that hides a resource as a deletion, and
    -- nothing of resources it never saw).
    public        boolean NOT NULL,
    was_public    boolean NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX events_resource_idx ON events (resource_id, seq DESC);
-- The public feed reads only these (draft edits do not slow it down).
CREATE INDEX events_public_seq_idx ON events (seq) WHERE public OR was_public;

-- A scheduled article becomes public at its time: the background job announces it
-- (`article.published`) when announce_at comes.
ALTER TABLE articles ADD COLUMN announce_at timestamptz;
CREATE INDEX articles_announce_at_idx ON articles (announce_at) WHERE announce_at IS NOT NULL;

CREATE TABLE webhooks (
    id              uuid PRIMARY KEY,
    url             text NOT NULL CHECK (char_length(url) <= 2000),
    -- The event types wanted; empty: all of them.
    events          text[] NOT NULL DEFAULT '{}',
    active          boolean NOT NULL DEFAULT true,
    -- `whsec_` and the base64 of the key (Standard Webhooks).
    secret          text NOT NULL,
    description     text CHECK (description IS NULL OR char_length(description) <= 500),
    -- Deliveries that failed for good in a row; past the setting the webhook is
    -- disabled (`active` false, `disabled_reason` says why).
    failed_in_a_row integer NOT NULL DEFAULT 0,
    disabled_reason text,
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- One event to send to one webhook. `next_attempt_at` is when a worker may take it
-- next: a worker that takes it moves it past its lease, so a worker killed
-- mid-delivery leaves it to be taken again once the lease is over.
CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    webhook_id      uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_seq       bigint NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- Retries go on until the retry period after this (a redelivery starts anew).
    retry_from      timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, created_at DESC, id DESC);

-- Every attempt, kept: what the receiver answered and how fast.
CREATE TABLE webhook_attempts (
    delivery_id      uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    number           integer NOT NULL,
    attempted_at     timestamptz NOT NULL,
    status_code      integer,
    latency_ms       integer NOT NULL,
    response_excerpt text,
    error            text,
    PRIMARY KEY (delivery_id, number)
);

-- Writes events (and a delivery for each active webhook that wants them) in the
-- caller's transaction. The advisory lock, held until the transaction ends, keeps
-- seq in commit order.
CREATE FUNCTION record_events(kind text, ids uuid[], types text[], slugs text[],
    versions integer[], publics boolean[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7216311001);
    WITH given AS (
        SELECT * FROM unnest(ids, types, slugs, versions, publics)
            WITH ORDINALITY AS g(resource_id, type, slug, version, public, n)
    ), inserted AS (
        INSERT INTO events (type, resource_type, resource_id, slug, version, public, was_public)
        SELECT g.type, kind, g.resource_id, g.slug, g.version, g.public,
            COALESCE((SELECT e.public FROM events e WHERE e.resource_id = g.resource_id
                      ORDER BY e.seq DESC LIMIT 1), false)
        FROM given g ORDER BY g.n
        RETURNING seq, type
    )
    INSERT INTO webhook_deliveries (webhook_id, event_seq)
    SELECT w.id, i.seq FROM inserted i
    JOIN webhooks w ON w.active AND (w.events = '{}' OR i.type = ANY (w.events));
END
$$;

-- The events of a change to these articles (pending copies have none): `kind` names
-- it (`article.trashed`), or, when null, it is worked out from the article: created
-- (first event; `article.published` too when public at once), published,
-- unpublished, archived or updated. Scheduled ones get their announce_at.
CREATE FUNCTION record_article_events(ids uuid[], kind text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    e_ids uuid[] := '{}';
    e_types text[] := '{}';
    e_slugs text[] := '{}';
    e_versions integer[] := '{}';
    e_publics boolean[] := '{}';
    is_public boolean;
    was_public boolean;
    known boolean;
    t text;
BEGIN
    FOR r IN SELECT a.id, a.slug, a.version, a.status, a.published_at, a.trashed_at
             FROM articles a WHERE a.id = ANY (ids) AND a.pending_for IS NULL ORDER BY a.id
    LOOP
        is_public := r.trashed_at IS NULL AND r.status = 'published' AND r.published_at <= now()
            AND kind IS DISTINCT FROM 'article.deleted';
        SELECT e.public, true INTO was_public, known FROM events e
            WHERE e.resource_id = r.id ORDER BY e.seq DESC LIMIT 1;
        was_public := COALESCE(was_public, false);
        known := COALESCE(known, false);
        t := CASE
            WHEN kind IS NOT NULL THEN kind
            WHEN NOT known THEN 'article.created'
            WHEN is_public AND NOT was_public THEN 'article.published'
            WHEN was_public AND NOT is_public AND r.status = 'archived' THEN 'article.archived'
            WHEN was_public AND NOT is_public THEN 'article.unpublished'
            ELSE 'article.updated' END;
        IF t = 'article.created' AND is_public THEN
            -- Created public: the public first hears of it as published.
            e_ids := e_ids || r.id; e_types := e_types || t; e_slugs := e_slugs || r.slug;
            e_versions := e_versions || r.version; e_publics := e_publics || false;
            t := 'article.published';
        END IF;
        e_ids := e_ids || r.id; e_types := e_types || t; e_slugs := e_slugs || r.slug;
        e_versions := e_versions || r.version; e_publics := e_publics || is_public;
    END LOOP;
    UPDATE articles a SET announce_at = CASE
        WHEN a.trashed_at IS NULL AND a.status = 'published' AND a.published_at > now()
            AND kind IS DISTINCT FROM 'article.deleted'
        THEN a.published_at END
    WHERE a.id = ANY (ids) AND a.pending_for IS NULL
      AND a.announce_at IS DISTINCT FROM (CASE
        WHEN a.trashed_at IS NULL AND a.status = 'published' AND a.published_at > now()
        THEN a.published_at END);
    IF cardinality(e_ids) > 0 THEN
        PERFORM record_events('article', e_ids, e_types, e_slugs, e_versions, e_publics);
    END IF;
END
$$;
