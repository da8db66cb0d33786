-- The timeline this server writes on (the epoch of new fencing tokens).
SELECT oncely_fence_epoch()
