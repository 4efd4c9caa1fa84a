-- Monitoring (issue 5): sensors, ingested batches, stored events (partitioned by day, with a
-- word index for text search, the same words and CJK bigrams as SQLite's FTS5 table), dead
-- letters, alerts with their evidence, and false-positive suppressions.

CREATE TABLE sensors (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT,
    revoked_at   BIGINT,
    UNIQUE (org_id, name)
);

CREATE TABLE ingest_batches (
    source      TEXT NOT NULL,
    batch_id    TEXT NOT NULL,
    org_id      TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    accepted    BIGINT NOT NULL,
    rejected    BIGINT NOT NULL,
    PRIMARY KEY (source, batch_id)
);

-- Partitioned by event time; the store creates one partition per UTC day on first use and
-- retention drops whole partitions. Events outside any day partition land in the default one.
CREATE TABLE events (
    id             BIGSERIAL,
    org_id         TEXT NOT NULL,
    source         TEXT NOT NULL,
    ts             BIGINT NOT NULL,
    received_at    BIGINT NOT NULL,
    dataset        TEXT,
    host           TEXT,
    source_ip      TEXT,
    destination_ip TEXT,
    user_name      TEXT,
    message        TEXT,
    doc            TEXT NOT NULL,
    search_text    TEXT NOT NULL
) PARTITION BY RANGE (ts);
CREATE TABLE events_default PARTITION OF events DEFAULT;
CREATE INDEX events_org_ts ON events(org_id, ts);
CREATE INDEX events_ts ON events(ts);
-- search_text holds the words (lower-case, CJK as bigrams) separated by spaces.
CREATE INDEX events_search ON events USING gin (to_tsvector('simple', search_text));

CREATE TABLE dead_letters (
    id          BIGSERIAL PRIMARY KEY,
    org_id      TEXT NOT NULL,
    source      TEXT NOT NULL,
    received_at BIGINT NOT NULL,
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
    first_seen   BIGINT NOT NULL,
    last_seen    BIGINT NOT NULL,
    event_count  BIGINT NOT NULL,
    status       TEXT NOT NULL,
    assignee     TEXT,
    case_id      TEXT,
    created_at   BIGINT NOT NULL,
    modified_at  BIGINT NOT NULL
);
CREATE INDEX alerts_org ON alerts(org_id, last_seen);
CREATE INDEX alerts_status ON alerts(status, last_seen);

CREATE TABLE alert_evidence (
    alert_id TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    seq      BIGINT NOT NULL,
    ts       BIGINT NOT NULL,
    doc      TEXT NOT NULL,
    PRIMARY KEY (alert_id, seq)
);

CREATE TABLE alert_suppressions (
    org_id     TEXT NOT NULL,
    rule_id    TEXT NOT NULL,
    host       TEXT NOT NULL,
    reason     TEXT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    hits       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, rule_id, host)
);

-- Event retention per organisation (days); organisations without a row use the hub default.
CREATE TABLE event_retention (
    org_id     TEXT PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
    days       BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Base matches of rules that Sigma correlation rules refer to, per organisation and group
-- key, so that every hub worker evaluates correlations over the same state.
CREATE TABLE correlation_observations (
    corr_id  TEXT NOT NULL,
    org_id   TEXT NOT NULL,
    grp      TEXT NOT NULL,
    ts       BIGINT NOT NULL,
    rule_pos BIGINT NOT NULL,
    value    TEXT
);
CREATE INDEX correlation_observations_key ON correlation_observations(corr_id, org_id, grp, ts);
