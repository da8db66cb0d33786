-- Run first in a claim's transaction: the claim must read the head of the
-- fetch index in order. With statistics stale or absent (a table that filled
-- faster than autovacuum analyzes it: the usual case for a queue after a
-- burst), the planner chose a bitmap scan of the whole backlog and a sort
-- instead: 200 ms per claim at a 140,000-job backlog instead of 1 ms. These
-- settings last until the transaction ends.
SELECT set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true)
