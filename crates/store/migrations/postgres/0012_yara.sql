-- YARA rule sets managed in the hub (issue 6, item 5): each set is one YARA source whose name is
-- also its namespace; only sources that compiled are stored. The enabled sets, compiled together,
-- scan every part of the mail the hub analyses; each hub process compares the names, hashes and
-- enabled flags with those it compiled to see when its rules are stale.
CREATE TABLE yara_rule_sets (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    source      TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    rule_count  BIGINT NOT NULL,
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_by  TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
