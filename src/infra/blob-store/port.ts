/**
 * Content-addressed storage for file bytes (ARCHITECTURE.md §5, §10). Blobs are kept per owner and
 * encrypted under the owner's personal-data key, so erasing the owner leaves their blobs unreadable.
 * Events carry `sha256` and `size`, never the bytes. See docs/blob-store.md.
 */

export interface StoredBlob {
  /** Lowercase hex SHA-256 of the plaintext. */
  sha256: string;
  /** Plaintext bytes. */
  size: number;
}

export interface PutOptions {
  /** More plaintext bytes than this are refused with BlobTooLargeError, and nothing is kept. */
  maxBytes: number;
  /** Aborting stops the put (rejecting with the signal's reason) and nothing is kept. */
  signal?: AbortSignal;
}

export interface BlobStore {
  /**
   * Streams bytes in, encrypted under ownerId's data key. Refuses more than maxBytes with
   * BlobTooLargeError (nothing kept). On any error or abort nothing is kept. Putting the same bytes
   * twice for the same owner is idempotent (the blob first stored is kept). An erased owner is refused
   * with SubjectErasedError (from the key store).
   */
  put(ownerId: string, bytes: AsyncIterable<Uint8Array>, options: PutOptions): Promise<StoredBlob>;
  /**
   * Decrypted bytes, streamed. Throws (on iteration) BlobNotFoundError, or BlobUnreadableError when
   * the owner's key is erased or the stored bytes were tampered with or truncated. Every segment is
   * authenticated before it is yielded; a consumer must still treat the bytes as complete only when
   * the iteration ends without an error.
   */
  read(ownerId: string, sha256: string): AsyncIterable<Uint8Array>;
  /** The whole blob in memory; BlobTooLargeError past maxBytes (checked before anything is read). */
  readAll(ownerId: string, sha256: string, maxBytes: number): Promise<Buffer>;
  /** Whether bytes are stored for this owner and hash (also true when they are unreadable after erasure). */
  exists(ownerId: string, sha256: string): Promise<boolean>;
  /** Removes one blob; nothing happens if it is not there. */
  delete(ownerId: string, sha256: string): Promise<void>;
  /** Deletes every blob of the owner (erasure); returns how many. */
  deleteOwner(ownerId: string): Promise<number>;
  close(): Promise<void>;
}
