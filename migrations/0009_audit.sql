-- Audit read model (src/projections/audit-projection.ts): one row per event in the log, ids and
-- non-personal facts only (no personal field's value, ever), so an erasure has nothing to remove here.
CREATE TABLE audit_events (
  position bigint PRIMARY KEY,
  event_id text COLLATE "C" NOT NULL,
  type text COLLATE "C" NOT NULL,
  schema_version int NOT NULL,
  stream text COLLATE "C" NOT NULL,
  -- Null only for a time the database cannot hold (a corrupt event; the log keeps what it says).
  occurred_at timestamptz,
  actor_id text COLLATE "C",
  correlation_id text COLLATE "C",
  causation_id text COLLATE "C",
  request_id text COLLATE "C",
  -- The person the event is about (its data subject, or the userId/ownerId it names), if any.
  subject_id text COLLATE "C",
  -- Names (never values) of the personal fields the event carries, encrypted, in the log.
  personal_fields jsonb NOT NULL DEFAULT '[]'::jsonb,
  -- Ids, numbers and short enumerated values of the event's data (audit-projection.ts: auditSummary).
  summary jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_events_actor ON audit_events (actor_id, position);
CREATE INDEX audit_events_subject ON audit_events (subject_id, position);
CREATE INDEX audit_events_type ON audit_events (type, position);
CREATE INDEX audit_events_stream ON audit_events (stream, position);
CREATE INDEX audit_events_occurred ON audit_events (occurred_at);

-- People whose data was erased (UserDataErased): their audit rows read as erased.
CREATE TABLE audit_erased_subjects (
  subject_id text COLLATE "C" PRIMARY KEY,
  erased_position bigint NOT NULL
);
