-- Detection sightings are aggregated per (indicator value, organisation, hour) instead of one
-- row per batch: a busy feed kept adding a row per batch per value without bound. `bucket`
-- is the hour (ms since the epoch / 3,600,000) of a detection sighting; `count` sums the
-- batches' counts and `seen_at` keeps the latest. Member and false-positive sightings keep
-- `bucket` NULL and stay one row each; older detection rows stay as they are.
ALTER TABLE sightings ADD COLUMN bucket BIGINT;
CREATE UNIQUE INDEX sightings_detection_bucket ON sightings(kind, value, org_id, bucket)
    WHERE bucket IS NOT NULL;
