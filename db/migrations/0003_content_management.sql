-- Content management: operators' regression examples and four-eyes publish requests. The draft and
-- the shipped release it started from live in settings ('content_draft', 'shipped_content').
CREATE TABLE regression_examples (
  id INTEGER PRIMARY KEY,
  text TEXT NOT NULL,
  intent TEXT NOT NULL,
  urgent INTEGER NOT NULL DEFAULT 0,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE publish_requests (
  id INTEGER PRIMARY KEY,
  author TEXT NOT NULL,
  message TEXT NOT NULL,
  document TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
  decided_by TEXT,
  version_id INTEGER REFERENCES content_versions(id),
  created_at INTEGER NOT NULL
);
