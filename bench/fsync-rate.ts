import { closeSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** The machine's raw durable-write rate: append a small record and fsync, in a loop. */
export function fsyncRate(dir: string, count: number): number {
  const file = join(dir, 'fsync-probe');
  const fd = openSync(file, 'w');
  const record = Buffer.alloc(256, 1);
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    writeSync(fd, record);
    fsyncSync(fd);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  closeSync(fd);
  rmSync(file);
  return count / seconds;
}
