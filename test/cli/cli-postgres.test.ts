// The `evident` CLI against PostgreSQL (log, keys and read models: DATABASE_URL), beside a running app.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../support/postgres.ts';
import { prepareWorkload, runCli, runJson, type Workload } from './support.ts';

const skip = postgresSkipReason('evident CLI on PostgreSQL');

interface CompareJson {
  equal: boolean;
  scratch: string;
  tables: Array<{ table: string; liveRows: number; equal: boolean; differences?: Array<{ key: string; kind: string }> }>;
}

describe.skipIf(skip !== undefined)('evident CLI (PostgreSQL, beside a running server)', () => {
  let db: TestDatabase;
  let w: Workload;

  beforeAll(async () => {
    db = await createTestDatabase();
    // The app stays open: the CLI must work beside a running server when the stores are in PostgreSQL.
    w = await prepareWorkload({ env: { DATABASE_URL: db.url, MASTER_KEY: randomBytes(32).toString('base64') }, keepOpen: true });
  });

  afterAll(async () => {
    await w?.close();
    await db?.drop();
  });

  async function scratchSchemas(): Promise<string[]> {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ nspname: string }>("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'evident_scratch_%'");
      return rows.map((row) => row.nspname);
    } finally {
      await client.end();
    }
  }

  it('replay --compare: equal after the workload, in a scratch schema dropped afterwards; a tampered row is found', { timeout: 600_000 }, async () => {
    const equal = await runJson<CompareJson>(['replay', '--compare'], w.env);
    expect(equal).toMatchObject({ equal: true, scratch: 'postgres-schema' });
    expect(equal.tables.find((t) => t.table === 'messages')!.liveRows).toBe(4);
    expect(equal.tables.find((t) => t.table === 'users')!.liveRows).toBe(2);
    expect(await scratchSchemas()).toEqual([]);

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(`UPDATE messages SET content = 'tampered'
        WHERE message_id = (SELECT message_id FROM messages WHERE conversation_id = $1 AND role = 'assistant' ORDER BY seq LIMIT 1)`, [w.conversationId]);
    } finally {
      await client.end();
    }
    const tampered = await runCli(['--json', 'replay', '--compare', '--diff'], w.env);
    expect(tampered.code, tampered.stderr).toBe(1);
    const report = JSON.parse(tampered.stdout) as CompareJson;
    const messages = report.tables.find((t) => t.table === 'messages')!;
    expect(messages.equal).toBe(false);
    expect(messages.differences).toEqual([{ key: expect.stringContaining('"'), kind: 'changed' }]);
    expect(report.tables.filter((t) => !t.equal).map((t) => t.table)).toEqual(['messages']);
    expect(await scratchSchemas()).toEqual([]);
  });

  it('events and projections work beside the running server', { timeout: 600_000 }, async () => {
    const events = await runJson<{ events: Array<{ type: string; data: Record<string, unknown> }> }>(['events', '--type', 'UserRegistered'], w.env);
    expect(events.events.map((e) => e.data.email)).toEqual([w.admin.email, w.alice.email, '[erased]']);
    const status = await runJson<{ processors: Array<{ name: string; state: string }> }>(['projections'], w.env);
    expect(status.processors.find((p) => p.name === 'conversations')?.state).toBe('caught-up');
  });
});
