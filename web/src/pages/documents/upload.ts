import { stringifyDocument } from '@urql/core';
import { GRAPHQL_URL } from '../../client.ts';
import { UploadDocumentVersionMutation } from './operations.ts';

/** Where a new document's bytes go: streamed as the raw body (src/infra/blob-store/upload-route.ts). */
const UPLOAD_URL = '/uploads';
/** A multipart GraphQL request is refused without it (CSRF protection, src/graphql/security.ts). */
const CSRF_HEADER = 'x-graphql-yoga-csrf';
const MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9a-z-]+\/[!#$%&'*+.^_`|~0-9a-z-]+$/;

/** Why the server did not take a file: its status, the stable code and message of its error, and the limit when it was too large. */
export interface UploadRefusal {
  status: number;
  code: string;
  message: string;
  maxBytes: number | null;
}

export class UploadRefused extends Error {
  readonly refusal: UploadRefusal;
  constructor(refusal: UploadRefusal) {
    super(refusal.message || refusal.code);
    this.refusal = refusal;
  }
}

export class UploadCancelled extends Error {}

export interface SentFile {
  documentId: string;
  version: number;
}

interface ErrorBody { errors?: Array<{ message?: string; extensions?: { code?: unknown; maxBytes?: unknown } }> }

function mediaTypeOf(file: File): string {
  const essence = file.type.split(';', 1)[0]!.trim().toLowerCase();
  return MEDIA_TYPE.test(essence) ? essence : 'application/octet-stream';
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

function refusalOf(status: number, body: unknown): UploadRefusal {
  const error = (body as ErrorBody | null)?.errors?.[0];
  const code = typeof error?.extensions?.code === 'string' ? error.extensions.code : status === 0 ? 'NETWORK' : 'INTERNAL_SERVER_ERROR';
  const maxBytes = typeof error?.extensions?.maxBytes === 'number' ? error.extensions.maxBytes : null;
  return { status, code, message: typeof error?.message === 'string' ? error.message : '', maxBytes };
}

/**
 * Sends one file with XMLHttpRequest, for its upload progress (fetch has none): a new document as
 * the raw body of POST /uploads, a new version of `versionOf` as a multipart uploadDocumentVersion.
 * The session cookie rides along (same origin). Resolves once the server recorded the upload;
 * rejects with UploadRefused (the server's error, or NETWORK) or UploadCancelled.
 */
export function sendFile(file: File, options: { versionOf: string | null; signal: AbortSignal; onProgress(sent: number, total: number): void }): Promise<SentFile> {
  return new Promise<SentFile>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    let body: Blob | FormData;
    if (options.versionOf === null) {
      xhr.open('POST', UPLOAD_URL);
      xhr.setRequestHeader('content-type', mediaTypeOf(file));
      xhr.setRequestHeader('x-file-name', encodeURIComponent(file.name));
      body = file;
    } else {
      xhr.open('POST', GRAPHQL_URL);
      xhr.setRequestHeader(CSRF_HEADER, '1');
      xhr.setRequestHeader('accept', 'application/graphql-response+json, application/json');
      const form = new FormData();
      form.set('operations', JSON.stringify({ query: stringifyDocument(UploadDocumentVersionMutation), variables: { documentId: options.versionOf, file: null } }));
      form.set('map', JSON.stringify({ 0: ['variables.file'] }));
      form.set('0', file, file.name);
      body = form;
    }
    xhr.upload.onprogress = (event) => options.onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
    xhr.onload = () => {
      const answer = parse(xhr.responseText);
      if (options.versionOf === null) {
        const sent = answer as Partial<SentFile> | null;
        if (xhr.status === 201 && typeof sent?.documentId === 'string' && typeof sent.version === 'number') {
          return resolve({ documentId: sent.documentId, version: sent.version });
        }
      } else {
        const result = (answer as { data?: { uploadDocumentVersion?: SentFile | null } } | null)?.data?.uploadDocumentVersion;
        if (xhr.status === 200 && result && !(answer as ErrorBody).errors?.length) return resolve({ documentId: result.documentId, version: result.version });
      }
      reject(new UploadRefused(refusalOf(xhr.status, answer)));
    };
    xhr.onerror = () => reject(new UploadRefused(refusalOf(0, null)));
    xhr.onabort = () => reject(new UploadCancelled('cancelled'));
    if (options.signal.aborted) return reject(new UploadCancelled('cancelled'));
    options.signal.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}
