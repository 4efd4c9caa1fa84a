-- Events are stored in blocks (see src/blocks.rs): one row per batch of up to 4,096 events,
-- zstd-compressed, with the block's distinct words and hashed field=value terms in one
-- full-text row. Rows of the old per-event table are moved into blocks by the store when it
-- opens the database (Store::migrate), then the old tables are dropped.
CREATE TABLE event_blocks (
    id          INTEGER PRIMARY KEY,
    org_id      TEXT NOT NULL,
    source      TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    ts_min      INTEGER NOT NULL,
    ts_max      INTEGER NOT NULL,
    count       INTEGER NOT NULL,
    data        BLOB NOT NULL
);
CREATE INDEX event_blocks_org_ts ON event_blocks(org_id, ts_max);
CREATE INDEX event_blocks_ts ON event_blocks(ts_max);
CREATE VIRTUAL TABLE event_blocks_fts USING fts5(terms, content='', contentless_delete=1, tokenize='unicode61');
