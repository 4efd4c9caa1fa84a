-- Notification and blocking, the rest (issue 7): notices delivered by webhook (the channel of
-- each notice, and the JSON document fixed when it was issued, so a retry posts the same
-- thing), delivery attempts and when a failed notice is due again, the position of a TAXII
-- collector (its `added_after`), and named block-list profiles for devices.
ALTER TABLE notices ADD COLUMN channel TEXT NOT NULL DEFAULT 'email';
ALTER TABLE notices ADD COLUMN payload TEXT;
ALTER TABLE notices ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE notices ADD COLUMN next_attempt_at BIGINT;

ALTER TABLE feed_sources ADD COLUMN position TEXT;

CREATE TABLE blocklist_profiles (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    max_tlp     TEXT NOT NULL,
    min_score   BIGINT NOT NULL,
    kinds       TEXT NOT NULL,
    allow_list  TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
