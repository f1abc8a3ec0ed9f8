import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { skipReason } from './support/requirements.ts';

const available = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;
const skip = skipReason('docker-compose.yml check', available ? undefined : 'docker-compose is not installed');

describe.skipIf(skip !== undefined)('docker-compose.yml', () => {
  it('is a valid compose file with PostgreSQL (pgvector) and Redis', () => {
    const resolved = execFileSync('docker-compose', ['config'], { cwd: new URL('..', import.meta.url).pathname, encoding: 'utf8' });
    expect(resolved).toMatch(/image: pgvector\/pgvector/);
    expect(resolved).toMatch(/image: redis/);
  });
});
