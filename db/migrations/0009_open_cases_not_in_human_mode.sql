-- Cases released or referred before this version could keep "human mode" with no officer on them:
-- the bot stayed silent and nobody answered. Open (unclaimed) cases have no officer talking.
UPDATE cases SET human_mode = 0 WHERE status = 'open';
