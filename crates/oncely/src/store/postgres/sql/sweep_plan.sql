-- Run first in the transaction of a leader's sweep (the rescuer of expired
-- leases, the pruner of old final jobs): each sweep must read only the rows it
-- may change, along its index bounded by the clock (oncely_jobs_lease,
-- oncely_jobs_finalized), and reach them by key. With no statistics yet (a
-- table that filled faster than autovacuum analyzes it) the planner read the
-- whole table instead and sorted it: 160-650 ms per rescue, every 5 s, during
-- a 1,000,000-job drain; and it deleted the pruned ids through a bitmap of
-- the whole finalized index. No JIT either: a plan priced with nodes
-- switched off can cost far above jit_above_cost, and compiling a sweep that
-- reads a few index pages costs more than the sweep (see claim_plan.sql).
-- These settings last until the transaction ends.
SELECT set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true),
       set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true),
       set_config('jit', 'off', true)
