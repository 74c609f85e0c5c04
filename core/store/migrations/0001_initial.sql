-- framecast schema, version 1. Times are UTC unix seconds (REAL).

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL DEFAULT 'member',   -- global role; scoped grants in role_grants
    tier          TEXT NOT NULL DEFAULT 'free',     -- free | premium
    trial_state   TEXT NOT NULL DEFAULT 'available',-- available | pending | approved | spent
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL
);

CREATE TABLE role_grants (
    user_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    scope    TEXT NOT NULL,                          -- workspace:<id> | context:<id>
    role     TEXT NOT NULL,
    PRIMARY KEY (user_id, scope)
);

CREATE TABLE identities (
    connector     TEXT NOT NULL,                     -- console | telegram | discord
    external_id   TEXT NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    display_name  TEXT NOT NULL,
    linked_at     REAL NOT NULL,
    PRIMARY KEY (connector, external_id)
);

CREATE TABLE pairing_codes (
    code_hash     TEXT PRIMARY KEY,
    connector     TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    chat          TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending',   -- pending | approved | denied | used
    created_at    REAL NOT NULL,
    expires_at    REAL NOT NULL,
    decided_by    TEXT,
    decided_at    REAL
);
CREATE INDEX pairing_codes_identity ON pairing_codes(connector, external_id, state);

CREATE TABLE contexts (
    id            TEXT PRIMARY KEY,                  -- <connector>:<chat>
    workspace     TEXT NOT NULL,
    connector     TEXT NOT NULL,
    chat          TEXT NOT NULL,
    admin_hub     INTEGER NOT NULL DEFAULT 0,
    policy_json   TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE projects (
    id                TEXT PRIMARY KEY,
    user_id           TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace         TEXT NOT NULL,
    name              TEXT NOT NULL,
    created_at        REAL NOT NULL,
    last_interaction  REAL NOT NULL
);

CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id    TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    context_id    TEXT NOT NULL,
    ai_enabled    INTEGER NOT NULL DEFAULT 1,
    code          TEXT,
    code_origin   TEXT,                              -- ai | user
    started_at    REAL NOT NULL,
    last_seen     REAL NOT NULL,
    ended_at      REAL
);
CREATE INDEX sessions_open ON sessions(user_id, context_id, ended_at);

CREATE TABLE jobs (
    id                  TEXT PRIMARY KEY,
    user_id             TEXT NOT NULL,
    workspace           TEXT NOT NULL,
    context_id          TEXT NOT NULL,
    session_id          TEXT,
    kind                TEXT NOT NULL,               -- render | trial | scheduled
    tier                TEXT NOT NULL,               -- free | premium | trial
    prompt              TEXT,
    code                TEXT NOT NULL,
    requested_duration  REAL,
    state               TEXT NOT NULL,               -- queued | running | done | failed | cancelled
    attempts            INTEGER NOT NULL DEFAULT 0,
    error_code          TEXT,
    error_message       TEXT,
    result_json         TEXT,
    created_at          REAL NOT NULL,
    started_at          REAL,
    finished_at         REAL
);
CREATE INDEX jobs_state ON jobs(state, created_at);
CREATE INDEX jobs_user ON jobs(user_id, state);

CREATE TABLE approvals (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,                     -- trial
    user_id       TEXT NOT NULL,
    context_id    TEXT NOT NULL,
    payload_json  TEXT NOT NULL,                     -- e.g. the trial's prompt
    state         TEXT NOT NULL DEFAULT 'pending',   -- pending | approved | denied
    requested_at  REAL NOT NULL,
    decided_by    TEXT,
    decided_at    REAL,
    reason        TEXT,
    job_id        TEXT
);
CREATE INDEX approvals_state ON approvals(state, requested_at);

CREATE TABLE memory (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,                       -- plan | note
    content     TEXT NOT NULL,
    created_at  REAL NOT NULL
);
CREATE INDEX memory_project ON memory(project_id, kind, id);

CREATE TABLE audit (
    seq         INTEGER PRIMARY KEY,
    ts          REAL NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    workspace   TEXT NOT NULL,
    detail_json TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);

CREATE TABLE schedules (
    id          TEXT PRIMARY KEY,
    cron        TEXT NOT NULL,
    prompt      TEXT NOT NULL,
    context_id  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  REAL NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE certificates (
    serial      TEXT PRIMARY KEY,                    -- hex
    user_id     TEXT NOT NULL,
    subject     TEXT NOT NULL,
    not_after   REAL NOT NULL,
    issued_at   REAL NOT NULL,
    revoked_at  REAL
);

CREATE TABLE bootstrap_secrets (
    secret_hash  TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    created_at   REAL NOT NULL,
    used_at      REAL
);
