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

-- Delivers the events just inserted (`inserted`: their seq and type) to every
-- active webhook that wants them. The webhooks are locked against deletion
-- (FOR KEY SHARE) so that a webhook deleted meanwhile is skipped, not a foreign
-- key error in the content write.
CREATE FUNCTION deliver_events(seqs bigint[], types text[]) RETURNS void
LANGUAGE sql AS $$
    WITH hooks AS (SELECT id, events FROM webhooks WHERE active FOR KEY SHARE)
    INSERT INTO webhook_deliveries (webhook_id, event_seq)
    SELECT h.id, i.seq FROM unnest(seqs, types) AS i(seq, type)
    JOIN hooks h ON h.events = '{}' OR i.type = ANY (h.events);
$$;

-- Writes events in the caller's transaction, with their deliveries. The
-- advisory lock, held until the transaction ends, keeps seq in commit order;
-- callers write events last in their transaction, so that it is held only for
-- the instant before the commit.
CREATE FUNCTION record_events(kind text, ids uuid[], types text[], slugs text[],
    versions integer[], publics boolean[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    seqs bigint[];
    kinds text[];
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
    SELECT array_agg(seq), array_agg(type) INTO seqs, kinds FROM inserted;
    PERFORM deliver_events(seqs, kinds);
END
$$;

-- The events of a change to these articles (pending copies have none), set-based:
-- `kind` names it (`article.trashed`), or, when null, it is worked out from each
-- article and its last event: created (and `article.published` after it when
-- public at once), published, unpublished, archived or updated. Their tags come
-- first: `tag.created` for a tag that has no event yet, `tag.updated` for one the
-- public now sees or no longer sees (a tag is public while a published article
-- carries it). The other articles of their translation groups list them (slug,
-- title, language, and whether the public sees them) and get `article.updated`
-- too. Scheduled articles get their announce_at.
CREATE FUNCTION record_article_events(ids uuid[], kind text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    seqs bigint[];
    kinds text[];
    others uuid[];
BEGIN
    PERFORM pg_advisory_xact_lock(7216311001);
    -- (Not for those very updates: they change no other article.)
    IF kind IS DISTINCT FROM 'article.updated' THEN
        SELECT array_agg(DISTINCT m.id) INTO others
        FROM articles a JOIN articles m ON m.translation_group = a.translation_group
        WHERE a.id = ANY (ids) AND a.translation_group IS NOT NULL AND NOT m.id = ANY (ids)
          AND m.pending_for IS NULL AND m.trashed_at IS NULL;
    END IF;
    WITH tagged AS (
        SELECT DISTINCT t.id, t.slug, t.version FROM article_tags at
        JOIN tags t ON t.id = at.tag_id WHERE at.article_id = ANY (ids)
    ), judged AS (
        SELECT t.*, last.seq IS NOT NULL AS known, COALESCE(last.public, false) AS was_public,
            EXISTS (SELECT 1 FROM article_tags at JOIN articles a ON a.id = at.article_id
                    WHERE at.tag_id = t.id AND a.trashed_at IS NULL AND a.pending_for IS NULL
                      AND a.status = 'published' AND a.published_at <= now()) AS is_public
        FROM tagged t
        LEFT JOIN LATERAL (SELECT e.seq, e.public FROM events e WHERE e.resource_id = t.id
                           ORDER BY e.seq DESC LIMIT 1) last ON true
    ), inserted AS (
        INSERT INTO events (type, resource_type, resource_id, slug, version, public, was_public)
        SELECT CASE WHEN known THEN 'tag.updated' ELSE 'tag.created' END, 'tag',
            id, slug, version, is_public, was_public
        FROM judged WHERE NOT known OR is_public <> was_public ORDER BY id
        RETURNING seq, type
    )
    SELECT array_agg(seq), array_agg(type) INTO seqs, kinds FROM inserted;
    IF seqs IS NOT NULL THEN
        PERFORM deliver_events(seqs, kinds);
    END IF;

    WITH judged AS (
        SELECT a.id, a.slug, a.version, a.status,
            last.seq IS NOT NULL AS known, COALESCE(last.public, false) AS was_public,
            (a.trashed_at IS NULL AND a.status = 'published' AND a.published_at <= now()
                AND kind IS DISTINCT FROM 'article.deleted') AS is_public
        FROM articles a
        LEFT JOIN LATERAL (SELECT e.seq, e.public FROM events e WHERE e.resource_id = a.id
                           ORDER BY e.seq DESC LIMIT 1) last ON true
        WHERE a.id = ANY (ids) AND a.pending_for IS NULL
    ), typed AS (
        SELECT j.*, CASE
            WHEN kind IS NOT NULL THEN kind
            WHEN NOT j.known THEN 'article.created'
            WHEN j.is_public AND NOT j.was_public THEN 'article.published'
            WHEN j.was_public AND NOT j.is_public AND j.status = 'archived' THEN 'article.archived'
            WHEN j.was_public AND NOT j.is_public THEN 'article.unpublished'
            ELSE 'article.updated' END AS type
        FROM judged j
    ), rows AS (
        -- Created public: the public first hears of it as published.
        SELECT id, slug, version, 'article.created' AS type, false AS public,
            was_public, 0 AS n
        FROM typed WHERE type = 'article.created' AND is_public
        UNION ALL
        SELECT id, slug, version,
            CASE WHEN type = 'article.created' AND is_public THEN 'article.published' ELSE type END,
            is_public, was_public AND NOT (type = 'article.created' AND is_public), 1
        FROM typed
    ), inserted AS (
        INSERT INTO events (type, resource_type, resource_id, slug, version, public, was_public)
        SELECT type, 'article', id, slug, version, public, was_public FROM rows ORDER BY id, n
        RETURNING seq, type
    )
    SELECT array_agg(seq), array_agg(type) INTO seqs, kinds FROM inserted;
    IF seqs IS NOT NULL THEN
        PERFORM deliver_events(seqs, kinds);
    END IF;

    -- Their translations read differently (their own state is unchanged).
    IF others IS NOT NULL THEN
        PERFORM record_article_events(others, 'article.updated');
    END IF;

    UPDATE articles a SET announce_at = CASE
        WHEN a.trashed_at IS NULL AND a.status = 'published' AND a.published_at > now()
            AND kind IS DISTINCT FROM 'article.deleted'
        THEN a.published_at END
    WHERE a.id = ANY (ids) AND a.pending_for IS NULL
      AND a.announce_at IS DISTINCT FROM (CASE
        WHEN a.trashed_at IS NULL AND a.status = 'published' AND a.published_at > now()
            AND kind IS DISTINCT FROM 'article.deleted'
        THEN a.published_at END);
END
$$;

-- Content written before events were kept: each live article and tag gets a
-- `created` event as it is now (so a feed read from the start rebuilds it), and
-- scheduled articles their announce_at.
INSERT INTO events (type, resource_type, resource_id, slug, version, public, was_public, created_at)
SELECT 'tag.created', 'tag', t.id, t.slug, t.version,
    EXISTS (SELECT 1 FROM article_tags at JOIN articles a ON a.id = at.article_id
            WHERE at.tag_id = t.id AND a.trashed_at IS NULL AND a.pending_for IS NULL
              AND a.status = 'published' AND a.published_at <= now()),
    false, t.updated_at
FROM tags t ORDER BY t.created_at, t.id;
INSERT INTO events (type, resource_type, resource_id, slug, version, public, was_public, created_at)
SELECT 'article.created', 'article', a.id, a.slug, a.version,
    a.status = 'published' AND a.published_at <= now(), false, a.updated_at
FROM articles a WHERE a.pending_for IS NULL AND a.trashed_at IS NULL
ORDER BY a.created_at, a.id;
UPDATE articles SET announce_at = published_at
WHERE status = 'published' AND published_at > now() AND trashed_at IS NULL
  AND pending_for IS NULL;
