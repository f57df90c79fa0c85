-- Four-eyes review: a request remembers which published version it was made against, so approving
-- it after another publish cannot silently undo that publish; rejections carry a reason and when;
-- whether it is a restore (the draft is reset only once it is approved); and the regression
-- examples its author chose to override, which the reviewer must see and confirm.
ALTER TABLE publish_requests ADD COLUMN base_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE publish_requests ADD COLUMN decided_at INTEGER;
ALTER TABLE publish_requests ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE publish_requests ADD COLUMN kind TEXT NOT NULL DEFAULT 'publish' CHECK (kind IN ('publish', 'restore'));
ALTER TABLE publish_requests ADD COLUMN overrides TEXT NOT NULL DEFAULT '[]';
CREATE INDEX publish_requests_status ON publish_requests(status, id);
