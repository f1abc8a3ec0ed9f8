// The variables `npm start` sets before it runs node: package.json's start script begins with
// `NAME=${NAME:-default}` assignments (glibc's allocator settings, read when a process starts).
// Whatever spawns the server itself (benchmarks, end-to-end tests, the image) sets the same.
import { readFileSync } from 'node:fs';

export const START_SCRIPT_ASSIGNMENT = /\b(\w+)=\$\{\1:-([^}]*)\}/g;

/** Name → default of every `NAME=${NAME:-default}` in package.json's start script. */
export function startScriptEnv() {
  const script = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).scripts.start;
  return Object.fromEntries([...script.matchAll(START_SCRIPT_ASSIGNMENT)].map((match) => [match[1], match[2]]));
}
