-- Idempotency keys: a write sent with `Idempotency-Key` is performed once per token
-- and key; a retry replays the stored response. The row is the coordination point
-- between concurrent requests (and replicas): the first to insert it runs the
-- request under a lease (`locked_until`), the others wait for its response.
-- A request whose handler started but whose outcome is not known (cut off by its
-- deadline or a disconnect, a 5xx, a response that could not be stored) is marked
-- `outcome_unknown`: a retry gets 409 rather than running the write again.
CREATE TABLE idempotency_keys (
    -- SHA-256 of the bearer token: keys are per token.
    scope            bytea NOT NULL CHECK (octet_length(scope) = 32),
    key              text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    method           text NOT NULL,
    path             text NOT NULL,
    -- SHA-256 of the method, path, query and body: a key sent again with another
    -- request is refused (422).
    request_hash     bytea NOT NULL CHECK (octet_length(request_hash) = 32),
    -- The stored response, NULL while the request runs.
    response_status  smallint CHECK (response_status BETWEEN 100 AND 599),
    response_headers jsonb,
    response_body    bytea,
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- The lease of the request that runs: past it with no response stored, the
    -- request's outcome counts as unknown (its process may have died after its
    -- write committed).
    locked_until     timestamptz NOT NULL,
    -- The request ran (or may have) but left no response to replay: a retry gets
    -- 409 until the key expires.
    outcome_unknown  boolean NOT NULL DEFAULT false,
    CHECK (NOT (outcome_unknown AND response_status IS NOT NULL)),
    PRIMARY KEY (scope, key)
);

-- Expired keys are deleted oldest first.
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
