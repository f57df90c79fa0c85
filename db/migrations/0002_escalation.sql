-- Escalation: queues and routing as data, cases with intake and entities, officers and their
-- sessions, and an append-only audit log.
CREATE TABLE queues (
  id TEXT PRIMARY KEY,
  partner TEXT NOT NULL,             -- the organisation the person is told about
  contact_fact TEXT,                 -- facts.json id of the partner's contact details
  sla_minutes INTEGER NOT NULL,      -- minutes to first human response
  webhook_url TEXT,                  -- partner notification (JSON POST, HMAC-signed)
  webhook_secret TEXT,
  hours TEXT NOT NULL DEFAULT '',    -- working hours: "1-5 08:00-17:00 +0500" (days Mon=1), '' = always
  created_at INTEGER NOT NULL
);
INSERT INTO queues(id, partner, contact_fact, sla_minutes, hours, created_at) VALUES
  ('unhcr_protection', 'UNHCR', 'unhcr_protection_helpline', 15, '', strftime('%s','now') * 1000),
  ('iom', 'IOM', 'iom_usrap_contact', 1440, '1-5 09:00-17:00 +0500', strftime('%s','now') * 1000),
  ('info_desk', 'the information desk', NULL, 1440, '1-6 09:00-17:00 +0500', strftime('%s','now') * 1000);

-- First match by position wins; NULL matches anything.
CREATE TABLE routing_rules (
  id INTEGER PRIMARY KEY,
  position INTEGER NOT NULL,
  intent TEXT,
  urgent INTEGER,
  entity TEXT,                       -- an entity kind that must be present, e.g. 'case_number'
  queue TEXT NOT NULL REFERENCES queues(id),
  priority TEXT NOT NULL CHECK (priority IN ('urgent', 'high', 'normal'))
);
INSERT INTO routing_rules(position, intent, urgent, entity, queue, priority) VALUES
  (10, NULL, 1, NULL, 'unhcr_protection', 'urgent'),
  (20, 'relocated_case_transfer', NULL, NULL, 'iom', 'normal'),
  (30, 'human_agent', NULL, NULL, 'info_desk', 'normal'),
  (40, 'unknown', NULL, NULL, 'info_desk', 'normal');

CREATE TABLE cases (
  id INTEGER PRIMARY KEY,
  contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  queue TEXT NOT NULL REFERENCES queues(id),
  priority TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'claimed', 'resolved')),
  intent TEXT NOT NULL DEFAULT '',
  language TEXT NOT NULL DEFAULT '',
  assignee TEXT,
  consent TEXT NOT NULL DEFAULT 'unknown' CHECK (consent IN ('unknown', 'asked', 'yes', 'no')),
  intake TEXT NOT NULL DEFAULT '{}',
  entities TEXT NOT NULL DEFAULT '{}',
  outcome TEXT,
  referred_from TEXT,
  opened_at INTEGER NOT NULL,
  first_response_at INTEGER,
  resolved_at INTEGER,
  last_message_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX cases_one_open_per_queue ON cases(contact_id, queue) WHERE status != 'resolved';
CREATE INDEX cases_queue_status ON cases(queue, status, priority, opened_at);

ALTER TABLE messages ADD COLUMN case_id INTEGER REFERENCES cases(id);
ALTER TABLE cases ADD COLUMN human_mode INTEGER NOT NULL DEFAULT 0;
CREATE INDEX messages_case ON messages(case_id, id);

CREATE TABLE case_notes (
  id INTEGER PRIMARY KEY,
  case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  author TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'officer')),
  password_hash TEXT NOT NULL,       -- Argon2id, encoded
  languages TEXT NOT NULL DEFAULT '',
  disabled INTEGER NOT NULL DEFAULT 0,
  failed_logins INTEGER NOT NULL DEFAULT 0,
  locked_until INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE TABLE user_queues (
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  queue TEXT NOT NULL REFERENCES queues(id),
  PRIMARY KEY (user_id, queue)
);
-- Tokens are stored hashed: a copy of the database does not log anyone in.
CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  csrf_token TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);

CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL DEFAULT '',
  details TEXT NOT NULL DEFAULT '{}'
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
