-- A webhook timestamp years ahead had moved a contact's last_inbound_at (the reply window) years
-- ahead, and it only ever grows. Since session 11 new timestamps are clamped to five minutes past
-- receipt; this brings back those stored before, to when their last message reached us (the
-- server's own clock).
UPDATE contacts SET last_inbound_at = COALESCE(
    (SELECT MAX(m.created_at) FROM messages m WHERE m.contact_id = contacts.id AND m.direction = 'in'), created_at)
  WHERE last_inbound_at > CAST(strftime('%s', 'now') AS INTEGER) * 1000 + 300000;
