-- True when the server runs on a timeline no client has settled yet.
SELECT oncely_fence_epoch() > COALESCE((SELECT max(epoch) FROM oncely_epochs), -1)
