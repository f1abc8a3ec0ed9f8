/** The blob is not stored for this owner. */
export class BlobNotFoundError extends Error {
  readonly code = 'NOT_FOUND';
  constructor() {
    super('No such blob');
    this.name = 'BlobNotFoundError';
  }
}

/** More bytes than allowed: refused while streaming in, or a blob too big to read into memory. */
export class BlobTooLargeError extends Error {
  readonly code = 'BAD_USER_INPUT';
  /** The limit in bytes. */
  readonly maxBytes: number;
  constructor(maxBytes: number) {
    super(`The file exceeds the limit of ${maxBytes} bytes`);
    this.name = 'BlobTooLargeError';
    this.maxBytes = maxBytes;
  }
}

/**
 * The stored bytes cannot be decrypted: the owner's key was erased (`reason: 'erased'`), or the
 * bytes were tampered with, truncated or are not a blob of this owner and hash (`'corrupt'`).
 */
export class BlobUnreadableError extends Error {
  readonly code = 'BLOB_UNREADABLE';
  readonly reason: 'erased' | 'corrupt';
  constructor(reason: 'erased' | 'corrupt', detail?: string) {
    super(reason === 'erased'
      ? "The blob cannot be read: its owner's key has been erased"
      : `The blob cannot be read: it is damaged or was tampered with${detail ? ` (${detail})` : ''}`);
    this.name = 'BlobUnreadableError';
    this.reason = reason;
  }
}

/** An owner id or hash that is not acceptable (it never reaches a path or a query). */
export class InvalidBlobReferenceError extends Error {
  readonly code = 'BAD_USER_INPUT';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidBlobReferenceError';
  }
}

/** The store was used after close(). */
export class BlobStoreClosedError extends Error {
  constructor() {
    super('Blob store is closed');
    this.name = 'BlobStoreClosedError';
  }
}
