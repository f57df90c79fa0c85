-- A referred case starts its service-level clock again in its new queue: when it entered the queue
-- it is in now, and the first officer reply since then. NULL for cases never referred: their
-- clock is opened_at and first_response_at (reads fall back to those).
ALTER TABLE cases ADD COLUMN queue_since INTEGER;
ALTER TABLE cases ADD COLUMN queue_response_at INTEGER;
