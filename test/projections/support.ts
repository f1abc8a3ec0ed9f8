import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

const CHECKPOINTS = new URL('../../migrations/0001_projection_checkpoints.sql', import.meta.url).pathname;

/** A migrations folder with only the runner's own table, so these tests do not depend on other read models. */
export async function checkpointMigrations(parent: string): Promise<string> {
  const dir = join(parent, 'migrations');
  await mkdir(dir, { recursive: true });
  await copyFile(CHECKPOINTS, join(dir, '0001_projection_checkpoints.sql'));
  return dir;
}
