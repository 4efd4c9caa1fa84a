-- Incident response: cases, the organisations taking part, tasks and the timeline (PostgreSQL).
CREATE TABLE cases (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    description TEXT NOT NULL,
    severity    TEXT NOT NULL,
    tlp_rank    BIGINT NOT NULL,
    status      TEXT NOT NULL,
    resolution  TEXT,
    owner_org   TEXT NOT NULL REFERENCES orgs(id) ON DELETE RESTRICT,
    created_by  TEXT,
    created_at  BIGINT NOT NULL,
    modified_at BIGINT NOT NULL
);

CREATE TABLE case_participants (
    case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    org_id  TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    role    TEXT NOT NULL,
    PRIMARY KEY (case_id, org_id)
);
CREATE INDEX case_participants_org ON case_participants(org_id);

CREATE TABLE case_tasks (
    id         TEXT PRIMARY KEY,
    case_id    TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    title      TEXT NOT NULL,
    status     TEXT NOT NULL,
    due_at     BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX case_tasks_case ON case_tasks(case_id);

CREATE TABLE case_timeline (
    id         TEXT PRIMARY KEY,
    case_id    TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    at         BIGINT NOT NULL,
    source     TEXT NOT NULL,
    text       TEXT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX case_timeline_case ON case_timeline(case_id, at);
