-- outbox_due(state, priority DESC, next_attempt_at, id) is not used by any query: the claim, the
-- urgent reply's "try the backing-off ones now" and the metrics all use outbox_claim(state,
-- priority DESC, id) (EXPLAIN QUERY PLAN, session 13). Every reply's insert and each of its state
-- changes still had to update it.
DROP INDEX IF EXISTS outbox_due;
