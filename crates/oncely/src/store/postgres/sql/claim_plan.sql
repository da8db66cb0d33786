-- Run first in a claim's transaction: the claim must read the head of the
-- fetch index in order, and update the rows it picked through the primary
-- key. With statistics stale or absent (a table that filled faster than
-- autovacuum analyzes it: the usual case for a queue after a burst), the
-- planner chose a bitmap scan of the whole backlog and a sort instead: 200 ms
-- per claim at a 140,000-job backlog instead of 1 ms. With those two off, the
-- plan is the same for every claim, so it is planned once per connection (the
-- generic plan) instead of at every claim (about 1 ms each, 10 % of a 200-job
-- claim). A generic plan cannot see the claim's LIMIT, and guesses a tenth of
-- the table: for that many rows it joined the picked ids to the table by
-- hashing all of it (a sequential scan of every row, every claim: 5 ms at a
-- 20,000-job backlog, 250 ms at 1,000,000, whatever the claim's size). Hash
-- and merge joins off leave the one right plan: a primary-key lookup per
-- picked id. And no JIT: once the table has statistics the generic plan's
-- guess (a tenth of a large table) costs it above jit_above_cost, and
-- PostgreSQL compiled the claim with LLVM at every execution: 13 ms of CPU
-- for a claim whose work takes 6, a fifth of the machine's CPU in a
-- 1,000,000-job drain (the "slow" drains: those after autovacuum's ANALYZE).
-- These settings last until the transaction ends.
SELECT set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true),
       set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true),
       set_config('plan_cache_mode', 'force_generic_plan', true), set_config('jit', 'off', true)
