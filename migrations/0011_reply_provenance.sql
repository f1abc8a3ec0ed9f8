-- Reply provenance (src/projections/conversations-projection.ts, docs/audit.md "Reply provenance"):
-- { providerModel, requestedModel, params, systemPromptSha256, promptSha256, inReplyTo, sources, provider }
-- of finished replies; NULL for user messages, interrupted replies and replies recorded before it existed.
ALTER TABLE messages ADD COLUMN provenance jsonb;
