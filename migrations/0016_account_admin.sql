-- Accounts and admin (src/projections/users-projection.ts, src/projections/signup-projection.ts, docs/accounts.md).
-- Where a session was started from (SessionStarted v2, personal: shown to the session's owner only; deleted
-- with the session by erasure and login-record retention). Sessions recorded before this migration show
-- them after a rebuild of the users projection.
ALTER TABLE sessions ADD COLUMN client_address text;
ALTER TABLE sessions ADD COLUMN user_agent text;
-- How it ended: logout, revoked, expired (null while open).
ALTER TABLE sessions ADD COLUMN ended_reason text;
CREATE INDEX users_registered ON users (registered_at, user_id);

-- The sign-up policy: one row once an admin set it (no row: the default, open).
CREATE TABLE signup_policy (
  id int PRIMARY KEY CHECK (id = 1),
  mode text NOT NULL,
  updated_by text,
  updated_at timestamptz NOT NULL
);

-- Invite codes (the code itself is never stored anywhere, not even hashed, in the read model).
CREATE TABLE invites (
  invite_id text PRIMARY KEY,
  created_by text,
  created_at timestamptz NOT NULL,
  created_seq bigint NOT NULL,
  expires_at timestamptz,
  max_uses int,
  uses int NOT NULL DEFAULT 0,
  -- The position of the last InviteRedeemed counted in `uses` (re-applying an event counts nothing).
  redeemed_seq bigint NOT NULL DEFAULT 0,
  revoked_at timestamptz
);
CREATE INDEX invites_created ON invites (created_seq);
