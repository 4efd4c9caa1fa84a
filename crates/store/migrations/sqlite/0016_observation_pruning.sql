-- Stored observations (Sigma correlation base matches and STIX patterns' cross-event leaves)
-- are pruned by event time once older than the longest window in force
-- (Store::prune_observations, hourly): this index keeps that from scanning the table.
CREATE INDEX correlation_observations_ts ON correlation_observations(ts);
