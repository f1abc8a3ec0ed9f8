import { Router, type Request, type Response } from 'express';
import { SubjectErasedError } from '../personal-data/key-store.ts';
import { StoreUnavailableError } from '../store-unavailable.ts';
import { BlobTooLargeError } from './errors.ts';
import type { BlobStore, StoredBlob } from './port.ts';
import { checkMaxBytes } from './references.ts';

/** The header naming the file, percent-encoded (encodeURIComponent), at most 255 characters decoded. */
export const FILE_NAME_HEADER = 'x-file-name';
export const UPLOAD_PATH = '/uploads';
export const MAX_FILE_NAME_LENGTH = 255;
/** What the 413 refusal names as the limit (the configuration knob). */
export const UPLOAD_LIMIT_NAME = 'MAX_UPLOAD_BYTES';

export interface UploadMeta {
  /** The file name as the client gave it, decoded and checked: not a path to use anywhere. */
  name: string;
  /** The Content-Type the client declared, lowercased, without parameters: a claim, not a fact. */
  declaredMediaType: string;
}

export interface UploadRouterOptions {
  /** Who sent the request, or null: answered with 401 before any body byte is read; `forbidden` set: 403 with that message. */
  authenticate(req: Request): Promise<{ userId: string; forbidden?: string } | null>;
  blobs: BlobStore;
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** Runs once the bytes are stored (e.g. records the upload); what it returns is sent as JSON with 201. */
  onStored(userId: string, blob: StoredBlob, meta: UploadMeta): Promise<unknown>;
  /** Unexpected failures, for logging; the client only sees INTERNAL_SERVER_ERROR. */
  onError?(error: unknown): void;
}

/** An error `onStored` may throw to refuse with a given code (GraphQLError's shape fits). */
interface CodedError {
  message: string;
  extensions: { code: string };
}

const STATUS_OF_CODE: Readonly<Record<string, number>> = {
  BAD_USER_INPUT: 400, UNAUTHENTICATED: 401, FORBIDDEN: 403, NOT_FOUND: 404, CONFLICT: 409, RATE_LIMITED: 429,
};

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9a-z-]+\/[!#$%&'*+.^_`|~0-9a-z-]+$/;

class BadUpload extends Error {}

function fileName(header: string | string[] | undefined): string {
  if (typeof header !== 'string' || header.length === 0) throw new BadUpload(`The ${FILE_NAME_HEADER} header must name the file`);
  let name: string;
  try {
    name = decodeURIComponent(header);
  } catch {
    throw new BadUpload(`The ${FILE_NAME_HEADER} header is not valid percent-encoded UTF-8`);
  }
  if (name.length === 0 || [...name].length > MAX_FILE_NAME_LENGTH) {
    throw new BadUpload(`A file name must be 1 to ${MAX_FILE_NAME_LENGTH} characters`);
  }
  if (CONTROL.test(name) || !name.isWellFormed()) throw new BadUpload('A file name must not contain control characters');
  return name;
}

function mediaType(header: string | undefined): string {
  if (header === undefined) return 'application/octet-stream';
  const essence = header.split(';', 1)[0]!.trim().toLowerCase();
  if (essence.length > 255 || !MEDIA_TYPE.test(essence)) throw new BadUpload('The Content-Type is not a media type');
  return essence;
}

function errorBody(message: string, code: string, extra: Record<string, unknown> = {}) {
  return { errors: [{ message, extensions: { code, ...extra } }] };
}

function isCoded(error: unknown): error is CodedError {
  const code = (error as CodedError | null)?.extensions?.code;
  return typeof code === 'string' && code in STATUS_OF_CODE && typeof (error as CodedError).message === 'string';
}

/**
 * `POST /uploads`: the raw request body streamed into the blob store (nothing is buffered, and no
 * body parser may run before this router), the file name from X-File-Name, the media type from
 * Content-Type. A body over `maxBytes` is refused with 413 — at once when Content-Length says so,
 * or as soon as it grows past the limit — and nothing is stored; so is a body cut off midway.
 * Requiring the X-File-Name header also means a browser cannot send this cross-site without a
 * CORS preflight.
 */
export function createUploadRouter(options: UploadRouterOptions): Router {
  const maxBytes = checkMaxBytes(options.maxBytes);
  const router = Router();

  router.post(UPLOAD_PATH, async (req: Request, res: Response) => {
    // Refusals sent before the body is read close the connection, rather than reading it to the end.
    const refuse = (status: number, body: unknown) => {
      if (res.headersSent || res.destroyed) return;
      if (!req.complete) res.setHeader('Connection', 'close');
      res.status(status).json(body);
    };
    const tooLarge = () => refuse(413, errorBody(
      `The file exceeds the upload limit of ${maxBytes} bytes`, 'BAD_USER_INPUT', { limit: UPLOAD_LIMIT_NAME, maxBytes },
    ));
    try {
      const viewer = await options.authenticate(req);
      if (!viewer) return refuse(401, errorBody('Not authenticated', 'UNAUTHENTICATED'));
      if (viewer.forbidden) return refuse(403, errorBody(viewer.forbidden, 'FORBIDDEN'));
      const meta: UploadMeta = { name: fileName(req.headers[FILE_NAME_HEADER]), declaredMediaType: mediaType(req.headers['content-type']) };
      const declared = req.headers['content-length'];
      if (declared !== undefined && Number(declared) > maxBytes) return tooLarge();

      const controller = new AbortController();
      const onClose = () => {
        if (!req.complete) controller.abort(new Error('The client disconnected before the upload was complete'));
      };
      req.once('close', onClose);
      let blob: StoredBlob;
      try {
        // Not destroyed when the store stops reading early (the limit): the socket must live to carry the 413.
        const body = req.iterator({ destroyOnReturn: false });
        blob = await options.blobs.put(viewer.userId, body, { maxBytes, signal: controller.signal });
      } finally {
        req.off('close', onClose);
      }
      const result = await options.onStored(viewer.userId, blob, meta);
      if (!res.destroyed) res.status(201).json(result ?? null);
    } catch (error) {
      if (res.destroyed || req.destroyed && !req.complete) return; // the client is gone: no one to answer
      if (error instanceof BlobTooLargeError) return tooLarge();
      if (error instanceof BadUpload) return refuse(400, errorBody(error.message, 'BAD_USER_INPUT'));
      if (error instanceof SubjectErasedError) return refuse(403, errorBody('This account has been erased', 'FORBIDDEN'));
      if (isCoded(error)) return refuse(STATUS_OF_CODE[error.extensions.code]!, errorBody(error.message, error.extensions.code));
      if (error instanceof StoreUnavailableError) {
        options.onError?.(error);
        return refuse(503, errorBody('The file store is unavailable; try again later', 'SERVICE_UNAVAILABLE'));
      }
      options.onError?.(error);
      return refuse(500, errorBody('Unexpected error', 'INTERNAL_SERVER_ERROR'));
    }
  });
  return router;
}
