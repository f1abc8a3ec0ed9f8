import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { skipReason } from './requirements.ts';

/** DATABASE_URL for the tests that need a real PostgreSQL; CI sets it. */
export const DATABASE_URL = process.env.DATABASE_URL;

/** Why a PostgreSQL suite skips (DATABASE_URL unset), or undefined; throws instead under CI=true. */
export function postgresSkipReason(suite: string): string | undefined {
  return skipReason(suite, DATABASE_URL ? undefined : 'DATABASE_URL is not set');
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh database per suite, so parallel test files never share tables or advisory locks. */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (!DATABASE_URL) throw new Error('DATABASE_URL is not set');
  const name = `evident_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: DATABASE_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
