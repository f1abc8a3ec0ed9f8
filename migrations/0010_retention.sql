-- Retention and legal hold (src/projections/retention-projection.ts, docs/audit.md).
-- The policy: days each kind of data is kept after its last activity; NULL keeps it forever.
CREATE TABLE retention_policy (
  kind text PRIMARY KEY,
  days int,
  updated_at timestamptz NOT NULL
);

-- Holds in force (a lifted hold's row is removed; its history stays in the log). owner_id is the person
-- the held data belongs to; the reason is an admin's note (a case reference), not personal data.
CREATE TABLE legal_holds (
  target text NOT NULL CHECK (target IN ('person', 'conversation')),
  target_id text NOT NULL,
  hold_id text NOT NULL,
  owner_id text NOT NULL,
  reason text NOT NULL,
  placed_by text,
  placed_at timestamptz NOT NULL,
  placed_seq bigint NOT NULL,
  PRIMARY KEY (target, target_id)
);
CREATE INDEX legal_holds_owner ON legal_holds (owner_id);
CREATE INDEX legal_holds_seq ON legal_holds (placed_seq);
