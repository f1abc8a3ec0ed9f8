import type { ReadDb, SqlExecutor } from '../../infra/read-db/port.ts';

/** The checkpoint row moved under us: another instance ran this projection (our lease was lost). */
export class CheckpointConflictError extends Error {
  constructor(projection: string, expected: bigint, actual: bigint | undefined) {
    super(`Checkpoint of projection "${projection}" is at ${String(actual)}, expected ${expected}: another instance ran it`);
    this.name = 'CheckpointConflictError';
  }
}

export interface CheckpointRow {
  name: string;
  position: string;
  /** Projection.version of the code that built the read model (1 for rows older than the column). */
  version: number;
  last_error: string | null;
  failed_position: string | null;
  failed_event_id: string | null;
}

const CLEAR_FAILURE = 'last_error = NULL, failed_position = NULL, failed_event_id = NULL';
const COLUMNS = 'name, position, version, last_error, failed_position, failed_event_id';

/**
 * Projection checkpoints (table projection_checkpoints): where each read model stands in $all, and
 * the event it is stopped at, if any. The position moves only inside the read-model transaction.
 */
export class ProjectionCheckpoints {
  private readonly db: ReadDb;

  constructor(db: ReadDb) {
    this.db = db;
  }

  /** A new row starts at position 0 with `version`: nothing is built yet, so nothing was built by older code. */
  async ensure(name: string, version = 1): Promise<void> {
    await this.db.query('INSERT INTO projection_checkpoints (name, version) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, version]);
  }

  async load(name: string, version = 1): Promise<CheckpointRow> {
    await this.ensure(name, version);
    const rows = await this.read([name]);
    return rows.get(name)!;
  }

  async read(names: readonly string[]): Promise<Map<string, CheckpointRow>> {
    const { rows } = await this.db.query<CheckpointRow>(
      `SELECT ${COLUMNS} FROM projection_checkpoints WHERE name = ANY($1::text[])`, [names]);
    return new Map(rows.map((row) => [row.name, row]));
  }

  /** Locks the row for the transaction and checks that nobody else moved it. */
  async lock(tx: SqlExecutor, name: string, expected: bigint): Promise<void> {
    const { rows } = await tx.query<{ position: string }>('SELECT position FROM projection_checkpoints WHERE name = $1 FOR UPDATE', [name]);
    const actual = rows[0] ? BigInt(rows[0].position) : undefined;
    if (actual !== expected) throw new CheckpointConflictError(name, expected, actual);
  }

  async advance(tx: SqlExecutor, name: string, position: bigint): Promise<void> {
    await tx.query(`UPDATE projection_checkpoints SET position = $2, updated_at = now(), ${CLEAR_FAILURE} WHERE name = $1`,
      [name, position.toString()]);
  }

  /** After a rebuild by code of `version`, in the swap transaction. */
  async setVersion(tx: SqlExecutor, name: string, version: number): Promise<void> {
    await tx.query('UPDATE projection_checkpoints SET version = $2 WHERE name = $1', [name, version]);
  }

  async recordFailure(name: string, error: string, position: bigint, eventId: string): Promise<void> {
    await this.db.query(
      'UPDATE projection_checkpoints SET last_error = $2, failed_position = $3, failed_event_id = $4, updated_at = now() WHERE name = $1',
      [name, error, position.toString(), eventId]);
  }

  async clearFailure(name: string): Promise<void> {
    await this.db.query(`UPDATE projection_checkpoints SET ${CLEAR_FAILURE}, updated_at = now() WHERE name = $1`, [name]);
  }
}

/**
 * Reactor checkpoints (table reactor_checkpoints): how far a reactor has read the log. A reactor's
 * effects are new events, so its checkpoint only ever moves forward and is not part of any rebuild.
 */
export class ReactorCheckpoints {
  private readonly db: ReadDb;

  constructor(db: ReadDb) {
    this.db = db;
  }

  async read(name: string): Promise<bigint> {
    const { rows } = await this.db.query<{ position: string }>('SELECT position FROM reactor_checkpoints WHERE name = $1', [name]);
    return rows[0] ? BigInt(rows[0].position) : 0n;
  }

  async save(name: string, position: bigint): Promise<void> {
    await this.db.query(
      `INSERT INTO reactor_checkpoints (name, position, updated_at) VALUES ($1, $2, now())
       ON CONFLICT (name) DO UPDATE SET position = GREATEST(reactor_checkpoints.position, excluded.position), updated_at = excluded.updated_at`,
      [name, position.toString()]);
  }
}
