import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresBlobStore } from '../../../src/infra/blob-store/postgres-blob-store.ts';
import { blobRef, ownerRef } from '../../../src/infra/blob-store/references.ts';
import { PersonalDataCodec } from '../../../src/infra/personal-data/codec.ts';
import { SqliteKeyStore } from '../../../src/infra/personal-data/sqlite-key-store.ts';
import { blobStoreContract, type Damage } from '../../contract/blob-store.contract.ts';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../../support/postgres.ts';

const BLOB = 'SELECT blob_id FROM evident_blobs WHERE owner_ref = $1 AND blob_ref = $2';

const DAMAGE: Record<Damage, string> = {
  'flip-segment-byte': `UPDATE evident_blob_segments SET bytes = set_byte(bytes, 5, get_byte(bytes, 5) # 1)
    WHERE blob_id = (${BLOB}) AND segment = 0`,
  'flip-header-byte': `UPDATE evident_blobs SET header = set_byte(header, length(header) - 50, get_byte(header, length(header) - 50) # 1)
    WHERE blob_id = (${BLOB})`,
  'drop-last-segment': `DELETE FROM evident_blob_segments WHERE blob_id = (${BLOB})
    AND segment = (SELECT max(segment) FROM evident_blob_segments WHERE blob_id = (${BLOB}))`,
  'cut-tail': `UPDATE evident_blob_segments SET bytes = substring(bytes FROM 1 FOR length(bytes) - 1) WHERE blob_id = (${BLOB})
    AND segment = (SELECT max(segment) FROM evident_blob_segments WHERE blob_id = (${BLOB}))`,
  'swap-first-segments': `UPDATE evident_blob_segments s SET bytes = o.bytes FROM evident_blob_segments o
    WHERE s.blob_id = (${BLOB}) AND o.blob_id = s.blob_id AND s.segment IN (0, 1) AND o.segment = 1 - s.segment`,
};

const skip = postgresSkipReason('PostgresBlobStore');

describe.skipIf(skip !== undefined)('PostgresBlobStore', () => {
  let database: TestDatabase;
  let admin: pg.Client;
  beforeAll(async () => {
    database = await createTestDatabase();
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await database?.drop();
  });

  it('creates its tables once even when instances start together', async () => {
    const keyStore = new SqliteKeyStore(':memory:');
    const keys = new PersonalDataCodec({ keyStore, masterKey: randomBytes(32), rules: {} });
    const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresBlobStore.open({ connectionString: database.url, keys })));
    for (const store of stores) await store.close();
    await keyStore.close();
  });

  blobStoreContract('postgres', async () => {
    const keyStore = new SqliteKeyStore(':memory:');
    const codec = new PersonalDataCodec({ keyStore, masterKey: randomBytes(32), rules: {} });
    const open = () => PostgresBlobStore.open({ connectionString: database.url, keys: codec });
    const store = await open();
    const refs = (ownerId: string, sha256: string) => [ownerRef(ownerId), blobRef(ownerId, sha256)];
    return {
      store,
      codec,
      reopen: open,
      damage: async (ownerId, sha256, how) => {
        const result = await admin.query(DAMAGE[how], refs(ownerId, sha256));
        expect(result.rowCount).toBeGreaterThan(0);
      },
      transplant: async (ownerId, fromSha, toSha) => {
        const [to] = (await admin.query<{ blob_id: string }>(BLOB, refs(ownerId, toSha))).rows;
        const [from] = (await admin.query<{ blob_id: string }>(BLOB, refs(ownerId, fromSha))).rows;
        await admin.query('BEGIN');
        await admin.query('DELETE FROM evident_blob_segments WHERE blob_id = $1', [to!.blob_id]);
        await admin.query(`INSERT INTO evident_blob_segments (blob_id, segment, bytes)
          SELECT $1, segment, bytes FROM evident_blob_segments WHERE blob_id = $2`, [to!.blob_id, from!.blob_id]);
        await admin.query('UPDATE evident_blobs SET header = (SELECT header FROM evident_blobs WHERE blob_id = $2) WHERE blob_id = $1',
          [to!.blob_id, from!.blob_id]);
        await admin.query('COMMIT');
      },
      storedItems: async () => {
        const { rows } = await admin.query<{ n: string }>(
          'SELECT (SELECT count(*) FROM evident_blobs) + (SELECT count(*) FROM evident_blob_segments) AS n',
        );
        return Number(rows[0]!.n);
      },
      storageContains: async (needle) => {
        const { rows } = await admin.query<{ found: boolean }>(
          `SELECT EXISTS (SELECT 1 FROM evident_blob_segments WHERE position($1::bytea IN bytes) > 0)
              OR EXISTS (SELECT 1 FROM evident_blobs WHERE position($1::bytea IN header) > 0
                OR position($1::bytea IN owner_ref) > 0 OR position($1::bytea IN blob_ref) > 0) AS found`,
          [needle],
        );
        return rows[0]!.found;
      },
      dispose: async () => {
        await store.close();
        await keyStore.close();
      },
    };
  });
});
