-- Cited answers (src/projections/conversations-projection.ts): the sources a reply's prompt held,
-- and the knowledge a conversation's replies retrieve from.
-- [{ n, documentId, version, chunkId, page, score }], [] for replies without sources (and older ones).
ALTER TABLE messages ADD COLUMN sources jsonb NOT NULL DEFAULT '[]'::jsonb;
-- The whole selection of ConversationKnowledgeAttached; both empty when nothing is attached.
ALTER TABLE conversations ADD COLUMN knowledge_base_ids jsonb NOT NULL DEFAULT '[]'::jsonb;
ALTER TABLE conversations ADD COLUMN document_ids jsonb NOT NULL DEFAULT '[]'::jsonb;
