-- The case view shows each reply's delivery state, and erasure and MarkSent look up outbox rows by
-- their message: without this index each of those scanned the whole outbox (140 ms per case view
-- at 200,000 messages; 58 µs with it: bench/SQLCIPHER.md).
CREATE INDEX outbox_message ON outbox(message_id);
