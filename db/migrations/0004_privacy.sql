-- Privacy: erasure marks, and when a row was redacted by retention.
ALTER TABLE contacts ADD COLUMN erased_at INTEGER;
ALTER TABLE messages ADD COLUMN redacted_at INTEGER;
ALTER TABLE cases ADD COLUMN redacted_at INTEGER;
CREATE INDEX messages_created ON messages(created_at);
CREATE INDEX delivery_statuses_message ON delivery_statuses(provider_message_id);
