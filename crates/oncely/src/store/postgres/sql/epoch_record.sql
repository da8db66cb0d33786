-- Records the current timeline as settled. $1 jobs held. Returns the timeline.
INSERT INTO oncely_epochs (epoch, held) VALUES (oncely_fence_epoch(), $1)
ON CONFLICT (epoch) DO NOTHING
RETURNING epoch
