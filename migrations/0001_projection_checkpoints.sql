-- One row per projection: where its read model stands in $all, written in the same transaction as
-- the read-model change (ARCHITECTURE.md §4). A poison event is recorded here until a retry.
CREATE TABLE projection_checkpoints (
  name text PRIMARY KEY,
  position bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  last_error text,
  failed_position bigint,
  failed_event_id text
);
