import pg from 'pg';

/**
 * Runs `use` with the URL of a fresh database on the server of `databaseUrl` (named
 * evident_bench_<label>_<time>), dropped afterwards: a benchmark never touches the tests' tables.
 */
export async function withTempDatabase<T>(databaseUrl: string, label: string, use: (url: string) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  const name = `evident_bench_${label}_${Date.now()}`;
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(databaseUrl);
    url.pathname = `/${name}`;
    return await use(url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}
