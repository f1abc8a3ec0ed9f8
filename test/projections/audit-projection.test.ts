import { readFile } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { currentSchemaVersions } from '../../src/domain/event-versions.ts';
import { personalDataRules } from '../../src/domain/personal-data.ts';
import type { RecordedEvent } from '../../src/infra/event-store/port.ts';
import { PostgresReadDb } from '../../src/infra/read-db/postgres-read-db.ts';
import type { SqlExecutor } from '../../src/infra/read-db/port.ts';
import { auditProjection, auditRecord } from '../../src/projections/audit-projection.ts';
import { auditPage, activityOf, matchesAuditFilter, subjectErased, type AuditFilter } from '../../src/projections/audit-queries.ts';
import { createTestDatabase, postgresSkipReason } from '../support/postgres.ts';

interface Database { tx: SqlExecutor; close(): Promise<void> }

const ADAPTERS: Array<{ name: string; skip: string | undefined; open(): Promise<Database> }> = [
  {
    name: 'PGlite', skip: undefined,
    async open() {
      const db = new PGlite();
      return { tx: db as unknown as SqlExecutor, close: () => db.close() };
    },
  },
  {
    name: 'PostgreSQL', skip: postgresSkipReason('audit read model on PostgreSQL'),
    async open() {
      const database = await createTestDatabase();
      const db = await PostgresReadDb.open({ connectionString: database.url });
      return { tx: db, close: async () => { await db.close(); await database.drop(); } };
    },
  },
];

describe.each(ADAPTERS)('audit read model on $name', (adapter) => {
  describe.skipIf(adapter.skip !== undefined)(adapter.name, () => {
    let database: Database;
    let tx: SqlExecutor;
    let position = 0n;

    beforeAll(async () => {
      database = await adapter.open();
      tx = database.tx;
      await tx.exec(await readFile(new URL('../../migrations/0009_audit.sql', import.meta.url), 'utf8'));
    });

    beforeEach(async () => {
      await tx.exec('TRUNCATE audit_events, audit_erased_subjects');
      position = 0n;
    });

    afterAll(async () => {
      await database?.close();
    });

    const at = (seconds: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, seconds)).toISOString();

    function record(type: string, stream: string, data: Record<string, unknown>, options: { actorId?: string | null; seconds?: number } = {}): RecordedEvent {
      position += 10n;
      return {
        id: `e${position}`, stream, revision: 0n, position, type, schemaVersion: currentSchemaVersions[type] ?? 1, data,
        metadata: {
          actorId: options.actorId === undefined ? 'u1' : options.actorId, correlationId: `corr-${position}`, causationId: `cause-${position}`,
          requestId: `req-${position}`, occurredAt: at(options.seconds ?? Number(position / 10n)),
        },
      };
    }

    async function project(...events: RecordedEvent[]): Promise<void> {
      for (const event of events) await auditProjection.handle(event, tx);
    }

    const everything = async () => (await tx.query<Record<string, unknown>>('SELECT * FROM audit_events ORDER BY position')).rows
      .map((row) => ({ ...row, position: Number(row.position), occurred_at: new Date(row.occurred_at as string).toISOString() }));

    const page = (filter: AuditFilter, options: Partial<Parameters<typeof auditPage>[2]> = {}) =>
      auditPage(tx, filter, { after: null, before: null, limit: 100, inverted: false, newestFirst: false, ...options });

    describe('audit projection', () => {
      it('listens to every event type the code declares', () => {
        expect([...auditProjection.eventTypes].sort()).toEqual(Object.keys(currentSchemaVersions).sort());
        expect(auditProjection.eventTypes).toContain('UserDataErased');
      });

      it('keeps the envelope, the subject, the names of personal fields and non-personal facts, never personal values', async () => {
        await project(
          record('UserRegistered', 'user-u1', { userId: 'u1', email: 'ada@example.com', displayName: 'Ada Lovelace' }, { actorId: null }),
          record('SessionStarted', 'session-s1', { sessionId: 's1', userId: 'u1', tokenHash: 'a'.repeat(64), expiresAt: at(99) }),
          record('LoginFailed', 'login_attempts-abc', { userId: 'u1', reason: 'bad_password', at: at(3) }, { actorId: null }),
          record('UserDeactivated', 'user-u2', { userId: 'u2', reason: 'Bob Smith misbehaved' }),
          record('ConversationStarted', 'conversation-c1', {
            conversationId: 'c1', ownerId: 'u1', title: 'My divorce', model: 'gpt-4o-mini', systemPrompt: 'Be kind', params: { temperature: 0.5 },
          }),
          record('AssistantReplyCompleted', 'conversation-c1', {
            conversationId: 'c1', ownerId: 'u1', replyId: 'r1', text: 'Secret reply text', model: 'gpt-4o-mini', params: {}, usage: null,
            timeToFirstTokenMs: 12, latencyMs: 345, finishReason: 'stop', sources: [{ n: 1, documentId: 'd1', version: 1, chunkId: 'k1', page: null, score: 1 }],
          }, { actorId: null }),
          record('ProjectionEventParked', 'projection_parking-users', {
            projection: 'users', eventId: 'e1', eventType: 'UserRegistered', position: '10', reason: 'Ada asked me to',
          }),
        );
        const rows = await everything();
        expect(rows).toHaveLength(7);
        const json = JSON.stringify(rows);
        for (const secret of ['ada@example.com', 'Ada Lovelace', 'aaaaaaaa', 'Bob Smith', 'My divorce', 'Be kind', 'Secret reply', 'Ada asked']) {
          expect(json, secret).not.toContain(secret);
        }
        const [registered, session, failed, deactivated, started, completed, parked] = rows;
        expect(registered).toMatchObject({
          position: 10, event_id: 'e10', type: 'UserRegistered', stream: 'user-u1', actor_id: null, correlation_id: 'corr-10',
          causation_id: 'cause-10', request_id: 'req-10', subject_id: 'u1', personal_fields: ['email', 'displayName'], summary: { userId: 'u1' },
        });
        expect(registered!.occurred_at).toBe(at(1));
        expect(session).toMatchObject({ subject_id: 'u1', summary: { sessionId: 's1', userId: 'u1' } });
        expect(failed).toMatchObject({ subject_id: 'u1', summary: { userId: 'u1', reason: 'bad_password' } });
        expect(deactivated).toMatchObject({ actor_id: 'u1', subject_id: 'u2', summary: { userId: 'u2' } });
        expect(started).toMatchObject({ subject_id: 'u1', personal_fields: ['title', 'systemPrompt'], summary: { conversationId: 'c1', ownerId: 'u1', model: 'gpt-4o-mini' } });
        expect(completed).toMatchObject({
          subject_id: 'u1', personal_fields: ['text'],
          summary: { replyId: 'r1', latencyMs: 345, timeToFirstTokenMs: 12, finishReason: 'stop', model: 'gpt-4o-mini' },
        });
        expect(parked).toMatchObject({ subject_id: null, summary: { projection: 'users', eventId: 'e1', eventType: 'UserRegistered' } });
      });

      it('never keeps the value of any declared personal field, whatever the event type', () => {
        for (const [type, rule] of Object.entries(personalDataRules)) {
          const data: Record<string, unknown> = { [rule.subjectField]: 'subject-1' };
          for (const field of rule.fields) data[field] = `PERSONAL-${field}`;
          const row = auditRecord(record(type, 'stream-x', data));
          expect(JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)), type).not.toContain('PERSONAL-');
          expect(row.subjectId, type).toBe('subject-1');
          expect(row.personalFields, type).toEqual([...rule.fields]);
        }
      });

      it('is not stopped by a time PostgreSQL cannot store: that row keeps a null time, and no time range matches it', async () => {
        const corrupt = record('ConversationStarted', 'conversation-c9', { conversationId: 'c9', ownerId: 'u1', title: 't', model: 'm', systemPrompt: null, params: {} });
        corrupt.metadata.occurredAt = '-271821-04-20T00:00:00.000Z';
        await project(corrupt, record('UserRegistered', 'user-u1', { userId: 'u1', email: 'x', displayName: 'X' }));
        const rows = await page({});
        expect(rows.map((r) => r.occurredAt)).toEqual([null, at(2)]);
        expect(await page({ occurredTo: new Date(at(5)) })).toHaveLength(1);
        expect(matchesAuditFilter(auditRecord(corrupt), { occurredTo: new Date(at(5)) })).toBe(false);
        expect(matchesAuditFilter(auditRecord(corrupt), {})).toBe(true);
      });

      it('is safe to re-run: applying an event again changes nothing', async () => {
        const events = [
          record('UserRegistered', 'user-u1', { userId: 'u1', email: 'x@example.com', displayName: 'X' }),
          record('UserDataErased', 'user-u1', { userId: 'u1' }),
        ];
        await project(...events);
        const before = { events: await everything(), erased: (await tx.query('SELECT * FROM audit_erased_subjects')).rows };
        await project(...events);
        expect({ events: await everything(), erased: (await tx.query('SELECT * FROM audit_erased_subjects')).rows }).toEqual(before);
      });

      it('marks the rows of an erased person as erased, keeping ids only', async () => {
        await project(
          record('UserRegistered', 'user-u1', { userId: 'u1', email: 'x@example.com', displayName: 'X' }),
          record('UserRegistered', 'user-u2', { userId: 'u2', email: 'y@example.com', displayName: 'Y' }),
          record('UserDataErased', 'user-u1', { userId: 'u1' }),
        );
        expect(await subjectErased(tx, 'u1')).toBe(true);
        expect(await subjectErased(tx, 'u2')).toBe(false);
        const rows = await page({});
        expect(rows.map((r) => [r.subjectId, r.subjectErased])).toEqual([['u1', true], ['u2', false], ['u1', true]]);
      });
    });

    describe('audit queries', () => {
      beforeEach(async () => {
        await project(
          record('UserRegistered', 'user-u1', { userId: 'u1', email: 'a', displayName: 'A' }, { actorId: null }), // 10
          record('ConversationStarted', 'conversation-c1', { conversationId: 'c1', ownerId: 'u1', title: 't', model: 'm', systemPrompt: null, params: {} }), // 20
          record('ConversationRenamed', 'conversation-c1', { conversationId: 'c1', ownerId: 'u1', title: 't2' }), // 30
          record('UserRegistered', 'user-u2', { userId: 'u2', email: 'b', displayName: 'B' }, { actorId: null }), // 40
          record('UserDeactivated', 'user-u2', { userId: 'u2', reason: null }, { actorId: 'u1' }), // 50
          record('ConversationStarted', 'conversation_x-c2', { conversationId: 'c2', ownerId: 'u2', title: 't', model: 'm', systemPrompt: null, params: {} }, { actorId: 'u2' }), // 60
        );
      });

      const positions = (rows: Array<{ position: bigint }>) => rows.map((r) => Number(r.position));

      it('filters by type, stream prefix, actor, subject, time and position, all together', async () => {
        expect(positions(await page({ types: ['ConversationStarted'] }))).toEqual([20, 60]);
        expect(positions(await page({ streamPrefix: 'conversation-' }))).toEqual([20, 30]);
        expect(positions(await page({ actorId: 'u1' }))).toEqual([20, 30, 50]);
        expect(positions(await page({ subjectId: 'u2' }))).toEqual([40, 50, 60]);
        expect(positions(await page({ occurredFrom: new Date(at(2)), occurredTo: new Date(at(4)) }))).toEqual([20, 30, 40]);
        expect(positions(await page({ fromPosition: 30n, toPosition: 50n }))).toEqual([30, 40, 50]);
        expect(positions(await page({ types: ['UserRegistered', 'UserDeactivated'], subjectId: 'u2', actorId: 'u1' }))).toEqual([50]);
      });

      it('treats hostile filter values as plain values', async () => {
        // LIKE wildcards in a prefix match only themselves: "conversation_" must not match "conversation-".
        expect(positions(await page({ streamPrefix: 'conversation_' }))).toEqual([60]);
        expect(positions(await page({ streamPrefix: '%' }))).toEqual([]);
        expect(positions(await page({ streamPrefix: '\\' }))).toEqual([]);
        expect(positions(await page({ actorId: "u1' OR '1'='1" }))).toEqual([]);
        expect(positions(await page({ types: ["UserRegistered'); DROP TABLE audit_events; --"] }))).toEqual([]);
        expect(await everything()).toHaveLength(6);
      });

      it('pages by position in either order, forwards and backwards', async () => {
        expect(positions(await page({}, { after: 20n, limit: 2 }))).toEqual([30, 40]);
        expect(positions(await page({}, { before: 40n, limit: 2, inverted: true }))).toEqual([30, 20]);
        expect(positions(await page({}, { newestFirst: true, limit: 2 }))).toEqual([60, 50]);
        expect(positions(await page({}, { newestFirst: true, after: 50n, limit: 2 }))).toEqual([40, 30]);
        expect(positions(await page({}, { newestFirst: true, before: 30n, limit: 10, inverted: true }))).toEqual([40, 50, 60]);
      });

      it('involving a person: what they did and what happened to them, nobody else\'s', async () => {
        expect(positions(await page({}, { involving: 'u2' }))).toEqual([40, 50, 60]);
        expect(positions(await activityOf(tx, 'u1'))).toEqual([10, 20, 30, 50]);
      });

      it('the in-memory filter of the live feed agrees with the SQL one', async () => {
        const filters: AuditFilter[] = [
          { types: ['ConversationStarted'] }, { streamPrefix: 'conversation_' }, { actorId: 'u1' }, { subjectId: 'u2' },
          { occurredFrom: new Date(at(2)), occurredTo: new Date(at(4)) }, { fromPosition: 30n, toPosition: 50n },
        ];
        const all = await page({});
        for (const filter of filters) {
          expect(positions(all.filter((row) => matchesAuditFilter(row, filter))), JSON.stringify(filter, (_k, v: unknown) => String(v)))
            .toEqual(positions(await page(filter)));
        }
      });
    });
  });
});
