-- When the person was sent the full safety reply (what to do, the helplines) for this case: later
-- urgent messages on it get a line that the officers have them, not the same nine lines again. A
-- case made urgent another way (a routing rule, a message set aside) has none until one is sent.
ALTER TABLE cases ADD COLUMN safety_reply_at INTEGER;
