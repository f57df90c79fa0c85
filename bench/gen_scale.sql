-- Scale data for bench/run_all.sh section "scale": 100,000 contacts, 20,000 cases, 1,000,000
-- messages, written straight into a database whose schema the server created (db/migrations).
-- Contacts 1..20000 each have one case (40 % unhcr_protection, 30 % iom, 30 % info_desk; 10 % urgent,
-- 20 % high; 50 % open, 20 % claimed, 30 % resolved); every contact has 10 messages (6 in, 4 out),
-- and a case's messages carry its case_id; every reply has a sent outbox row and a delivery report.
-- Bodies are realistic helpline texts in en/prs/ps.
PRAGMA synchronous = OFF;
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TEMP TABLE texts(i INTEGER PRIMARY KEY, body TEXT, lang TEXT);
INSERT INTO texts(i, body, lang) VALUES
  (0, 'police are at our door right now please help', 'en'),
  (1, 'my PoR card expired last month, how can I renew it?', 'en'),
  (2, 'سلام، کارت پی او آر من گم شده، چی کار کنم؟', 'prs'),
  (3, 'زما د ویزې موده پوره شوې، څنګه یې تمدید کړم؟', 'ps'),
  (4, 'salam, mara deport mekonan, komak konin', 'prs'),
  (5, 'when will the US embassy send the letter for my P2 case?', 'en'),
  (6, 'زه غواړم له یو انسان سره خبرې وکړم', 'ps'),
  (7, 'تشکر از کمک شما', 'prs');

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO contacts(id, channel, external_id, business_id, display_name, language, created_at, last_inbound_at)
SELECT i, 'whatsapp', printf('9370%07d', i), '106540352242922', 'Person ' || i,
       CASE i % 3 WHEN 0 THEN 'en' WHEN 1 THEN 'prs' ELSE 'ps' END,
       1735689600000 + i * 60000, 1764000000000 + i * 1000
FROM n;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
INSERT INTO cases(id, contact_id, queue, priority, status, intent, language, assignee, consent, intake, entities,
                  opened_at, first_response_at, resolved_at, last_message_at, updated_at)
SELECT i, i,
       CASE WHEN i % 10 < 4 THEN 'unhcr_protection' WHEN i % 10 < 7 THEN 'iom' ELSE 'info_desk' END,
       CASE WHEN i % 10 = 0 THEN 'urgent' WHEN i % 10 IN (1, 5) THEN 'high' ELSE 'normal' END,
       CASE WHEN i % 10 IN (0, 1, 3, 6, 8) THEN 'open' WHEN i % 10 IN (2, 7) THEN 'claimed' ELSE 'resolved' END,
       CASE WHEN i % 10 = 0 THEN 'urgent_protection' WHEN i % 10 < 4 THEN 'deportation_info' WHEN i % 10 < 7
            THEN 'relocated_case_transfer' ELSE 'human_agent' END,
       CASE i % 3 WHEN 0 THEN 'en' WHEN 1 THEN 'prs' ELSE 'ps' END,
       CASE WHEN i % 10 IN (2, 7) THEN 'admin' END,
       CASE i % 4 WHEN 0 THEN 'yes' WHEN 1 THEN 'asked' ELSE 'unknown' END,
       '{"province":"Sindh","family_size":"5"}', '{"cities":["Karachi"],"phones":["+923001234567"]}',
       1735689600000 + i * 600000, CASE WHEN i % 10 IN (2, 7, 4, 5, 9) THEN 1735689600000 + i * 600000 + 900000 END,
       CASE WHEN i % 10 IN (4, 5, 9) THEN 1735689600000 + i * 600000 + 86400000 END,
       1764000000000 + i * 1000, 1764000000000 + i * 1000
FROM n;

-- message k (0..9) of contact c: ids 1..1,000,000 in time order (contact-major so a case's
-- messages are adjacent, as after a conversation).
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999999)
INSERT INTO messages(id, contact_id, direction, channel, provider_id, kind, body, payload, intent, language, urgent,
                     author, status, created_at, processed_at, case_id)
SELECT i + 1, c, CASE WHEN k IN (0, 2, 4, 6, 7, 9) THEN 'in' ELSE 'out' END, 'whatsapp',
       CASE WHEN k IN (0, 2, 4, 6, 7, 9) THEN 'wamid.GEN-' || (i + 1) ELSE 'wamid.OUT-' || (i + 1) END,
       'text', (SELECT body FROM texts WHERE texts.i = (i % 8)), '{}',
       CASE WHEN k IN (0, 2, 4, 6, 7, 9) THEN 'deportation_info' END,
       CASE c % 3 WHEN 0 THEN 'en' WHEN 1 THEN 'prs' ELSE 'ps' END, 0,
       CASE WHEN k IN (0, 2, 4, 6, 7, 9) THEN 'person' ELSE 'bot' END,
       CASE WHEN k IN (0, 2, 4, 6, 7, 9) THEN 'processed' ELSE 'sent' END,
       1735689600000 + i * 2000, 1735689600000 + i * 2000 + 50,
       CASE WHEN c <= 20000 THEN c END
FROM (SELECT i, i / 10 + 1 AS c, i % 10 AS k FROM n);

-- Every reply was sent once and delivered: the outbox keeps sent rows (until retention), and the
-- case view shows each reply's delivery state through them. 400,000 rows each.
INSERT INTO outbox(message_id, channel, recipient, business_id, payload, priority, state, attempts, next_attempt_at,
                   provider_message_id, created_at, updated_at)
SELECT m.id, 'whatsapp', k.external_id, COALESCE(k.business_id, ''), '{}', 0, 'sent', 1, m.created_at, m.provider_id,
       m.created_at, m.created_at + 300
FROM messages m JOIN contacts k ON k.id = m.contact_id WHERE m.direction = 'out';
INSERT INTO delivery_statuses(channel, provider_message_id, status, timestamp, error_code, error_title, received_at)
SELECT 'whatsapp', provider_id, 'delivered', created_at / 1000 + 2, 0, '', created_at + 2000
FROM messages WHERE direction = 'out';

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO conversations(contact_id, state, updated_at)
SELECT i, '{"language":"' || CASE i % 3 WHEN 0 THEN 'en' WHEN 1 THEN 'prs' ELSE 'ps' END || '","step":"idle"}',
       1764000000000 + i * 1000
FROM n;
COMMIT;
-- no ANALYZE: the server does not run it either, so the planner sees what production sees
SELECT 'contacts=' || count(*) FROM contacts;
SELECT 'cases=' || count(*) FROM cases;
SELECT 'messages=' || count(*) FROM messages;
SELECT 'outbox_sent=' || count(*) FROM outbox;
SELECT 'unhcr_protection_unresolved=' || count(*) FROM cases WHERE queue = 'unhcr_protection' AND status != 'resolved';
