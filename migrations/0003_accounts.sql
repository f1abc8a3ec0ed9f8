-- Accounts: roles, the position of the latest password change, and login sessions.
ALTER TABLE users ADD COLUMN role text;
-- Sessions that started before this position (the last password change) are no longer valid.
ALTER TABLE users ADD COLUMN credentials_position bigint NOT NULL DEFAULT 0;

CREATE TABLE sessions (
  session_id text PRIMARY KEY,
  user_id text NOT NULL,
  token_hash text NOT NULL UNIQUE,
  started_position bigint NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  ended_at timestamptz
);
CREATE INDEX sessions_user ON sessions (user_id);
