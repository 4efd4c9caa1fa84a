-- Feed collectors (issue 7): per named source, the HTTP validators of the last fetch (so the
-- next one is conditional) and how the last run went.
CREATE TABLE feed_sources (
    name          TEXT PRIMARY KEY,
    location      TEXT NOT NULL,
    etag          TEXT,
    last_modified TEXT,
    last_run      BIGINT,
    last_status   TEXT,
    last_error    TEXT,
    last_items    BIGINT
);
