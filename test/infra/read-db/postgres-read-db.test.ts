import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LEASE_LOCK_NAMESPACE, PostgresReadDb, type PostgresLease } from '../../../src/infra/read-db/postgres-read-db.ts';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../../support/postgres.ts';
import { readDbContract, uniqueName } from './read-db.contract.ts';

const skip = postgresSkipReason('PostgresReadDb');

describe.skipIf(skip !== undefined)('PostgresReadDb', () => {
  let database: TestDatabase;
  const opened: PostgresReadDb[] = [];
  async function open(): Promise<PostgresReadDb> {
    const db = await PostgresReadDb.open({ connectionString: database.url, poolSize: 4 });
    opened.push(db);
    return db;
  }

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((db) => db.close()));
  });
  afterAll(async () => {
    await database?.drop();
  });

  readDbContract('PostgreSQL', () => PostgresReadDb.open({ connectionString: database.url, poolSize: 4 }));

  it('gives a lease to one instance at a time', async () => {
    const [a, b] = [await open(), await open()];
    const name = uniqueName('projection');
    const held = await a.tryLease(name);
    expect(held).not.toBeNull();
    expect(await b.tryLease(name)).toBeNull();
    expect(await a.tryLease(name)).toBeNull(); // not re-entrant inside one instance either
    expect(await b.tryLease(uniqueName('other'))).not.toBeNull();
    await held!.release();
    const taken = await b.tryLease(name);
    expect(taken).not.toBeNull();
    expect(await a.tryLease(name)).toBeNull();
    await taken!.release();
  });

  it('frees a lease when its holder closes', async () => {
    const [a, b] = [await open(), await open()];
    const name = uniqueName('projection');
    expect(await a.tryLease(name)).not.toBeNull();
    await a.close();
    expect(await b.tryLease(name)).not.toBeNull();
  });

  it('signals a lease lost with its connection, and the lock is free again', async () => {
    const [a, b] = [await open(), await open()];
    const name = uniqueName('projection');
    const lease = (await a.tryLease(name)) as PostgresLease;
    expect(lease.lost.aborted).toBe(false);
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND granted
           AND objid = hashtext($2)::oid`,
        [LEASE_LOCK_NAMESPACE, name],
      );
    } finally {
      await admin.end();
    }
    await new Promise<void>((resolve) => {
      if (lease.lost.aborted) resolve();
      else lease.lost.addEventListener('abort', () => resolve(), { once: true });
    });
    expect(await b.tryLease(name)).not.toBeNull();
    await lease.release(); // harmless
    // A new lease connection is opened on demand.
    expect(await a.tryLease(uniqueName('after'))).not.toBeNull();
  });
});
