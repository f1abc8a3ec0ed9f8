/**
 * Where subjects' data keys live, outside the event log (ARCHITECTURE.md §5). Keys are stored wrapped
 * by the master key, so the store never holds a usable key; deleting one is the erasure itself.
 */

export interface WrappedKey {
  subjectId: string;
  wrapped: Buffer;
  createdAt: string;
}

/** The subject was erased: no key may be made for them again, so nothing new about them is readable. */
export class SubjectErasedError extends Error {
  readonly code = 'SUBJECT_ERASED';
  constructor(subjectId: string) {
    super(`Subject ${subjectId} has been erased; no personal data can be recorded for them`);
    this.name = 'SubjectErasedError';
  }
}

/** The person an item subject (`<person>/<kind>/<id>`) belongs to; a person's own id is returned as is. */
export function ownerOfSubject(subjectId: string): string {
  const cut = subjectId.indexOf('/');
  return cut < 0 ? subjectId : subjectId.slice(0, cut);
}

/** One row of a key store as a backup holds it: a wrapped key, or an erasure tombstone. */
export type KeyRecord =
  | { kind: 'key'; subjectId: string; wrapped: Buffer; createdAt: string }
  | { kind: 'erased'; subjectId: string; erasedAt: string };

export interface KeyStore {
  /** The subject's wrapped key, or undefined when it never existed or has been erased. */
  get(subjectId: string): Promise<Buffer | undefined>;
  /**
   * Stores `wrapped` unless the subject already has a key, and returns the key now stored. Race-safe:
   * two instances creating a key for the same subject at once both get the same one back. Throws
   * SubjectErasedError for an erased subject.
   */
  putIfAbsent(subjectId: string, wrapped: Buffer): Promise<Buffer>;
  /**
   * Erasure: deletes the subject's key and leaves a tombstone (the subject id alone), so no new key is
   * ever made for them; true if there was a key.
   */
  delete(subjectId: string): Promise<boolean>;
  /**
   * Deletes (and tombstones) every key whose subject id starts with `prefix`: a person's item keys
   * (`<person>/conversation/<id>` …) when the person is erased; returns how many. A subject
   * `<owner>/…` also counts as erased once `<owner>` is, so no item key is made after the person's erasure.
   */
  deleteUnder(prefix: string): Promise<number>;

  /** Every key (still wrapped by the master key) and every tombstone, ordered by subject, for a backup. */
  list(): AsyncIterable<KeyRecord>;
  /**
   * Restores one record of a backup: a key is stored unless the subject has one or was erased; a
   * tombstone is recorded and deletes any key of the subject.
   */
  putRaw(record: KeyRecord): Promise<void>;
  /** Erasure's last step, after the deletes: removes what the store's files still hold of deleted keys. */
  scrub?(): Promise<void>;
  close(): Promise<void>;
}
