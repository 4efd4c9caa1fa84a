-- Monitoring (issue 5): sensors, ingested batches, stored events with a trigram full-text
-- index, dead letters, alerts with their evidence, and false-positive suppressions.

CREATE TABLE sensors (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER,
    revoked_at   INTEGER,
    UNIQUE (org_id, name)
);

-- One row per ingested batch: a batch id seen again from the same source is a retry.
CREATE TABLE ingest_batches (
    source      TEXT NOT NULL,
    batch_id    TEXT NOT NULL,
    org_id      TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    accepted    INTEGER NOT NULL,
    rejected    INTEGER NOT NULL,
    PRIMARY KEY (source, batch_id)
);

CREATE TABLE events (
    id             INTEGER PRIMARY KEY,
    org_id         TEXT NOT NULL,
    source         TEXT NOT NULL,
    ts             INTEGER NOT NULL,
    received_at    INTEGER NOT NULL,
    dataset        TEXT,
    host           TEXT,
    source_ip      TEXT,
    destination_ip TEXT,
    user_name      TEXT,
    message        TEXT,
    doc            TEXT NOT NULL
);
CREATE INDEX events_org_ts ON events(org_id, ts);
CREATE INDEX events_ts ON events(ts);

-- Word search over every string value of an event (unicode61; CJK runs are indexed as
-- bigrams by the store, see src/fts.rs).
CREATE VIRTUAL TABLE events_fts USING fts5(text, content='', contentless_delete=1, tokenize='unicode61');

CREATE TABLE dead_letters (
    id          INTEGER PRIMARY KEY,
    org_id      TEXT NOT NULL,
    source      TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    origin      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    text        TEXT NOT NULL
);
CREATE INDEX dead_letters_org ON dead_letters(org_id, received_at);

CREATE TABLE alerts (
    id           TEXT PRIMARY KEY,
    dedup_key    TEXT NOT NULL UNIQUE,
    org_id       TEXT NOT NULL,
    route        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    rule_id      TEXT NOT NULL,
    title        TEXT NOT NULL,
    level        TEXT NOT NULL,
    host         TEXT NOT NULL,
    first_seen   INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    event_count  INTEGER NOT NULL,
    status       TEXT NOT NULL,
    assignee     TEXT,
    case_id      TEXT,
    created_at   INTEGER NOT NULL,
    modified_at  INTEGER NOT NULL
);
CREATE INDEX alerts_org ON alerts(org_id, last_seen);
CREATE INDEX alerts_status ON alerts(status, last_seen);

-- The first evidence events of an alert, copied so they outlive event retention.
CREATE TABLE alert_evidence (
    alert_id TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    ts       INTEGER NOT NULL,
    doc      TEXT NOT NULL,
    PRIMARY KEY (alert_id, seq)
);

-- Marking an alert a false positive suppresses the same rule on the same host for its
-- organisation.
CREATE TABLE alert_suppressions (
    org_id     TEXT NOT NULL,
    rule_id    TEXT NOT NULL,
    host       TEXT NOT NULL,
    reason     TEXT NOT NULL,
    created_by TEXT,
    created_at INTEGER NOT NULL,
    hits       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, rule_id, host)
);

-- Event retention per organisation (days); organisations without a row use the hub default.
CREATE TABLE event_retention (
    org_id     TEXT PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
    days       INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Base matches of rules that Sigma correlation rules refer to, per organisation and group
-- key, so that every hub worker evaluates correlations over the same state.
CREATE TABLE correlation_observations (
    corr_id  TEXT NOT NULL,
    org_id   TEXT NOT NULL,
    grp      TEXT NOT NULL,
    ts       INTEGER NOT NULL,
    rule_pos INTEGER NOT NULL,
    value    TEXT
);
CREATE INDEX correlation_observations_key ON correlation_observations(corr_id, org_id, grp, ts);
