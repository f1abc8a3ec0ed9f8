-- API keys (src/projections/api-keys-projection.ts): the sha256 of each key, never the key.
CREATE TABLE api_keys (
  key_id text PRIMARY KEY,
  owner_id text NOT NULL,
  name text,
  scopes jsonb NOT NULL,
  token_hash text NOT NULL UNIQUE,
  display_prefix text NOT NULL,
  created_position bigint NOT NULL,
  created_at timestamptz NOT NULL,
  revoked_at timestamptz
);
CREATE INDEX api_keys_owner ON api_keys (owner_id, created_at);

-- When each key was last used, written by authentication at most once a minute per key and instance.
-- Operational telemetry, not a fact of the log (like reply drafts): no projection owns it, so rebuilds
-- and replays leave it alone. Only ids and a time.
CREATE TABLE api_key_last_use (
  key_id text PRIMARY KEY,
  last_used_at timestamptz NOT NULL
);

-- Usage (src/projections/usage-projection.ts): replies and tokens per person, model and UTC day.
CREATE TABLE usage_daily (
  user_id text NOT NULL,
  day date NOT NULL,
  model text NOT NULL,
  requests integer NOT NULL DEFAULT 0,
  prompt_tokens bigint NOT NULL DEFAULT 0,
  completion_tokens bigint NOT NULL DEFAULT 0,
  total_tokens bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, day, model)
);
CREATE INDEX usage_daily_day ON usage_daily (day);
-- Replies started and not yet finished: whose they are and which model was asked for.
CREATE TABLE usage_open_replies (
  reply_id text PRIMARY KEY,
  user_id text NOT NULL,
  model text NOT NULL
);
CREATE INDEX usage_open_replies_user ON usage_open_replies (user_id);
CREATE TABLE token_quotas (
  user_id text PRIMARY KEY,
  tokens_per_day bigint NOT NULL
);
