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

-- The single-append function of earlier versions, kept for instances of an older version that share the
-- database during an upgrade; this version appends through evident_append_batch below.
--
-- Global order without skips (ARCHITECTURE.md §3). The transaction id and the positions of an append
-- are taken together under a short advisory lock, so position order equals transaction-id order.
-- Readers only return rows whose transaction is older than the snapshot's xmin, i.e. finished: a row
-- they return can never be overtaken later by a smaller position that was still in flight.
CREATE OR REPLACE FUNCTION evident_append(
  p_stream text, p_expected text, p_ids uuid[], p_types text[], p_versions int[], p_data text[], p_metadata text[]
) RETURNS TABLE (next_revision bigint, last_position bigint, replayed boolean)
LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan AS $fn$
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


-- Group commit: the appends of many callers in one transaction and one round trip. Appends are given
-- as parallel arrays: p_streams/p_expected/p_counts per append, the events of all appends concatenated
-- in p_ids/p_types/p_versions/p_data/p_metadata. The caller orders the appends by stream (keeping their
-- order within a stream), so concurrent batches lock stream rows in the same order and cannot deadlock
-- on each other.
--
-- Global order: as in evident_append, the transaction id and the positions of ALL events of the batch
-- are taken in one step under the short advisory lock. Each append then runs in its own
-- subtransaction: lock the stream row, idempotency check (after the lock, so that a retry racing its
-- original sees it committed), expected-revision check, insert at its pre-allocated positions, update
-- the revision. An append that fails or replays rolls back alone and leaves its positions unused:
-- positions have gaps, but a reader never skips an event, because a transaction's positions are all
-- allocated before any later transaction's.
--
-- One row per append: status ok | replayed (next_revision, last_position), wrong_revision
-- (next_revision = the current revision, -1 for no stream), duplicate, retry (a unique-violation race
-- or deadlock with another batch: run it again), invalid (data rejected by jsonb; detail = message),
-- error (anything else; detail = SQLSTATE, a colon, the message).
--
-- Plans: a plan that plpgsql caches while the table is small (a sequential scan of evident_events)
-- stays in use on that connection as the table grows, until it reconnects. The statements that look
-- rows up by a set of keys therefore run through EXECUTE, planned for the table of the moment; the rest
-- (inserts, key updates, plain expressions) keep their cached plans, which cannot go bad this way.
-- (plan_cache_mode = force_custom_plan on the whole function also avoids it but replans every statement
-- of every call, probably the loops' expressions too: 0.37 against 0.14 ms for a batch of two appends,
-- see docs/benchmarks.md. evident_append, a handful of statements per call, keeps that setting.)
CREATE OR REPLACE FUNCTION evident_append_batch(
  p_streams text[], p_expected text[], p_counts int[],
  p_ids uuid[], p_types text[], p_versions int[], p_data text[], p_metadata text[]
) RETURNS TABLE (append_index int, status text, next_revision bigint, last_position bigint, detail text)
LANGUAGE plpgsql AS $fn$
DECLARE
  total int := cardinality(p_ids);
  tx xid8;
  first_position bigint;
  offs int := 0;
  n int;
  s text;
  expected text;
  ids uuid[];
  found_count int;
  consistent boolean;
  current_revision bigint;
  err_detail text;
  err_state text;
  appends int := cardinality(p_streams);
  fast boolean;
  j int;
  l_streams text[];
  l_revs bigint[];
  a_ok boolean[];
  a_base bigint[];
  a_offs int[];
BEGIN
  PERFORM pg_advisory_lock(1163282756);
  BEGIN
    tx := pg_current_xact_id();
    first_position := nextval('evident_global_position');
    IF total > 1 THEN
      PERFORM setval('evident_global_position', first_position + total - 1);
    END IF;
  EXCEPTION WHEN OTHERS THEN
    PERFORM pg_advisory_unlock(1163282756);
    RAISE;
  END;
  PERFORM pg_advisory_unlock(1163282756);

  -- Fast path, the usual case: new event ids only. All stream rows locked in one statement (in one
  -- order), the expected revisions checked in memory, all events inserted and all streams updated in
  -- one statement each, in one subtransaction. Anything unusual (an id seen before, invalid data, a
  -- race with another batch) rolls it back and the appends go one by one below.
  -- A batch of one append goes the short way directly (fewer statements).
  IF appends > 1 THEN
    EXECUTE 'SELECT count(DISTINCT x) = $2 AND NOT EXISTS (SELECT 1 FROM evident_events e WHERE e.event_id = ANY($1))
               FROM unnest($1) AS x' INTO fast USING p_ids, total;
  ELSE
    fast := false;
  END IF;
  IF fast THEN
    BEGIN
      EXECUTE 'SELECT array_agg(l.stream_id), array_agg(l.revision)
                 FROM (SELECT st.stream_id, st.revision FROM evident_streams st WHERE st.stream_id = ANY($1)
                       ORDER BY st.stream_id COLLATE "C" FOR UPDATE) l' INTO l_streams, l_revs USING p_streams;
      FOR i IN 1 .. appends LOOP
        n := p_counts[i];
        expected := p_expected[i];
        j := array_position(l_streams, p_streams[i]);
        IF j IS NULL THEN
          l_streams := l_streams || p_streams[i];
          l_revs := l_revs || (-1)::bigint;
          j := cardinality(l_streams);
        END IF;
        current_revision := l_revs[j];
        a_offs[i] := offs;
        a_base[i] := current_revision;
        a_ok[i] := NOT (expected = 'no_stream' AND current_revision <> -1
          OR expected = 'stream_exists' AND current_revision = -1
          OR expected NOT IN ('any', 'no_stream', 'stream_exists') AND current_revision <> expected::bigint);
        IF a_ok[i] THEN
          l_revs[j] := current_revision + n;
        END IF;
        offs := offs + n;
      END LOOP;

      INSERT INTO evident_events (global_position, transaction_id, event_id, stream_id, revision, type, schema_version, data, metadata)
      SELECT first_position + k - 1, tx, p_ids[k], p_streams[o], a_base[o] + (k - a_offs[o]), p_types[k], p_versions[k],
             p_data[k]::jsonb, p_metadata[k]::jsonb
        FROM generate_subscripts(p_streams, 1) AS o, generate_series(a_offs[o] + 1, a_offs[o] + p_counts[o]) AS k
       WHERE a_ok[o];

      INSERT INTO evident_streams AS st (stream_id, revision)
      SELECT p_streams[o], max(a_base[o] + p_counts[o]) FROM generate_subscripts(p_streams, 1) AS o
       WHERE a_ok[o] GROUP BY p_streams[o] ORDER BY p_streams[o] COLLATE "C"
      ON CONFLICT (stream_id) DO UPDATE SET revision = EXCLUDED.revision;
    EXCEPTION WHEN OTHERS THEN
      fast := false;
    END;
  END IF;
  IF fast THEN
    IF true = ANY(a_ok) THEN
      PERFORM pg_notify('evident_events', '');
    END IF;
    RETURN QUERY SELECT o, CASE WHEN a_ok[o] THEN 'ok' ELSE 'wrong_revision' END,
        CASE WHEN a_ok[o] THEN a_base[o] + p_counts[o] ELSE a_base[o] END,
        CASE WHEN a_ok[o] THEN first_position + a_offs[o] + p_counts[o] - 1 END, NULL::text
      FROM generate_subscripts(p_streams, 1) AS o;
    RETURN;
  END IF;

  offs := 0;
  FOR i IN 1 .. appends LOOP
    n := p_counts[i];
    s := p_streams[i];
    expected := p_expected[i];
    ids := p_ids[offs + 1 : offs + n];
    BEGIN
      INSERT INTO evident_streams AS st (stream_id, revision) VALUES (s, -1) ON CONFLICT (stream_id) DO NOTHING;
      SELECT st.revision INTO current_revision FROM evident_streams st WHERE st.stream_id = s FOR UPDATE;

      EXECUTE 'SELECT count(*), coalesce(bool_and(e.stream_id = $2 AND e.revision = m.first_rev + (u.ord - 1)), false)
                 FROM unnest($1) WITH ORDINALITY AS u(id, ord)
                 JOIN evident_events e ON e.event_id = u.id
                 CROSS JOIN (SELECT min(e2.revision) AS first_rev FROM evident_events e2 WHERE e2.event_id = ANY($1)) m'
        INTO found_count, consistent USING ids, s;
      IF found_count > 0 THEN
        IF found_count <> n OR NOT consistent THEN
          RAISE EXCEPTION 'duplicate event ids' USING ERRCODE = 'EV002';
        END IF;
        RETURN QUERY EXECUTE 'SELECT $2, ''replayed''::text, max(e.revision), max(e.global_position), NULL::text
          FROM evident_events e WHERE e.event_id = ANY($1)' USING ids, i;
      ELSE
        IF expected = 'no_stream' AND current_revision <> -1
           OR expected = 'stream_exists' AND current_revision = -1
           OR expected NOT IN ('any', 'no_stream', 'stream_exists') AND current_revision <> expected::bigint THEN
          RAISE EXCEPTION 'wrong expected revision' USING ERRCODE = 'EV001', DETAIL = current_revision::text;
        END IF;

        INSERT INTO evident_events (global_position, transaction_id, event_id, stream_id, revision, type, schema_version, data, metadata)
        SELECT first_position + offs + u.ord - 1, tx, u.id, s, current_revision + u.ord, p_types[offs + u.ord],
               p_versions[offs + u.ord], p_data[offs + u.ord]::jsonb, p_metadata[offs + u.ord]::jsonb
          FROM unnest(ids) WITH ORDINALITY AS u(id, ord);

        UPDATE evident_streams st SET revision = current_revision + n WHERE st.stream_id = s;
        PERFORM pg_notify('evident_events', '');
        RETURN QUERY SELECT i, 'ok'::text, current_revision + n, first_position + offs + n - 1, NULL::text;
      END IF;
    EXCEPTION
      WHEN SQLSTATE 'EV001' THEN
        GET STACKED DIAGNOSTICS err_detail = PG_EXCEPTION_DETAIL;
        RETURN QUERY SELECT i, 'wrong_revision'::text, err_detail::bigint, NULL::bigint, NULL::text;
      WHEN SQLSTATE 'EV002' THEN
        RETURN QUERY SELECT i, 'duplicate'::text, NULL::bigint, NULL::bigint, NULL::text;
      WHEN unique_violation OR deadlock_detected THEN
        GET STACKED DIAGNOSTICS err_detail = CONSTRAINT_NAME;
        RETURN QUERY SELECT i, 'retry'::text, NULL::bigint, NULL::bigint, err_detail;
      WHEN invalid_text_representation OR untranslatable_character THEN
        GET STACKED DIAGNOSTICS err_detail = MESSAGE_TEXT;
        RETURN QUERY SELECT i, 'invalid'::text, NULL::bigint, NULL::bigint, err_detail;
      WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS err_detail = MESSAGE_TEXT, err_state = RETURNED_SQLSTATE;
        RETURN QUERY SELECT i, 'error'::text, NULL::bigint, NULL::bigint, err_state || ':' || err_detail;
    END;
    offs := offs + n;
  END LOOP;
END
$fn$;
