-- Conversation tools (src/projections/conversations-projection.ts): the message tree, the active
-- branch, pins, tags, and full-text search over one's own titles and messages.

-- The message tree: a user message follows its parent (the active leaf when it was sent; null for a
-- first message); a reply's parent is the message it answers. Siblings share a parent, oldest first by seq.
ALTER TABLE messages ADD COLUMN parent_id text;
-- The message an edit revises (it is its sibling); null otherwise.
ALTER TABLE messages ADD COLUMN edited_message_id text;
CREATE INDEX messages_parent ON messages (conversation_id, parent_id, seq);

-- The end of the active branch; the default message list is the path root → active_leaf_id.
ALTER TABLE conversations ADD COLUMN active_leaf_id text;
ALTER TABLE conversations ADD COLUMN pinned boolean NOT NULL DEFAULT false;
-- The owner's tags as they spell them (personal: they go with the row on erasure).
ALTER TABLE conversations ADD COLUMN tags jsonb NOT NULL DEFAULT '[]'::jsonb;
-- Pinned first, then newest first.
CREATE INDEX conversations_owner_pinned_list ON conversations (owner_id, archived, pinned DESC, created_at DESC, conversation_id DESC);

-- Full-text search, language-neutral ('simple': lower-cased words, no stemming), derived from the
-- text columns: an erased or deleted row's text leaves the index with the row (and the scrub after
-- an erasure rewrites both tables, indexes included).
ALTER TABLE messages ADD COLUMN content_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(content, ''))) STORED;
CREATE INDEX messages_content_tsv ON messages USING gin (content_tsv);
ALTER TABLE conversations ADD COLUMN title_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(title, ''))) STORED;
CREATE INDEX conversations_title_tsv ON conversations USING gin (title_tsv);

-- Rows projected before this migration come from linear logs (no parentId): each message follows the
-- one before it, a reply the message it answers, and the newest message is the active leaf — exactly
-- how the projection reads those events.
UPDATE messages m SET parent_id = CASE WHEN m.role = 'assistant' THEN m.in_reply_to ELSE p.previous END
  FROM (SELECT message_id, lag(message_id) OVER (PARTITION BY conversation_id ORDER BY seq) AS previous FROM messages) p
  WHERE p.message_id = m.message_id;
UPDATE conversations c SET active_leaf_id =
  (SELECT m.message_id FROM messages m WHERE m.conversation_id = c.conversation_id ORDER BY m.seq DESC LIMIT 1);
