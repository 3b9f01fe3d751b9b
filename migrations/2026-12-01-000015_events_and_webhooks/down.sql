DROP FUNCTION record_article_events(uuid[], text);
DROP FUNCTION record_events(text, uuid[], text[], text[], integer[], boolean[]);
DROP FUNCTION deliver_events(bigint[], text[]);
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
ALTER TABLE articles DROP COLUMN announce_at;
DROP TABLE events;
