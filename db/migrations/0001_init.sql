-- The walking skeleton's schema: people, their conversations, every message in and out, the
-- durable outbox, delivery statuses, and versioned content.
CREATE TABLE contacts (
  id INTEGER PRIMARY KEY,
  channel TEXT NOT NULL,
  external_id TEXT NOT NULL,
  business_id TEXT NOT NULL DEFAULT '',
  display_name TEXT NOT NULL DEFAULT '',
  language TEXT NOT NULL DEFAULT '',
  opted_out INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  last_inbound_at INTEGER NOT NULL DEFAULT 0,
  UNIQUE (channel, external_id)
);

CREATE TABLE conversations (
  contact_id INTEGER PRIMARY KEY REFERENCES contacts(id) ON DELETE CASCADE,
  state TEXT NOT NULL DEFAULT '{}',
  updated_at INTEGER NOT NULL
);

-- direction 'in': status pending → processed. direction 'out': queued → sent → delivered → read,
-- or failed. provider_id of an inbound message is the dedup key.
CREATE TABLE messages (
  id INTEGER PRIMARY KEY,
  contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
  channel TEXT NOT NULL,
  provider_id TEXT,
  kind TEXT NOT NULL,
  body TEXT NOT NULL DEFAULT '',
  payload TEXT NOT NULL DEFAULT '{}',
  intent TEXT,
  language TEXT,
  urgent INTEGER NOT NULL DEFAULT 0,
  author TEXT NOT NULL DEFAULT 'person',
  status TEXT NOT NULL,
  error TEXT,
  created_at INTEGER NOT NULL,
  processed_at INTEGER
);
CREATE UNIQUE INDEX messages_inbound_dedup ON messages(channel, provider_id) WHERE direction = 'in';
CREATE INDEX messages_pending ON messages(id) WHERE direction = 'in' AND status = 'pending';
CREATE INDEX messages_contact ON messages(contact_id, id);
CREATE INDEX messages_pending_urgent ON messages(contact_id) WHERE direction = 'in' AND status = 'pending' AND urgent = 1;

-- One row per provider request. payload is the provider's JSON body, formatted when queued.
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY,
  message_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,
  channel TEXT NOT NULL,
  recipient TEXT NOT NULL,
  business_id TEXT NOT NULL,
  payload TEXT NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'in_flight', 'sent', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  requeued_after_crash INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  provider_message_id TEXT,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox(state, priority DESC, next_attempt_at, id);
CREATE INDEX outbox_provider_id ON outbox(provider_message_id);
CREATE INDEX outbox_recipient ON outbox(channel, recipient, state, id);

-- Delivery reports, kept even when they arrive before we recorded the send.
CREATE TABLE delivery_statuses (
  channel TEXT NOT NULL,
  provider_message_id TEXT NOT NULL,
  status TEXT NOT NULL,
  timestamp INTEGER NOT NULL,
  error_code INTEGER NOT NULL DEFAULT 0,
  error_title TEXT NOT NULL DEFAULT '',
  received_at INTEGER NOT NULL,
  PRIMARY KEY (channel, provider_message_id, status)
);

-- Content: every published version is a whole document; the draft is one more.
CREATE TABLE content_versions (
  id INTEGER PRIMARY KEY,
  author TEXT NOT NULL,
  message TEXT NOT NULL,
  document TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
