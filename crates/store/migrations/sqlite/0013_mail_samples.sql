-- Stored mail analyses, their sample files and campaigns (issue 6, items 7 and 9; sqlite).
-- (0012 is taken by YARA rule sets on another branch; the migrator does not need contiguous
-- numbers.)

-- A campaign is only an id: members, shared features and first/last seen are computed on
-- read from the members the reader may see.
CREATE TABLE mail_campaigns (
    id          TEXT PRIMARY KEY,
    created_at  INTEGER NOT NULL
);

-- One analysed message. The marking columns (tlp_rank, owner_org, sharing_group and the
-- recipients table) are those of the access policy, so its SQL filter applies unchanged.
CREATE TABLE mail_analyses (
    id              TEXT PRIMARY KEY,
    owner_org       TEXT NOT NULL REFERENCES orgs(id) ON DELETE RESTRICT,
    submitted_by    TEXT,
    submitter_name  TEXT NOT NULL,
    tlp_rank        INTEGER NOT NULL,
    sharing_group   TEXT REFERENCES sharing_groups(id) ON DELETE RESTRICT,
    submitted_at    INTEGER NOT NULL,
    -- The Date header when it is plausible, else submitted_at: the campaign timeline.
    seen_at         INTEGER NOT NULL,
    subject         TEXT NOT NULL,
    mail_from       TEXT NOT NULL,
    score           INTEGER NOT NULL,
    sha256          TEXT NOT NULL,
    size            INTEGER NOT NULL,
    campaign_id     TEXT NOT NULL REFERENCES mail_campaigns(id) ON DELETE RESTRICT,
    -- Extracted files not kept because the per-analysis sample limit was reached.
    samples_dropped INTEGER NOT NULL DEFAULT 0,
    features        TEXT NOT NULL,
    analysis        TEXT NOT NULL,
    search_text     TEXT NOT NULL
);
CREATE INDEX mail_analyses_owner ON mail_analyses(owner_org);
CREATE INDEX mail_analyses_campaign ON mail_analyses(campaign_id);
CREATE INDEX mail_analyses_sha256 ON mail_analyses(sha256);

CREATE TABLE mail_analysis_recipients (
    object_id TEXT NOT NULL REFERENCES mail_analyses(id) ON DELETE CASCADE,
    org_id    TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    PRIMARY KEY (object_id, org_id)
);
CREATE INDEX mail_analysis_recipients_org ON mail_analysis_recipients(org_id);

-- The sample files of an analysis: the original message and every extracted file. Bytes live
-- content-addressed under <data>/samples/sha256/; rows name them.
CREATE TABLE mail_sample_files (
    analysis_id TEXT NOT NULL REFERENCES mail_analyses(id) ON DELETE CASCADE,
    sha256      TEXT NOT NULL,
    role        TEXT NOT NULL,
    name        TEXT,
    size        INTEGER NOT NULL,
    PRIMARY KEY (analysis_id, sha256)
);
CREATE INDEX mail_sample_files_sha256 ON mail_sample_files(sha256);

-- The weighted feature tokens of an analysis (mamori_mail::Features::tokens): the campaign
-- assignment finds candidates through the token index and compares token sets.
CREATE TABLE mail_analysis_tokens (
    analysis_id TEXT NOT NULL REFERENCES mail_analyses(id) ON DELETE CASCADE,
    token       TEXT NOT NULL,
    weight      REAL NOT NULL,
    PRIMARY KEY (analysis_id, token)
);
CREATE INDEX mail_analysis_tokens_token ON mail_analysis_tokens(token, weight);
