-- Which version of a projection's code built its read model (Projection.version, src/projections/projection.ts).
-- Rows that exist now were built by version 1; a projection whose code is newer is rebuilt (replay
-- into fresh tables, then swap) when the runner next takes its lease, and the row records the new version.
ALTER TABLE projection_checkpoints ADD COLUMN version int NOT NULL DEFAULT 1;
