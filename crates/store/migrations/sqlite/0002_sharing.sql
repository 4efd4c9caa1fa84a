-- Sharing: reports with their marking, indicators, observables, sightings (SQLite).
CREATE TABLE reports (
    id                TEXT PRIMARY KEY,
    title             TEXT NOT NULL,
    description       TEXT NOT NULL,
    owner_org         TEXT NOT NULL REFERENCES orgs(id) ON DELETE RESTRICT,
    anonymous         BOOLEAN NOT NULL DEFAULT 0,
    tlp_rank          INTEGER NOT NULL,
    sharing_group     TEXT REFERENCES sharing_groups(id) ON DELETE RESTRICT,
    confidence        INTEGER,
    labels            TEXT NOT NULL DEFAULT '[]',
    attack_techniques TEXT NOT NULL DEFAULT '[]',
    revoked           BOOLEAN NOT NULL DEFAULT 0,
    created_by        TEXT,
    created_at        INTEGER NOT NULL,
    modified_at       INTEGER NOT NULL,
    search_text       TEXT NOT NULL
);
CREATE INDEX reports_owner ON reports(owner_org);
CREATE INDEX reports_group ON reports(sharing_group);

CREATE TABLE report_recipients (
    object_id TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    org_id    TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    PRIMARY KEY (object_id, org_id)
);
CREATE INDEX report_recipients_org ON report_recipients(org_id);

CREATE TABLE indicators (
    id                TEXT PRIMARY KEY,
    report_id         TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    kind              TEXT,
    value             TEXT,
    pattern           TEXT,
    description       TEXT NOT NULL,
    valid_from        INTEGER NOT NULL,
    valid_until       INTEGER,
    kill_chain_phases TEXT NOT NULL DEFAULT '[]',
    confidence        INTEGER,
    created_at        INTEGER NOT NULL
);
CREATE INDEX indicators_report ON indicators(report_id);
CREATE INDEX indicators_value ON indicators(kind, value);

CREATE TABLE observables (
    id         TEXT PRIMARY KEY,
    report_id  TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    comment    TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX observables_report ON observables(report_id);
CREATE INDEX observables_value ON observables(kind, value);

CREATE TABLE sightings (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    org_id     TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    source     TEXT NOT NULL,
    count      INTEGER NOT NULL,
    seen_at    INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX sightings_value ON sightings(kind, value);
