-- Indexes the benchmarks asked for (BENCHMARKS.md §7): the outbox claim walks pending rows in
-- priority order without sorting them all, and the case list reads open cases of a queue in the
-- order officers see them.
CREATE INDEX outbox_claim ON outbox(state, priority DESC, id);
CREATE INDEX cases_open_by_rank ON cases(queue, (CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 ELSE 2 END), opened_at)
  WHERE status != 'resolved';
