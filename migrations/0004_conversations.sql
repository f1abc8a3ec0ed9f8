-- Read model of the Conversation aggregate (src/projections/conversations-projection.ts).
-- Personal fields (title, system_prompt, content) are NULL once their owner's key is erased.
CREATE TABLE conversations (
  conversation_id text PRIMARY KEY,
  owner_id text NOT NULL,
  title text,
  model text,
  system_prompt text,
  params jsonb NOT NULL DEFAULT '{}'::jsonb,
  archived boolean NOT NULL DEFAULT false,
  -- Rows in messages: user messages and assistant replies (streaming or finished).
  message_count int NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  last_message_at timestamptz
);
-- The owner's list, newest first, keyset-paginated on (created_at, conversation_id).
CREATE INDEX conversations_owner_list ON conversations (owner_id, archived, created_at DESC, conversation_id DESC);

-- One row per user message and per assistant reply (message_id = the reply id).
CREATE TABLE messages (
  message_id text PRIMARY KEY,
  conversation_id text NOT NULL,
  owner_id text NOT NULL,
  role text NOT NULL CHECK (role IN ('user', 'assistant')),
  content text,
  status text NOT NULL CHECK (status IN ('complete', 'streaming', 'cancelled', 'failed', 'interrupted')),
  in_reply_to text,
  model text,
  params jsonb,
  usage jsonb,
  time_to_first_token_ms int,
  latency_ms int,
  finish_reason text,
  error_code text,
  error_message text,
  created_at timestamptz NOT NULL,
  completed_at timestamptz,
  -- Position of the event that created the row: the conversation's order.
  seq bigint NOT NULL
);
CREATE INDEX messages_conversation_seq ON messages (conversation_id, seq);
-- Erasing a person drops all their rows.
CREATE INDEX messages_owner ON messages (owner_id);
