-- Read model of share links (src/projections/shares-projection.ts): one row per share that is not
-- revoked. Deleting or expiring the conversation, or erasing its owner, deletes its rows: the link dies.
-- Only the sha256 of the token is kept (the token is shown once, to the owner).
CREATE TABLE conversation_shares (
  share_id text PRIMARY KEY,
  token_hash text NOT NULL UNIQUE,
  conversation_id text NOT NULL,
  owner_id text NOT NULL,
  conversation_revision bigint NOT NULL,
  expires_at timestamptz,
  created_at timestamptz NOT NULL
);
CREATE INDEX conversation_shares_conversation ON conversation_shares (conversation_id);
CREATE INDEX conversation_shares_owner ON conversation_shares (owner_id);
