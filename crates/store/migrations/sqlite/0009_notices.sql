-- Notification lifecycle (issue 7): every feed item the hub has seen, with its owner and
-- whether later feed runs still see it; the notices sent about them, each with a status and an
-- acknowledgement token (stored hashed).
CREATE TABLE feed_items (
    id            TEXT PRIMARY KEY,
    source        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    value         TEXT NOT NULL,
    category      TEXT NOT NULL,
    owner_org     TEXT,
    owner_reason  TEXT,
    observation   TEXT NOT NULL,
    first_seen    INTEGER NOT NULL,
    last_seen     INTEGER NOT NULL,
    status        TEXT NOT NULL,
    remediated_at INTEGER,
    notified_at   INTEGER,
    notify_count  INTEGER NOT NULL DEFAULT 0,
    UNIQUE (source, kind, value, category)
);
CREATE INDEX feed_items_owner ON feed_items(owner_org, status);
CREATE INDEX feed_items_source ON feed_items(source, status, last_seen);

CREATE TABLE notices (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL,
    kind           TEXT NOT NULL,
    lang           TEXT NOT NULL,
    recipients     TEXT NOT NULL,
    subject        TEXT NOT NULL,
    body           TEXT NOT NULL,
    csv_name       TEXT NOT NULL,
    csv            TEXT NOT NULL,
    items          INTEGER NOT NULL,
    status         TEXT NOT NULL,
    error          TEXT,
    ack_token_hash TEXT NOT NULL UNIQUE,
    escalated      INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    sent_at        INTEGER,
    acked_at       INTEGER,
    remediated_at  INTEGER
);
CREATE INDEX notices_org ON notices(org_id, created_at);

CREATE TABLE notice_items (
    notice_id TEXT NOT NULL REFERENCES notices(id) ON DELETE CASCADE,
    item_id   TEXT NOT NULL REFERENCES feed_items(id) ON DELETE CASCADE,
    PRIMARY KEY (notice_id, item_id)
);
CREATE INDEX notice_items_item ON notice_items(item_id);
