-- Sharing, the rest of issue 4 (postgres): indicators posted over TAXII as detection input, MISP
-- feed events already imported, notes and attachments on reports, scheduled feed status.

-- The matchable part of a posted STIX indicator (one row per stored version).
CREATE TABLE posted_indicators (
    seq         BIGINT PRIMARY KEY REFERENCES stix_objects(seq) ON DELETE CASCADE,
    kind        TEXT,
    value       TEXT,
    pattern     TEXT,
    valid_until BIGINT,
    revoked     BOOLEAN NOT NULL DEFAULT FALSE
);

-- MISP feed events imported, by uuid and timestamp, so a re-run imports nothing twice.
CREATE TABLE misp_feed_events (
    uuid        TEXT NOT NULL,
    timestamp   BIGINT NOT NULL,
    source      TEXT NOT NULL,
    report_id   TEXT REFERENCES reports(id) ON DELETE SET NULL,
    imported_at BIGINT NOT NULL,
    PRIMARY KEY (uuid, timestamp)
);

CREATE TABLE report_notes (
    id          TEXT PRIMARY KEY,
    report_id   TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    author_org  TEXT NOT NULL,
    created_by  TEXT,
    body        TEXT NOT NULL,
    stix_id     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX report_notes_report ON report_notes(report_id);

-- Attachment bytes live under <data>/attachments/<sha256>; rows name them.
CREATE TABLE report_attachments (
    id          TEXT PRIMARY KEY,
    report_id   TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    file_name   TEXT NOT NULL,
    media_type  TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size        BIGINT NOT NULL,
    created_by  TEXT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX report_attachments_report ON report_attachments(report_id);

-- Scheduled TAXII feeds ([[share.feeds]]): what the last run did.
CREATE TABLE share_feed_status (
    name        TEXT PRIMARY KEY,
    last_run    BIGINT,
    last_ok     BIGINT,
    last_error  TEXT,
    pulled      BIGINT NOT NULL DEFAULT 0,
    pushed      BIGINT NOT NULL DEFAULT 0,
    runs        BIGINT NOT NULL DEFAULT 0
);
