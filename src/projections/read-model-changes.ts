/**
 * Counts the writes to read-model tables made by this process, for caches of them kept in memory
 * (graphql/session-cache.ts). A projection notes its tables from inside its transaction, before the
 * commit; a rebuild notes them after its swap has committed. On PGlite (one connection) a read that
 * starts after a note therefore waits for the commit and sees the new rows, and a read that started
 * before it can tell, by the count, that what it read may be out of date. Other processes' writes are
 * not counted: a cache of these tables is exact only where this process is the one writer.
 */
const counts = new Map<string, number>();

export function noteTablesChanged(tables: readonly string[]): void {
  for (const table of tables) counts.set(table, (counts.get(table) ?? 0) + 1);
}

/** A number that changes whenever one of `tables` was noted as changed. */
export function tablesVersion(tables: readonly string[]): number {
  let version = 0;
  for (const table of tables) version += counts.get(table) ?? 0;
  return version;
}
