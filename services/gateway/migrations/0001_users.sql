-- The gateway keeps users and sessions only: no domain state (DESIGN.md §3).
CREATE TABLE users (
    username      text PRIMARY KEY,
    display_name  text NOT NULL,
    role          text NOT NULL,
    dept_code     text,              -- department users: the department they speak for
    delegate_id   text,              -- delegates and group leaders: their own delegate record
    group_id      text,              -- group leaders: the group they lead
    password_hash text NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
    token_hash   text PRIMARY KEY,   -- sha256 of the cookie value; the value itself is never stored
    username     text NOT NULL REFERENCES users ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (username);

CREATE TABLE api_tokens (
    token_hash   text PRIMARY KEY,
    username     text NOT NULL REFERENCES users ON DELETE CASCADE,
    label        text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (username);

CREATE TABLE login_failures (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username  text NOT NULL,
    client    text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_user ON login_failures (username, at);
CREATE INDEX login_failures_client ON login_failures (client, at);
