-- STIX objects served over TAXII: derived from reports (origin_report set) or posted to a
-- collection; each row carries the marking the visibility policy judges (PostgreSQL).
CREATE TABLE stix_objects (
    seq            BIGSERIAL PRIMARY KEY,
    id             TEXT NOT NULL,
    version        TEXT NOT NULL,
    version_micros BIGINT NOT NULL,
    object_type    TEXT NOT NULL,
    spec_version   TEXT NOT NULL,
    date_added     BIGINT NOT NULL,
    json           TEXT NOT NULL,
    origin_report  TEXT REFERENCES reports(id) ON DELETE CASCADE,
    collection     TEXT NOT NULL,
    tlp_rank       BIGINT NOT NULL,
    owner_org      TEXT NOT NULL,
    sharing_group  TEXT,
    UNIQUE (id, version, collection, origin_report)
);
CREATE INDEX stix_objects_id ON stix_objects(id);
CREATE UNIQUE INDEX stix_objects_posted ON stix_objects(id, version, collection) WHERE origin_report IS NULL;
CREATE INDEX stix_objects_origin ON stix_objects(origin_report);
CREATE INDEX stix_objects_added ON stix_objects(date_added);

CREATE TABLE taxii_status (
    id          TEXT PRIMARY KEY,
    owner_user  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    body        TEXT NOT NULL
);
