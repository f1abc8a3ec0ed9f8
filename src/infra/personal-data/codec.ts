import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import type { NewEvent, RecordedEvent } from '../event-store/port.ts';
import type { KeyStore } from './key-store.ts';

/** What an erased personal field reads as. */
export const ERASED = '[erased]';
/** Every encrypted field value starts with this. */
export const PERSONAL_DATA_PREFIX = 'pii:v1:';

/** Which top-level data fields of an event type hold personal data, and which field names the data subject. */
export interface PersonalDataRule {
  subjectField: string;
  fields: readonly string[];
  /** New values are sealed under the item's own key, `<subject>/<kind>/<data[field]>` (see itemSubject). */
  keyScope?: { kind: string; field: string };
}

/** Separates a person's id from the item part of an item key's subject id; person ids never contain it. */
export const SUBJECT_SCOPE_SEPARATOR = '/';
const SCOPE_KIND = /^[a-z][a-z-]{0,31}$/;

/** The subject id of one item's own data key (a conversation, a document) of `ownerId`. */
export function itemSubject(ownerId: string, kind: string, itemId: string): string {
  return `${ownerId}${SUBJECT_SCOPE_SEPARATOR}${kind}${SUBJECT_SCOPE_SEPARATOR}${itemId}`;
}
export type PersonalDataRules = Readonly<Record<string /* event type */, PersonalDataRule>>;

export interface PersonalDataCodecOptions {
  keyStore: KeyStore;
  /** 32 bytes; see loadMasterKey. */
  masterKey: Buffer;
  rules: PersonalDataRules;
  /** Unwrapped data keys kept in memory (LRU). Default 10 000; 0 disables the cache. */
  cacheSize?: number;
  /** How long a cached data key is trusted. Default 60 s; this bounds how long an erasure made by another instance takes to reach this one. */
  cacheTtlMs?: number;
  /** Milliseconds now, for the cache TTL. Default Date.now; tests inject a clock. */
  now?: () => number;
}

/** Personal data that cannot be read or written safely: tampering, a wrong master key, a bad subject field. */
export class PersonalDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PersonalDataError';
  }
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KID_BYTES = 8;
const WRAP_VERSION = 1;
/** version, IV, tag, then the encrypted key id and key. */
const WRAPPED_BYTES = 1 + IV_BYTES + TAG_BYTES + KID_BYTES + KEY_BYTES;
const B64URL = /^[A-Za-z0-9_-]*$/;

/**
 * A key derived from a subject's data key for one purpose (e.g. 'blob'), so that other parts (the blob
 * store) can encrypt under the subject's key without ever holding the key the codec seals fields with.
 * `kid` names the data key it came from: record it beside the ciphertext, and ask for the same kid to read.
 */
export interface SubjectKey {
  kid: string;
  /** 32 bytes. */
  key: Buffer;
}

const PURPOSE = /^[a-z][a-z0-9-]{0,31}$/;

interface DataKey {
  /** A KeyObject, made once: a cipher made from a Buffer key builds one each time, several times the cost of the AES-GCM of a short field. */
  key: KeyObject;
  /**
   * Random id of this particular key of the subject, kept inside the wrapped key (so re-wrapping
   * under a new master key keeps it): a key that is erased and later re-created gets a new id.
   */
  kid: string;
}

interface Sealed {
  subjectId: string;
  kid: string;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

/** A small LRU over Map's insertion order, with an optional time-to-live per entry. */
class LruCache<K, V> {
  private readonly entries = new Map<K, { value: V; expiresAt: number }>();
  private readonly maxSize: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(maxSize: number, ttlMs: number, now: () => number) {
    this.maxSize = maxSize;
    this.ttlMs = ttlMs;
    this.now = now;
  }

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (this.now() >= entry.expiresAt) return undefined;
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: K, value: V): void {
    if (this.maxSize <= 0 || this.ttlMs <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
    while (this.entries.size > this.maxSize) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  deleteWhere(predicate: (key: K) => boolean): void {
    for (const key of [...this.entries.keys()]) if (predicate(key)) this.entries.delete(key);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Crypto-shredding for the event envelope (ARCHITECTURE.md §5). Fields named by the rules are
 * encrypted with the subject's own data key (AES-256-GCM) before they reach the log; deleting that
 * key (`erase`) leaves the ciphertext unreadable forever, and reads then show ERASED in its place.
 *
 * Encrypted values look like `pii:v1:<subject>:<kid>:<iv>:<ciphertext>:<tag>` (base64url parts). The
 * value is JSON-serialised first, so any JSON value round-trips. The GCM additional data binds the
 * subject, the event type, the field name and the key id, so a ciphertext moved to another field,
 * event type or subject fails authentication (a PersonalDataError) instead of reading as someone
 * else's data. Data keys are stored wrapped by the master key (AES-256-GCM, AAD = subject id).
 * A ciphertext naming a key id that is not the subject's current key reads as ERASED: without the
 * key, an erased value and a forged one cannot be told apart, but neither ever yields plaintext.
 *
 * Caching: unwrapped keys stay in memory for `cacheTtlMs` (LRU of `cacheSize`). `erase` evicts the
 * key here at once; an instance that erased nothing keeps using its cached copy until the TTL runs
 * out, so an erasure made elsewhere becomes effective on this instance within `cacheTtlMs`.
 *
 * Rules must only ever grow: a value recorded encrypted under a rule that is later removed would be
 * returned as ciphertext. A value without the `pii:v1:` prefix (recorded before its rule existed) is
 * returned unchanged. The subject field itself is never encrypted, so it must hold a pseudonymous id
 * (a user id), not personal data. After `erase`, encoding personal data about that subject fails
 * with SubjectErasedError (the key store keeps a tombstone), so nothing new about them is readable.
 */
export class PersonalDataCodec {
  private readonly keyStore: KeyStore;
  private readonly masterKey: KeyObject;
  private readonly rules: ReadonlyMap<string, PersonalDataRule>;
  private readonly keys: LruCache<string, DataKey>;
  /** `subject\0kid` of keys known to be erased: once gone a key never comes back, so no TTL is needed. */
  private readonly goneKeys: LruCache<string, true>;
  private readonly inflight = new Map<string, Promise<unknown>>();
  /** Bumped around every erasure, so a key fetched while one was running is not cached afterwards. */
  private generation = 0;

  constructor(options: PersonalDataCodecOptions) {
    if (!Buffer.isBuffer(options.masterKey) || options.masterKey.length !== KEY_BYTES) {
      throw new Error(`The master key must be exactly ${KEY_BYTES} bytes`);
    }
    const cacheSize = options.cacheSize ?? 10_000;
    const cacheTtlMs = options.cacheTtlMs ?? 60_000;
    if (!Number.isInteger(cacheSize) || cacheSize < 0) throw new Error('cacheSize must be a non-negative integer');
    if (!(cacheTtlMs >= 0)) throw new Error('cacheTtlMs must be a non-negative number');
    this.keyStore = options.keyStore;
    this.masterKey = createSecretKey(Buffer.from(options.masterKey));
    this.rules = PersonalDataCodec.checkRules(options.rules);
    const now = options.now ?? Date.now;
    this.keys = new LruCache(cacheSize, cacheTtlMs, now);
    this.goneKeys = new LruCache(cacheSize, Number.POSITIVE_INFINITY, now);
  }

  private static checkRules(rules: PersonalDataRules): Map<string, PersonalDataRule> {
    const checked = new Map<string, PersonalDataRule>();
    for (const [type, rule] of Object.entries(rules)) {
      if (typeof rule?.subjectField !== 'string' || rule.subjectField.length === 0) {
        throw new Error(`Personal data rule for ${type}: subjectField must be a non-empty string`);
      }
      if (!Array.isArray(rule.fields) || rule.fields.some((f) => typeof f !== 'string' || f.length === 0)) {
        throw new Error(`Personal data rule for ${type}: fields must be non-empty strings`);
      }
      if (rule.fields.includes(rule.subjectField)) {
        throw new Error(`Personal data rule for ${type}: the subject field "${rule.subjectField}" cannot itself be encrypted`);
      }
      if (rule.keyScope !== undefined && (!SCOPE_KIND.test(rule.keyScope.kind) || typeof rule.keyScope.field !== 'string'
        || rule.keyScope.field.length === 0 || rule.fields.includes(rule.keyScope.field))) {
        throw new Error(`Personal data rule for ${type}: keyScope needs a kind (a-z, -) and a field that is not itself encrypted`);
      }
      checked.set(type, { subjectField: rule.subjectField, fields: [...new Set(rule.fields)], keyScope: rule.keyScope });
    }
    return checked;
  }

  /** Encrypts the rule's fields that are present (not null or undefined); creates the subject's key on first use. */
  async encode(event: NewEvent): Promise<NewEvent> {
    const rule = this.rules.get(event.type);
    if (!rule || !isRecord(event.data)) return event; // a non-object is left for the store to reject
    const data = event.data;
    const subjectId = data[rule.subjectField];
    if (typeof subjectId !== 'string' || subjectId.length === 0) {
      throw new PersonalDataError(
        `Event type ${event.type}: data.${rule.subjectField} must be a non-empty string naming the data subject`,
      );
    }
    const present = rule.fields.filter((field) => data[field] !== undefined && data[field] !== null);
    if (present.length === 0) return event;
    const keySubject = PersonalDataCodec.keySubject(rule, data, subjectId, event.type);
    const dataKey = await this.keyForWriting(keySubject);
    const encoded: Record<string, unknown> = { ...data };
    for (const field of present) {
      encoded[field] = this.seal(dataKey, keySubject, event.type, field, data[field]);
    }
    return { ...event, data: encoded };
  }

  /** Decrypts; a field whose key has been erased reads as ERASED and is listed in `erasedFields`. */
  async decode(event: RecordedEvent): Promise<RecordedEvent> {
    const rule = this.rules.get(event.type);
    if (!rule || !isRecord(event.data)) return event;
    const data = event.data;
    const sealedFields = rule.fields.filter((field) => {
      const value = data[field];
      return typeof value === 'string' && value.startsWith(PERSONAL_DATA_PREFIX);
    });
    if (sealedFields.length === 0) return event;
    const where = `Event ${event.id} (${event.type})`;
    const subjectId = data[rule.subjectField];
    if (typeof subjectId !== 'string' || subjectId.length === 0) {
      throw new PersonalDataError(`${where}: data.${rule.subjectField} does not name the subject of its encrypted fields`);
    }
    const decoded: Record<string, unknown> = { ...data };
    const erased: string[] = [];
    for (const field of sealedFields) {
      const sealed = this.parse(data[field] as string, `${where} field "${field}"`);
      // Values recorded before the rule had a keyScope stay sealed under the person's key.
      if (sealed.subjectId !== subjectId && (rule.keyScope === undefined
        || sealed.subjectId !== PersonalDataCodec.keySubject(rule, data, subjectId, event.type))) {
        throw new PersonalDataError(`${where} field "${field}": ciphertext belongs to another subject than data.${rule.subjectField}`);
      }
      const dataKey = await this.keyForReading(sealed.subjectId, sealed.kid);
      if (!dataKey) {
        decoded[field] = ERASED;
        erased.push(field);
      } else {
        decoded[field] = this.open(dataKey, sealed, event.type, field, `${where} field "${field}"`);
      }
    }
    const result: RecordedEvent = { ...event, data: decoded };
    if (erased.length > 0) result.erasedFields = [...new Set([...(event.erasedFields ?? []), ...erased])];
    return result;
  }

  /** The key subject of an event under `rule`: the person, or the item its keyScope names. */
  private static keySubject(rule: PersonalDataRule, data: Record<string, unknown>, subjectId: string, type: string): string {
    if (rule.keyScope === undefined) return subjectId;
    const itemId = data[rule.keyScope.field];
    if (typeof itemId !== 'string' || itemId.length === 0) {
      throw new PersonalDataError(`Event type ${type}: data.${rule.keyScope.field} must be a non-empty string naming the item`);
    }
    return itemSubject(subjectId, rule.keyScope.kind, itemId);
  }

  /**
   * Deletes the subject's data key everywhere it is stored, and from this instance's cache. For a
   * person, every item key of theirs (`<person>/…`) goes too; an item subject deletes that item's key only.
   */
  async erase(subjectId: string): Promise<boolean> {
    if (typeof subjectId !== 'string' || subjectId.length === 0) throw new PersonalDataError('A subject id must be a non-empty string');
    const person = !subjectId.includes(SUBJECT_SCOPE_SEPARATOR);
    const prefix = subjectId + SUBJECT_SCOPE_SEPARATOR;
    const evict = () => {
      this.keys.delete(subjectId);
      if (person) this.keys.deleteWhere((key) => key.startsWith(prefix));
    };
    this.generation++;
    evict();
    try {
      // The person's tombstone first: from then on no item key of theirs can be made, so none escapes deleteUnder.
      const deleted = await this.keyStore.delete(subjectId);
      const items = person ? await this.keyStore.deleteUnder(prefix) : 0;
      return deleted || items > 0;
    } finally {
      this.generation++;
      evict();
    }
  }

  /**
   * The subject's key for `purpose` (HKDF-SHA256 from their data key, which is created on first use).
   * Throws SubjectErasedError once the subject has been erased.
   */
  async subjectKeyForWriting(subjectId: string, purpose: string): Promise<SubjectKey> {
    PersonalDataCodec.checkSubjectAndPurpose(subjectId, purpose);
    return PersonalDataCodec.derive(await this.keyForWriting(subjectId), subjectId, purpose);
  }

  /** The subject's key for `purpose` if `kid` is still their data key; undefined once erased. */
  async subjectKeyForReading(subjectId: string, kid: string, purpose: string): Promise<SubjectKey | undefined> {
    PersonalDataCodec.checkSubjectAndPurpose(subjectId, purpose);
    if (typeof kid !== 'string' || kid.length === 0) throw new PersonalDataError('A key id must be a non-empty string');
    const dataKey = await this.keyForReading(subjectId, kid);
    return dataKey && PersonalDataCodec.derive(dataKey, subjectId, purpose);
  }

  private static checkSubjectAndPurpose(subjectId: string, purpose: string): void {
    if (typeof subjectId !== 'string' || subjectId.length === 0) throw new PersonalDataError('A subject id must be a non-empty string');
    if (typeof purpose !== 'string' || !PURPOSE.test(purpose)) throw new PersonalDataError(`Invalid key purpose "${String(purpose)}"`);
  }

  private static derive(dataKey: DataKey, subjectId: string, purpose: string): SubjectKey {
    const info = Buffer.from(JSON.stringify(['evident-subject-key', 1, subjectId, dataKey.kid, purpose]), 'utf8');
    return { kid: dataKey.kid, key: Buffer.from(hkdfSync('sha256', dataKey.key, Buffer.alloc(0), info, KEY_BYTES)) };
  }

  // --- keys ---------------------------------------------------------------------------------------

  private async keyForWriting(subjectId: string): Promise<DataKey> {
    const cached = this.keys.get(subjectId);
    if (cached) return cached;
    return this.once(`w\0${subjectId}`, async () => {
      const generation = this.generation;
      let wrapped = await this.keyStore.get(subjectId);
      if (!wrapped) wrapped = await this.keyStore.putIfAbsent(subjectId, this.wrap(subjectId, randomBytes(KID_BYTES + KEY_BYTES)));
      const dataKey = this.unwrap(subjectId, wrapped);
      if (generation === this.generation) this.keys.set(subjectId, dataKey);
      return dataKey;
    });
  }

  /**
   * The subject's key if it is the one (`kid`) a ciphertext was sealed with, else undefined: erased.
   * A mismatch is conclusive because the ciphertext proves that `kid` was stored before this fetch
   * began (fetches are shared only between readers of the same kid), and keys are only ever deleted.
   */
  private async keyForReading(subjectId: string, kid: string): Promise<DataKey | undefined> {
    const cached = this.keys.get(subjectId);
    if (cached?.kid === kid) return cached;
    const goneKey = `${subjectId}\0${kid}`;
    if (this.goneKeys.get(goneKey)) return undefined;
    const current = await this.once(`r\0${subjectId}\0${kid}`, async () => {
      const generation = this.generation;
      const wrapped = await this.keyStore.get(subjectId);
      const dataKey = wrapped && this.unwrap(subjectId, wrapped);
      if (generation === this.generation) {
        if (dataKey) this.keys.set(subjectId, dataKey);
        else this.keys.delete(subjectId);
      }
      return dataKey;
    });
    if (current?.kid === kid) return current;
    this.goneKeys.set(goneKey, true);
    return undefined;
  }

  /** One key-store round trip per subject at a time, however many events of theirs are decoded at once. */
  private once<T>(key: string, fetch: () => Promise<T>): Promise<T> {
    let pending = this.inflight.get(key) as Promise<T> | undefined;
    if (!pending) {
      pending = fetch().finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /** `material` is the key id followed by the key. */
  private wrap(subjectId: string, material: Buffer): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.masterKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(subjectId, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(material), cipher.final()]);
    return Buffer.concat([Buffer.from([WRAP_VERSION]), iv, cipher.getAuthTag(), ciphertext]);
  }

  private unwrap(subjectId: string, wrapped: Buffer): DataKey {
    if (wrapped.length !== WRAPPED_BYTES || wrapped[0] !== WRAP_VERSION) {
      throw new PersonalDataError(`The stored data key of subject ${subjectId} is malformed`);
    }
    const iv = wrapped.subarray(1, 1 + IV_BYTES);
    const tag = wrapped.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const ciphertext = wrapped.subarray(1 + IV_BYTES + TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.masterKey, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(subjectId, 'utf8'));
      decipher.setAuthTag(tag);
      const material = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
      return { kid: material.subarray(0, KID_BYTES).toString('base64url'), key: createSecretKey(material.subarray(KID_BYTES)) };
    } catch {
      throw new PersonalDataError(
        `Cannot unwrap the data key of subject ${subjectId}: wrong master key, or the key store was tampered with`,
      );
    }
  }

  // --- fields -------------------------------------------------------------------------------------

  private static fieldAad(subjectId: string, kid: string, eventType: string, field: string): Buffer {
    return Buffer.from(JSON.stringify(['evident-pii', 1, subjectId, kid, eventType, field]), 'utf8');
  }

  private seal(dataKey: DataKey, subjectId: string, eventType: string, field: string, value: unknown): string {
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (error) {
      throw new PersonalDataError(`Event type ${eventType}: data.${field} is not JSON-serialisable (${(error as Error).message})`);
    }
    if (json === undefined) throw new PersonalDataError(`Event type ${eventType}: data.${field} is not JSON-serialisable`);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', dataKey.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(PersonalDataCodec.fieldAad(subjectId, dataKey.kid, eventType, field));
    const ciphertext = Buffer.concat([cipher.update(json, 'utf8'), cipher.final()]);
    return PERSONAL_DATA_PREFIX + [
      Buffer.from(subjectId, 'utf8').toString('base64url'),
      dataKey.kid,
      iv.toString('base64url'),
      ciphertext.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
    ].join(':');
  }

  private parse(value: string, where: string): Sealed {
    const parts = value.slice(PERSONAL_DATA_PREFIX.length).split(':');
    if (parts.length !== 5 || parts.some((part) => !B64URL.test(part))) {
      throw new PersonalDataError(`${where}: malformed encrypted value`);
    }
    const [subject, kid, iv, ciphertext, tag] = parts as [string, string, string, string, string];
    const sealed: Sealed = {
      subjectId: Buffer.from(subject, 'base64url').toString('utf8'),
      kid,
      iv: Buffer.from(iv, 'base64url'),
      ciphertext: Buffer.from(ciphertext, 'base64url'),
      tag: Buffer.from(tag, 'base64url'),
    };
    if (sealed.subjectId.length === 0 || kid.length === 0 || sealed.iv.length !== IV_BYTES
      || sealed.tag.length !== TAG_BYTES || sealed.ciphertext.length === 0) {
      throw new PersonalDataError(`${where}: malformed encrypted value`);
    }
    return sealed;
  }

  private open(dataKey: DataKey, sealed: Sealed, eventType: string, field: string, where: string): unknown {
    let json: string;
    try {
      const decipher = createDecipheriv('aes-256-gcm', dataKey.key, sealed.iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(PersonalDataCodec.fieldAad(sealed.subjectId, sealed.kid, eventType, field));
      decipher.setAuthTag(sealed.tag);
      json = Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString('utf8');
    } catch {
      throw new PersonalDataError(
        `${where}: encrypted value failed authentication (tampered with, or moved from another field, event type or subject)`,
      );
    }
    try {
      return JSON.parse(json) as unknown;
    } catch {
      throw new PersonalDataError(`${where}: decrypted value is not JSON`);
    }
  }
}
