// Erasure leaves nothing readable on disk (embedded default): after eraseUser and a clean stop, no file
// under DATA_DIR holds any of the person's personal data or their wrapped key, while another person's
// data is still found by the same scan (so the scan can fail).
import { afterEach, describe, expect, it } from 'vitest';
import { ok, startTestApp, type TestApp } from '../graphql/support.ts';
import { ERASE, expectErased, leaks, PROJECTIONS, REBUILD, seedPerson, wrappedKey, type Call } from './erasure-support.ts';

const WAIT_MS = 20_000;

describe('erasure on the embedded default', () => {
  let t: TestApp | undefined;

  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('after eraseUser, rebuilds and a clean stop, no file under DATA_DIR holds the person\'s data or key', { timeout: 300_000 }, async () => {
    t = await startTestApp();
    const test = t;
    const call: Call = (query, variables = {}, token) => ok(test.yoga, query, variables, token);
    const admin = await seedPerson(call, 'admin', WAIT_MS);
    const victim = await seedPerson(call, 'victim', WAIT_MS);
    const other = await seedPerson(call, 'other', WAIT_MS);
    const rebuildAll = async () => {
      for (const name of PROJECTIONS) {
        const { rebuildProjection } = await call<{ rebuildProjection: { state: string; lastError: string | null } }>(REBUILD, { name }, admin.token);
        expect(rebuildProjection).toEqual({ name, state: 'running', lastError: null });
      }
    };
    await rebuildAll();
    const key = wrappedKey(test.dataDir, victim.userId);
    // The scan sees everything while the person exists (the WAL, the heap or both hold it).
    await test.app.readDb.exec('CHECKPOINT');
    expect(Object.keys(leaks(test.dataDir, [...victim.secrets, key]))).toHaveLength(victim.secrets.length + 1);

    expect(await call(ERASE, { id: victim.userId }, admin.token)).toEqual({ eraseUser: victim.userId });
    await rebuildAll();
    await test.app.close();

    expectErased(test.dataDir, victim, key, [admin, other]);
  });
});
