-- Sharing, the rest of issue 4 (sqlite): indicators posted over TAXII as detection input, MISP
-- feed events already imported, notes and attachments on reports, scheduled feed status.

-- The matchable part of a posted STIX indicator (one row per stored version).
CREATE TABLE posted_indicators (
    seq         INTEGER PRIMARY KEY REFERENCES stix_objects(seq) ON DELETE CASCADE,
    kind        TEXT,
    value       TEXT,
    pattern     TEXT,
    valid_until INTEGER,
    revoked     BOOLEAN NOT NULL DEFAULT 0
);

-- MISP feed events imported, by uuid and timestamp, so a re-run imports nothing twice.
CREATE TABLE misp_feed_events (
    uuid        TEXT NOT NULL,
    timestamp   INTEGER NOT NULL,
    source      TEXT NOT NULL,
    report_id   TEXT REFERENCES reports(id) ON DELETE SET NULL,
    imported_at INTEGER NOT NULL,
    PRIMARY KEY (uuid, timestamp)
);

CREATE TABLE report_notes (
    id          TEXT PRIMARY KEY,
    report_id   TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    author_org  TEXT NOT NULL,
    created_by  TEXT,
    body        TEXT NOT NULL,
    stix_id     TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX report_notes_report ON report_notes(report_id);

-- Attachment bytes live under <data>/attachments/<sha256>; rows name them.
CREATE TABLE report_attachments (
    id          TEXT PRIMARY KEY,
    report_id   TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    file_name   TEXT NOT NULL,
    media_type  TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    created_by  TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX report_attachments_report ON report_attachments(report_id);

-- Scheduled TAXII feeds ([[share.feeds]]): what the last run did.
CREATE TABLE share_feed_status (
    name        TEXT PRIMARY KEY,
    last_run    INTEGER,
    last_ok     INTEGER,
    last_error  TEXT,
    pulled      INTEGER NOT NULL DEFAULT 0,
    pushed      INTEGER NOT NULL DEFAULT 0,
    runs        INTEGER NOT NULL DEFAULT 0
);
