CREATE SEQUENCE IF NOT EXISTS evident_global_position;

CREATE TABLE IF NOT EXISTS evident_streams (
  stream_id text PRIMARY KEY,
  revision bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS evident_events (
  global_position bigint PRIMARY KEY,
  transaction_id xid8 NOT NULL,
  event_id uuid NOT NULL UNIQUE,
  stream_id text NOT NULL,
  revision bigint NOT NULL,
  type text NOT NULL,
  schema_version int NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL,
  UNIQUE (stream_id, revision)
);

-- Global order without skips (ARCHITECTURE.md §3). The transaction id and the positions of an append
-- are taken together under a short advisory lock, so position order equals transaction-id order.
-- Readers only return rows whose transaction is older than the snapshot's xmin, i.e. finished: a row
-- they return can never be overtaken later by a smaller position that was still in flight.
CREATE OR REPLACE FUNCTION evident_append(
  p_stream text, p_expected text, p_ids uuid[], p_types text[], p_versions int[], p_data text[], p_metadata text[]
) RETURNS TABLE (next_revision bigint, last_position bigint, replayed boolean)
LANGUAGE plpgsql AS $fn$
DECLARE
  n int := cardinality(p_ids);
  found_count int;
  consistent boolean;
  current_revision bigint;
  tx xid8;
  first_position bigint;
BEGIN
  SELECT count(*), coalesce(bool_and(e.stream_id = p_stream AND e.revision = m.first_rev + (u.ord - 1)), false)
    INTO found_count, consistent
    FROM unnest(p_ids) WITH ORDINALITY AS u(id, ord)
    JOIN evident_events e ON e.event_id = u.id
    CROSS JOIN (SELECT min(revision) AS first_rev FROM evident_events WHERE event_id = ANY(p_ids)) m;
  IF found_count > 0 THEN
    IF found_count = n AND consistent THEN
      RETURN QUERY SELECT max(e.revision), max(e.global_position), true FROM evident_events e WHERE e.event_id = ANY(p_ids);
      RETURN;
    END IF;
    RAISE EXCEPTION 'duplicate event ids' USING ERRCODE = 'EV002';
  END IF;

  PERFORM pg_advisory_lock(1163282756);
  BEGIN
    tx := pg_current_xact_id();
    first_position := nextval('evident_global_position');
    IF n > 1 THEN
      PERFORM setval('evident_global_position', first_position + n - 1);
    END IF;
  EXCEPTION WHEN OTHERS THEN
    PERFORM pg_advisory_unlock(1163282756);
    RAISE;
  END;
  PERFORM pg_advisory_unlock(1163282756);

  INSERT INTO evident_streams AS s (stream_id, revision) VALUES (p_stream, -1) ON CONFLICT (stream_id) DO NOTHING;
  SELECT s.revision INTO current_revision FROM evident_streams s WHERE s.stream_id = p_stream FOR UPDATE;

  IF p_expected = 'no_stream' AND current_revision <> -1
     OR p_expected = 'stream_exists' AND current_revision = -1
     OR p_expected NOT IN ('any', 'no_stream', 'stream_exists') AND current_revision <> p_expected::bigint THEN
    RAISE EXCEPTION 'wrong expected revision' USING ERRCODE = 'EV001', DETAIL = current_revision::text;
  END IF;

  INSERT INTO evident_events (global_position, transaction_id, event_id, stream_id, revision, type, schema_version, data, metadata)
  SELECT first_position + u.ord - 1, tx, u.id, p_stream, current_revision + u.ord, p_types[u.ord], p_versions[u.ord],
         p_data[u.ord]::jsonb, p_metadata[u.ord]::jsonb
    FROM unnest(p_ids) WITH ORDINALITY AS u(id, ord);

  UPDATE evident_streams SET revision = current_revision + n WHERE stream_id = p_stream;
  RETURN QUERY SELECT current_revision + n, first_position + n - 1, false;
END
$fn$;
