import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

const CHECKPOINTS = ['0001_projection_checkpoints.sql', '0018_projection_versions.sql']
  .map((name) => [name, new URL(`../../migrations/${name}`, import.meta.url).pathname] as const);

/** A migrations folder with only the runner's own table (and its later column), so these tests do not depend on other read models. */
export async function checkpointMigrations(parent: string): Promise<string> {
  const dir = join(parent, 'migrations');
  await mkdir(dir, { recursive: true });
  for (const [name, path] of CHECKPOINTS) await copyFile(path, join(dir, name));
  return dir;
}
