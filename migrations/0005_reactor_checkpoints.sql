-- How far each reactor (a process manager that acts on events, e.g. assistant replies) has read the log.
-- Unlike a projection's, a reactor's effects are new events, so this is not part of any rebuild.
CREATE TABLE reactor_checkpoints (
  name text PRIMARY KEY,
  position bigint NOT NULL,
  updated_at timestamptz NOT NULL
);
