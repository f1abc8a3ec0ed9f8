import type { App } from '../app.ts';
import type { StoredBlob } from '../infra/blob-store/port.ts';
import { createUploadRouter, type UploadMeta } from '../infra/blob-store/upload-route.ts';
import { bearerToken, viewerForToken } from './authenticate.ts';
import { exposedError } from './errors.ts';
import { requestContext } from './request-context.ts';

export interface RecordedUpload {
  documentId: string;
  version: number;
  name: string;
  mediaType: string;
  sha256: string;
  size: number;
  /** Log position of the upload event, for read-your-writes. */
  position: bigint | null;
}

/**
 * Records a stored file as a new document of its uploader. The bytes are stored first: they are
 * content-addressed, so a retried upload stores nothing twice, and a refused record leaves only
 * bytes no event names (readable by their owner's key alone).
 */
export async function recordUpload(app: App, userId: string, blob: StoredBlob, meta: UploadMeta, requestId: string | null): Promise<RecordedUpload> {
  const result = await app.documents.uploadDocument(
    { ownerId: userId, name: meta.name, mediaType: meta.declaredMediaType, sha256: blob.sha256, size: blob.size },
    app.commandContext(userId, requestId),
  );
  return {
    documentId: result.documentId, version: result.version, name: meta.name, mediaType: meta.declaredMediaType,
    sha256: blob.sha256, size: blob.size, position: result.position,
  };
}

/** `POST /uploads`: a document streamed as the raw request body (for files too large for GraphQL's multipart, which is held in memory). */
export function documentUploadRouter(app: App) {
  return createUploadRouter({
    blobs: app.documentInfra.blobs,
    maxBytes: app.config.documents.maxUploadBytes,
    authenticate: async (req) => {
      const viewer = await viewerForToken(app.readDb, bearerToken(req.headers.authorization));
      // An API key uploads only with the documents scope (see api-key-scopes.ts).
      if (!viewer) return null;
      return !viewer.apiKey || viewer.apiKey.scopes.includes('documents')
        ? { userId: viewer.userId } : { userId: viewer.userId, forbidden: 'This API key lacks the scope documents that uploads need' };
    },
    onStored: async (userId, blob, meta) => {
      try {
        const { position, ...upload } = await recordUpload(app, userId, blob, meta, requestContext.getStore()?.requestId ?? null);
        // Read-your-writes, as for mutations: the document can be queried (and subscribed to) once this answers.
        const shown = position === null || await app.projections.waitFor(position, { eventTypes: ['DocumentUploaded'], timeoutMs: app.config.readYourWritesTimeoutMs });
        return shown ? upload : { ...upload, pending: true };
      } catch (error) {
        throw exposedError(error) ?? error; // refusals keep their code (BAD_USER_INPUT for a bad name, …)
      }
    },
    onError: (error) => app.logger.error({ err: error }, 'upload failed'),
  });
}
