// The process test/e2e/erasure.test.ts kills with SIGKILL: the real app on DATA_DIR (argv[2]) with a fake
// provider and three people; rebuilds; then eraseUser of one of them. Prints one JSON line with the
// people, then, by mode (argv[3]):
//  - "answered": eraseUser answered (the scrub included);
//  - "unscrubbed": the scrub is held forever, and the erasure is recorded, the rows deleted and the key
//    gone: a process dying between recording an erasure and scrubbing.
import { setTimeout as sleep } from 'node:timers/promises';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { createApp } from '../../src/app.ts';
import { createGraphQLHandler } from '../../src/graphql/server.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { ok } from '../graphql/support.ts';
import { startFakeOpenAiServer } from '../support/fake-openai-server.ts';
import { ERASE, PROJECTIONS, REBUILD, seedPerson, wrappedKey, type Call } from '../commands/erasure-support.ts';

const dataDir = process.argv[2]!;
const mode = process.argv[3];
const fake = await startFakeOpenAiServer();
const app = await createApp(loadConfig({
  DATA_DIR: dataDir, NODE_ENV: 'test', LOG_LEVEL: 'silent', OPENAI_BASE_URL: fake.url, DEFAULT_MODEL: 'fake-echo',
}), createLogger('silent', false));
const yoga = createGraphQLHandler(app);
const call: Call = (query, variables = {}, token) => ok(yoga, query, variables, token);

const admin = await seedPerson(call, 'admin', 20_000);
const victim = await seedPerson(call, 'victim', 20_000);
const other = await seedPerson(call, 'other', 20_000);
for (const name of PROJECTIONS) await call(REBUILD, { name }, admin.token);
const key = wrappedKey(dataDir, victim.userId);
console.log(JSON.stringify({ admin, victim, other, key: key.toString('base64') }));

if (mode === 'answered') {
  await call(ERASE, { id: victim.userId }, admin.token);
  console.log('answered');
  await new Promise(() => {});
}

let scrubCalled = false;
app.readDb.scrub = () => {
  scrubCalled = true;
  return new Promise(() => {});
};
void call(ERASE, { id: victim.userId }, admin.token).catch(() => {});

const keyGone = () => {
  const db = new DatabaseSync(join(dataDir, 'keys.sqlite'), { readOnly: true });
  try {
    return db.prepare('SELECT 1 FROM subject_keys WHERE subject_id = ?').get(victim.userId) === undefined;
  } finally {
    db.close();
  }
};
const rowsGone = async () => (await app.readDb.query('SELECT 1 FROM users WHERE user_id = $1', [victim.userId])).rowCount === 0;
for (let i = 0; !(scrubCalled && keyGone() && (await rowsGone())); i++) {
  if (i > 400) throw new Error('the erasure did not reach the scrub');
  await sleep(50);
}
console.log('unscrubbed');
await new Promise(() => {});
