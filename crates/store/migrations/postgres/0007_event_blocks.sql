-- Events are stored in blocks (see src/blocks.rs): one row per batch of up to 4,096 events,
-- zstd-compressed, with the block's distinct words and hashed field=value terms as a
-- tsvector. Partitioned by the block's newest event time, one partition per UTC day created
-- on first use; retention drops whole partitions. Rows of the old per-event table are moved
-- into blocks by the store when it opens the database (Store::migrate), then dropped.
CREATE TABLE event_blocks (
    id          BIGSERIAL,
    org_id      TEXT NOT NULL,
    source      TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    ts_min      BIGINT NOT NULL,
    ts_max      BIGINT NOT NULL,
    count       BIGINT NOT NULL,
    data        BYTEA NOT NULL,
    terms       TSVECTOR NOT NULL
) PARTITION BY RANGE (ts_max);
CREATE TABLE event_blocks_default PARTITION OF event_blocks DEFAULT;
CREATE INDEX event_blocks_org_ts ON event_blocks(org_id, ts_max);
CREATE INDEX event_blocks_ts ON event_blocks(ts_max);
CREATE INDEX event_blocks_terms ON event_blocks USING gin (terms);
