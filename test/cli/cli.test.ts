// The `evident` CLI as a child process against the embedded stores (SQLite log, PGlite read models).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockDataDir } from '../../src/infra/data-dir-lock.ts';
import { ERASED } from '../../src/infra/personal-data/codec.ts';
import { PgliteReadDb } from '../../src/infra/read-db/pglite-read-db.ts';
import { within } from '../graphql/support.ts';
import { prepareWorkload, runCli, runJson, spawnCli, type Workload } from './support.ts';

interface EventJson {
  position: string;
  type: string;
  stream: string;
  data: Record<string, unknown>;
  metadata: { actorId: string | null; occurredAt: string };
  erasedFields?: string[];
}

interface CompareJson {
  equal: boolean;
  tables: Array<{ table: string; liveRows: number; scratchRows: number; equal: boolean; differences?: Array<{ key: string; kind: string }> }>;
  skipped: Array<{ table: string; reason: string }>;
}

/** A usage error: exit 2, exactly one line on stderr, no stack trace, nothing on stdout. */
function expectOneLine(result: { code: number | null; stdout: string; stderr: string }, code: number, pattern: RegExp) {
  expect(result.code, result.stderr).toBe(code);
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(result.stdout).toBe('');
}

describe('evident CLI (SQLite log, PGlite read models)', () => {
  let w: Workload;

  beforeAll(async () => {
    w = await prepareWorkload();
  });

  afterAll(async () => {
    await w?.close();
  });

  it('--help lists every command and the exit codes', { timeout: 600_000 }, async () => {
    const result = await runCli(['--help'], w.env);
    expect(result.code).toBe(0);
    for (const command of ['events', 'projections', 'replay', 'as-of', 'erase', 'deactivate']) expect(result.stdout).toContain(command);
    expect(result.stdout).toMatch(/Exit codes: 0 ok, 1 check failed, 2 usage error, 3 store unavailable or locked, 4 not found/);
  });

  it('answers bad arguments with exit 2 and one line, never a stack trace', { timeout: 600_000 }, async () => {
    expectOneLine(await runCli(['events', '--limit', '0'], w.env), 2, /--limit.*must be a whole number/);
    expectOneLine(await runCli(['events', '--bogus'], w.env), 2, /unknown option '--bogus'/);
    expectOneLine(await runCli(['events', '--since', 'yesterday'], w.env), 2, /ISO-8601/);
    expectOneLine(await runCli(['events', '--after', '-3'], w.env), 2, /--after/);
    expectOneLine(await runCli(['frobnicate'], w.env), 2, /unknown command 'frobnicate'/);
    expectOneLine(await runCli(['as-of', 'last tuesday', '--out', join(w.dataDir, 'x')], w.env), 2, /neither a log position nor an ISO-8601 time/);
    expectOneLine(await runCli(['events'], { ...w.env, PROJECTION_BATCH_SIZE: 'lots' }), 2, /Invalid configuration: PROJECTION_BATCH_SIZE/);
    expectOneLine(await runCli(['events', '--stream', 'conversation-nope'], w.env), 4, /No stream named "conversation-nope"/);
    expectOneLine(await runCli(['events'], { DATA_DIR: join(w.dataDir, 'missing') }), 3, /No data directory/);
  });

  it('events: filters by type, stream, actor, position and time; decrypts, and shows erased fields as erased', { timeout: 600_000 }, async () => {
    const registered = (await runJson<{ events: EventJson[]; next: string | null }>(['events', '--type', 'UserRegistered'], w.env)).events;
    expect(registered.map((e) => e.data.userId)).toEqual([w.admin.userId, w.alice.userId, w.bob.userId]);
    expect(registered[1]!.data).toMatchObject({ email: w.alice.email, displayName: 'Alice' });
    expect(registered[2]!.data).toMatchObject({ email: ERASED, displayName: ERASED });
    expect(registered[2]!.erasedFields).toEqual(expect.arrayContaining(['email', 'displayName']));
    for (const event of registered) expect(event).toMatchObject({ position: expect.stringMatching(/^\d+$/), metadata: { occurredAt: expect.any(String) } });

    const raw = (await runJson<{ events: EventJson[] }>(['events', '--type', 'UserRegistered', '--raw', '--limit', '1'], w.env));
    expect(raw.events).toHaveLength(1);
    expect(String(raw.events[0]!.data.email)).toMatch(/^pii:v1:/);
    expect(JSON.stringify(raw)).not.toContain(w.admin.email);

    const stream = `conversation-${w.conversationId}`;
    const renamed = (await runJson<{ events: EventJson[] }>(['events', '--stream', stream, '--type', 'ConversationRenamed'], w.env)).events;
    expect(renamed).toHaveLength(1);
    expect(renamed[0]!.data.title).toBe(w.titleAfter);

    const byAlice = (await runJson<{ events: EventJson[] }>(['events', '--actor', w.alice.userId, '--stream-prefix', 'conversation-'], w.env)).events;
    expect(byAlice.length).toBeGreaterThan(2);
    expect(byAlice.every((e) => e.metadata.actorId === w.alice.userId && e.stream.startsWith('conversation-'))).toBe(true);

    const window = (await runJson<{ events: EventJson[]; next: string | null }>(['events', '--after', '3', '--before', '9', '--limit', '3'], w.env));
    expect(window.events.map((e) => e.position)).toEqual(['4', '5', '6']);
    expect(window.next).toBe('6');

    const all = (await runJson<{ events: EventJson[] }>(['events', '--limit', '1000'], w.env)).events;
    const middle = all[Math.floor(all.length / 2)]!;
    const since = (await runJson<{ events: EventJson[] }>(['events', '--since', middle.metadata.occurredAt, '--limit', '1000'], w.env)).events;
    expect(since.length).toBeGreaterThan(0);
    expect(since.every((e) => e.metadata.occurredAt >= middle.metadata.occurredAt)).toBe(true);
    expect(since.length).toBeLessThan(all.length);

    const human = await runCli(['events', '--type', 'UserRegistered'], w.env);
    expect(human.code).toBe(0);
    expect(human.stdout.trim().split('\n')).toHaveLength(3);
    expect(human.stdout).toContain(`actor=${w.alice.userId}`);
  });

  it('projections: every projection and reactor with its position and lag', { timeout: 600_000 }, async () => {
    const status = await runJson<{ head: string; processors: Array<{ name: string; kind: string; state: string; position: string }> }>(['projections'], w.env);
    for (const name of ['users', 'conversations', 'documents', 'document-chunks']) {
      expect(status.processors.find((p) => p.name === name)).toMatchObject({ kind: 'projection', state: 'caught-up', position: status.head });
    }
    expect(status.processors.some((p) => p.kind === 'reactor' && p.name === 'erasure-scrub')).toBe(true);
  });

  it('refuses read-model commands while a server holds the data directory, and still reads the log', { timeout: 600_000 }, async () => {
    const lock = lockDataDir(w.dataDir);
    try {
      expectOneLine(await runCli(['projections'], w.env), 3, /using .*stop it first, or keep the read models in PostgreSQL/);
      expectOneLine(await runCli(['replay', '--compare'], w.env), 3, /stop it first/);
      // Refused before anything is recorded.
      expectOneLine(await runCli(['erase', w.alice.email, '--as', w.admin.email, '--yes'], w.env), 3, /stop it first/);
      const erasures = await runJson<{ events: unknown[] }>(['events', '--stream', `user-${w.alice.userId}`, '--type', 'UserDataErased'], w.env);
      expect(erasures.events).toEqual([]);
      const events = await runCli(['events', '--limit', '2'], w.env);
      expect(events.code, events.stderr).toBe(0);
      expect(events.stdout.trim().split('\n')).toHaveLength(2);
    } finally {
      lock.release();
    }
  });

  it('replay --compare: equal after the workload; a tampered row is found (exit 1); replay rebuilds it', { timeout: 600_000 }, async () => {
    const equal = await runJson<CompareJson>(['replay', '--compare'], w.env);
    expect(equal.equal).toBe(true);
    expect(equal.tables.map((t) => t.table)).toEqual(expect.arrayContaining(['users', 'sessions', 'conversations', 'messages', 'documents', 'document_chunks']));
    expect(equal.tables.find((t) => t.table === 'messages')!.liveRows).toBe(4); // Alice's two exchanges; Bob's erased
    expect(equal.skipped.map((s) => s.table)).toEqual(expect.arrayContaining(['projection_checkpoints', 'reactor_checkpoints']));

    const live = await PgliteReadDb.open({ dataDir: join(w.dataDir, 'read-models') });
    try {
      await live.query('UPDATE conversations SET title = $2 WHERE conversation_id = $1', [w.conversationId, 'tampered']);
    } finally {
      await live.close();
    }
    const tampered = await runCli(['--json', 'replay', '--compare', '--diff'], w.env);
    expect(tampered.code, tampered.stderr).toBe(1);
    const report = JSON.parse(tampered.stdout) as CompareJson;
    expect(report.equal).toBe(false);
    const conversations = report.tables.find((t) => t.table === 'conversations')!;
    expect(conversations.equal).toBe(false);
    expect(conversations.differences).toEqual([{ key: JSON.stringify([w.conversationId]), kind: 'changed' }]);
    expect(report.tables.filter((t) => !t.equal).map((t) => t.table)).toEqual(['conversations']);

    // Rebuilding the live read models is an operator action: it needs --as and is recorded with that actor.
    expectOneLine(await runCli(['replay', 'conversations'], w.env), 2, /--as/);
    const rebuilt = await runJson<{ rebuilt: Array<{ projection: string; rows: Record<string, number> }> }>(['replay', 'conversations', '--as', w.admin.email], w.env);
    expect(rebuilt.rebuilt).toEqual([expect.objectContaining({ projection: 'conversations', rows: { conversations: 1, messages: 4 } })]);
    for (const type of ['ProjectionRebuildRequested', 'ProjectionRebuilt']) {
      const recorded = (await runJson<{ events: EventJson[] }>(['events', '--type', type], w.env)).events;
      expect(recorded.map((e) => [e.data, e.metadata.actorId])).toEqual([[expect.objectContaining({ projection: 'conversations' }), w.admin.userId]]);
    }
    const human = await runCli(['replay', '--compare'], w.env);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('The live read models equal a replay of the log.');

    expectOneLine(await runCli(['replay', 'nope'], w.env), 4, /No projection named "nope"/);
  });

  it('as-of: the read models as they were before the rename, the live ones untouched', { timeout: 600_000 }, async () => {
    const out = join(w.dataDir, 'as-of-before-rename');
    const sql = `SELECT title, message_count FROM conversations WHERE conversation_id = '${w.conversationId}'`;
    const then = await runJson<{ position: string; rows: Array<{ title: string; message_count: number }> }>(
      ['as-of', w.beforeRename.toString(), '--out', out, '--sql', sql], w.env);
    expect(then.position).toBe(w.beforeRename.toString());
    expect(then.rows).toEqual([{ title: w.recordedBeforeRename.title, message_count: w.recordedBeforeRename.messageCount }]);
    expect(then.rows[0]!.title).toBe(w.titleBefore);

    const again = await runJson<{ rows: Array<{ title: string }> }>(['as-of', w.beforeRename.toString(), '--out', out, '--sql', sql], w.env);
    expect(again.rows[0]!.title).toBe(w.titleBefore);
    expectOneLine(await runCli(['as-of', '1', '--out', out], w.env), 2, /holds the read models as of position/);
    expectOneLine(await runCli(['as-of', w.beforeRename.toString(), '--out', out, '--sql', 'DELETE FROM conversations'], w.env), 2, /read-only/);

    // A time: everything that occurred up to then (the rename included when it is the time of the rename).
    const [rename] = (await runJson<{ events: EventJson[] }>(['events', '--type', 'ConversationRenamed'], w.env)).events;
    const atRename = await runJson<{ position: string; rows: Array<{ title: string }> }>(
      ['as-of', rename!.metadata.occurredAt, '--out', join(w.dataDir, 'as-of-rename'), '--sql', sql], w.env);
    expect(BigInt(atRename.position)).toBeGreaterThanOrEqual(BigInt(rename!.position));
    expect(atRename.rows[0]!.title).toBe(w.titleAfter);
    const before = await runJson<{ position: string; rows: unknown[] }>(
      ['as-of', '2000-01-01T00:00:00Z', '--out', join(w.dataDir, 'as-of-2000'), '--sql', 'SELECT * FROM users'], w.env);
    expect(before).toMatchObject({ position: '0', rows: [] });

    const live = await PgliteReadDb.open({ dataDir: join(w.dataDir, 'read-models') });
    try {
      const { rows } = await live.query<{ title: string }>('SELECT title FROM conversations WHERE conversation_id = $1', [w.conversationId]);
      expect(rows[0]!.title).toBe(w.titleAfter);
    } finally {
      await live.close();
    }
  });

  it('events --follow prints an event appended after it started; deactivate records the operator as actor', { timeout: 600_000 }, async () => {
    const follower = spawnCli(['--json', 'events', '--follow', '--type', 'UserDeactivated'], w.env);
    let stdout = '';
    let stderr = '';
    const closed = new Promise<number | null>((resolve) => follower.on('close', resolve));
    try {
      const following = new Promise<void>((resolve) => {
        follower.stderr.setEncoding('utf8').on('data', (chunk: string) => {
          stderr += chunk;
          if (stderr.includes('following the log')) resolve();
        });
      });
      const line = new Promise<string>((resolve) => {
        follower.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          stdout += chunk;
          if (stdout.includes('\n')) resolve(stdout.split('\n')[0]!);
        });
      });
      await within(following, 'the follower to start', 60_000);

      const refused = await runCli(['deactivate', w.alice.email, '--as', w.alice.email], w.env);
      expectOneLine(refused, 2, /not an admin/);
      const deactivated = await runJson<{ userId: string; actorId: string; recorded: boolean }>(['deactivate', w.alice.email, '--as', w.admin.email, '--reason', 'left'], w.env);
      expect(deactivated).toMatchObject({ userId: w.alice.userId, actorId: w.admin.userId, recorded: true });

      const event = JSON.parse(await within(line, 'the followed event', 60_000)) as EventJson;
      expect(event).toMatchObject({ type: 'UserDeactivated', data: { userId: w.alice.userId, reason: 'left' }, metadata: { actorId: w.admin.userId } });
      follower.kill('SIGINT');
      expect(await within(closed, 'the follower to stop', 30_000)).toBe(0);
    } finally {
      follower.kill('SIGKILL');
    }
  });

  it('erase: needs --yes and an active admin; records UserDataErased with the operator as actor and scrubs the read models', { timeout: 600_000 }, async () => {
    expectOneLine(await runCli(['erase', w.alice.userId, '--as', w.admin.email], w.env), 2, /add --yes/);
    expectOneLine(await runCli(['erase', w.alice.userId, '--as', 'nobody@example.com', '--yes'], w.env), 4, /no user has the email address/);
    expectOneLine(await runCli(['erase', w.alice.userId], w.env), 2, /required option '--as <admin>'/);

    const erased = await runJson<{ userId: string; actorId: string; recorded: boolean; scrubbed: boolean }>(
      ['erase', w.alice.email, '--as', w.admin.email, '--yes'], w.env);
    expect(erased).toMatchObject({ userId: w.alice.userId, actorId: w.admin.userId, recorded: true, scrubbed: true });

    const events = (await runJson<{ events: EventJson[] }>(['events', '--type', 'UserDataErased'], w.env)).events;
    expect(events.at(-1)).toMatchObject({ stream: `user-${w.alice.userId}`, metadata: { actorId: w.admin.userId } });
    const registered = (await runJson<{ events: EventJson[] }>(['events', '--stream', `user-${w.alice.userId}`, '--type', 'UserRegistered'], w.env)).events;
    expect(registered[0]!.data.email).toBe(ERASED);

    const compare = await runJson<CompareJson>(['replay', '--compare'], w.env);
    expect(compare.equal).toBe(true);
    expect(compare.tables.find((t) => t.table === 'messages')!.liveRows).toBe(0);
    expect(compare.tables.find((t) => t.table === 'conversations')!.liveRows).toBe(0);
  });
});
