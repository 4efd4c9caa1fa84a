-- Incident response, second part (PostgreSQL): SLA clocks, lessons learned and optimistic versions on cases, task
-- assignees, evidence with its append-only chain of custody, coordination requests (with an
-- optimistic version) and their threads, SLA breaches notified once, participant webhooks,
-- observables of a case, playbooks edited by administrators.
ALTER TABLE cases ADD COLUMN acknowledged_at BIGINT;
ALTER TABLE cases ADD COLUMN contained_at BIGINT;
ALTER TABLE cases ADD COLUMN lessons TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE cases ADD COLUMN incident_type TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN closed_at BIGINT;
ALTER TABLE case_tasks ADD COLUMN assignee TEXT;

CREATE TABLE case_evidence (
    id           TEXT PRIMARY KEY,
    case_id      TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    sha256       TEXT NOT NULL,
    sha1         TEXT NOT NULL,
    md5          TEXT NOT NULL,
    size         BIGINT NOT NULL,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    description  TEXT NOT NULL,
    added_by     TEXT NOT NULL,
    added_org    TEXT,
    created_at   BIGINT NOT NULL,
    UNIQUE (case_id, sha256)
);
CREATE INDEX case_evidence_case ON case_evidence(case_id, created_at);

CREATE TABLE case_custody (
    id          TEXT PRIMARY KEY,
    evidence_id TEXT NOT NULL REFERENCES case_evidence(id) ON DELETE CASCADE,
    action      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    actor_org   TEXT,
    source      TEXT NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX case_custody_evidence ON case_custody(evidence_id, at);
CREATE FUNCTION case_custody_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM case_evidence e WHERE e.id = OLD.evidence_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'chain of custody is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER case_custody_append_only BEFORE UPDATE OR DELETE ON case_custody
FOR EACH ROW EXECUTE FUNCTION case_custody_append_only();

CREATE TABLE case_requests (
    id          TEXT PRIMARY KEY,
    case_id     TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    from_org    TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    to_org      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    due_at      BIGINT,
    created_by  TEXT,
    version     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    modified_at BIGINT NOT NULL
);
CREATE INDEX case_requests_case ON case_requests(case_id);
CREATE INDEX case_requests_to ON case_requests(to_org);
CREATE INDEX case_requests_from ON case_requests(from_org);

CREATE TABLE case_request_messages (
    id         TEXT PRIMARY KEY,
    request_id TEXT NOT NULL REFERENCES case_requests(id) ON DELETE CASCADE,
    author     TEXT NOT NULL,
    author_org TEXT,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX case_request_messages_request ON case_request_messages(request_id, created_at);

CREATE TABLE case_sla_breaches (
    case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    kind    TEXT NOT NULL,
    at      BIGINT NOT NULL,
    PRIMARY KEY (case_id, kind)
);

CREATE TABLE org_webhooks (
    org_id     TEXT PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
    url        TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE case_observables (
    id         TEXT PRIMARY KEY,
    case_id    TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    note       TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (case_id, kind, value)
);

-- Playbooks edited by administrators: a row replaces the built-in playbook of the same name or
-- adds a new one; tasks are JSON [{"title": ..., "hours": N}].
CREATE TABLE case_playbooks (
    name       TEXT PRIMARY KEY,
    tasks      TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
