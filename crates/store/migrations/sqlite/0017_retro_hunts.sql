-- Retro-hunts: when an indicator is shared, the events stored before it (within a look-back
-- window) are searched for it (mamori_pipeline::retro). One row per hunt; the hunt that
-- inserts an indicator's key into retro_hunt_values owns it, so several hub processes never
-- hunt the same indicator twice. The row 'baseline' records the indicators in force when the
-- first hub process started, which are not hunted.
CREATE TABLE retro_hunts (
    id             TEXT PRIMARY KEY,
    created_at     INTEGER NOT NULL,
    claimed_by     TEXT NOT NULL,
    claimed_at     INTEGER NOT NULL,
    finished_at    INTEGER,
    from_ts        INTEGER NOT NULL,
    until_received INTEGER NOT NULL,
    indicators     INTEGER NOT NULL,
    blocks         INTEGER NOT NULL DEFAULT 0,
    events         INTEGER NOT NULL DEFAULT 0,
    alerts         INTEGER NOT NULL DEFAULT 0,
    sightings      INTEGER NOT NULL DEFAULT 0,
    last_block     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX retro_hunts_unfinished ON retro_hunts(claimed_at) WHERE finished_at IS NULL;
-- The SHA-256 of an indicator's match (kind and value, or the STIX pattern).
CREATE TABLE retro_hunt_values (
    key     TEXT PRIMARY KEY,
    hunt_id TEXT NOT NULL REFERENCES retro_hunts(id) ON DELETE CASCADE
);
CREATE INDEX retro_hunt_values_hunt ON retro_hunt_values(hunt_id);
