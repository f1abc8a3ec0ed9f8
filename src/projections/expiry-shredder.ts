import { documentStream, type DocumentExpired } from '../domain/document/document.ts';
import type { ConversationExpired } from '../domain/conversation/conversation.ts';
import type { LoginRecordsExpired } from '../domain/retention/retention.ts';
import type { BlobStore } from '../infra/blob-store/port.ts';
import type { EventStore, RecordedEvent } from '../infra/event-store/port.ts';
import { itemSubject } from '../infra/personal-data/codec.ts';
import type { SqlExecutor } from '../infra/read-db/port.ts';
import { documentIdsOf } from './retention-queries.ts';

export interface ExpiryShredderDeps {
  store: EventStore;
  readDb: SqlExecutor;
  blobs: BlobStore;
  /** Deletes one subject's data key (PersonalDataCodec.erase). */
  eraseKey(subjectId: string): Promise<unknown>;
}

/** Every blob (file versions, chunk and vector artifacts) a document's stream names. */
async function blobsOf(store: EventStore, documentId: string): Promise<Set<string>> {
  const hashes = new Set<string>();
  for (const event of await store.readStream(documentStream(documentId))) {
    const data = event.data as Record<string, unknown>;
    for (const field of ['sha256', 'chunksSha256', 'vectorsSha256']) {
      if (typeof data[field] === 'string') hashes.add(data[field]);
    }
  }
  return hashes;
}

/**
 * What an expiry does beyond the read-model rows (docs/audit.md): the item's own key is deleted, so
 * everything recorded under it reads as erased; an expired document's blobs go too (they are sealed
 * under the owner's key, and content-addressed per owner: a blob another live document of the same
 * owner names is kept); each expired login record's session key goes, so the client address and user
 * agent its SessionStarted sealed read as erased. Runs in the erasure scrub, after the projections applied the expiries and
 * before the files are scrubbed; repeating it is harmless.
 */
export function createExpiryShredder({ store, readDb, blobs, eraseKey }: ExpiryShredderDeps) {
  return async function shredExpired(events: readonly RecordedEvent[]): Promise<void> {
    for (const event of events) {
      if (event.type === 'ConversationExpired') {
        const d = (event as unknown as ConversationExpired).data;
        await eraseKey(itemSubject(d.ownerId, 'conversation', d.conversationId));
      } else if (event.type === 'DocumentExpired') {
        const d = (event as unknown as DocumentExpired).data;
        await eraseKey(itemSubject(d.ownerId, 'document', d.documentId));
        const doomed = await blobsOf(store, d.documentId);
        for (const other of await documentIdsOf(readDb, d.ownerId)) {
          if (other === d.documentId) continue;
          for (const hash of await blobsOf(store, other)) doomed.delete(hash);
        }
        for (const hash of doomed) await blobs.delete(d.ownerId, hash);
      } else if (event.type === 'LoginRecordsExpired') {
        const d = (event as unknown as LoginRecordsExpired).data;
        for (const { userId, sessionId } of d.sessions) await eraseKey(itemSubject(userId, 'session', sessionId));
      }
    }
  };
}
