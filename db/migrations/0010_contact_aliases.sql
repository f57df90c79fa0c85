-- A WhatsApp user's business-scoped user id (BSUID) and phone number name one person. A webhook
-- that gives both stores the other one here, so a later message carrying only one of them
-- (usernames hide the phone number) reaches the same contact and conversation. Erasing the
-- contact deletes its aliases.
CREATE TABLE contact_aliases (
  channel TEXT NOT NULL,
  alias TEXT NOT NULL,
  contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  PRIMARY KEY (channel, alias)
);
CREATE INDEX contact_aliases_contact ON contact_aliases(contact_id);
