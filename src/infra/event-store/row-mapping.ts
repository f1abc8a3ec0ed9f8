import type { EventMetadata, RecordedEvent } from './port.ts';

export interface EventRow {
  position: string | number | bigint;
  id: string;
  stream: string;
  revision: string | number | bigint;
  type: string;
  schema_version: number;
  data: string | object;
  metadata: string | object;
}

export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    id: row.id,
    stream: row.stream,
    revision: BigInt(row.revision),
    position: BigInt(row.position),
    type: row.type,
    schemaVersion: Number(row.schema_version),
    data: typeof row.data === 'string' ? JSON.parse(row.data) : row.data,
    metadata: (typeof row.metadata === 'string' ? JSON.parse(row.metadata) : row.metadata) as EventMetadata,
  };
}

/** Escapes LIKE wildcards so a stream prefix matches literally (used with ESCAPE '\'). */
export function likePrefix(prefix: string): string {
  return prefix.replace(/[\\%_]/g, (c) => `\\${c}`) + '%';
}
