import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BlobOpener, MAX_HEADER_BYTES, headerLength, type SubjectKeys } from './blob-cipher.ts';
import { BlobNotFoundError, BlobStoreClosedError, BlobTooLargeError, BlobUnreadableError } from './errors.ts';
import type { BlobStore, PutOptions, StoredBlob } from './port.ts';
import { blobRef, checkMaxBytes, checkOwnerId, checkSha256, ownerRef } from './references.ts';
import { sealStream, type SealedSink } from './seal-stream.ts';

export interface LocalBlobStoreOptions {
  /** The folder, e.g. `DATA_DIR/blobs`; created if missing. One process owns it (the data-dir lock). */
  dir: string;
  /** The owners' keys: the PersonalDataCodec. */
  keys: SubjectKeys;
}

const TMP = 'tmp';

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'ENOENT';
}

/** fsyncs a directory, so a rename or a new entry in it survives a power cut. */
async function syncDir(path: string): Promise<void> {
  const handle = await open(path, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function readExactly(handle: FileHandle, length: number, position: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let offset = 0;
  while (offset < length) {
    const { bytesRead } = await handle.read(buffer, offset, length - offset, position + offset);
    if (bytesRead === 0) break;
    offset += bytesRead;
  }
  return offset === length ? buffer : buffer.subarray(0, offset);
}

/**
 * Blobs as files: `<dir>/<sha256(owner)>/<sha256(owner, hash)>`, each the header then the segments
 * (blob-cipher.ts). A put writes to `<dir>/tmp/`, fsyncs, then renames into place and fsyncs the
 * folder: a crash leaves at most a temp file (removed at the next open), never a half blob.
 */
export class LocalBlobStore implements BlobStore {
  private readonly dir: string;
  private readonly tmp: string;
  private readonly keys: SubjectKeys;
  private closed = false;

  private constructor(options: LocalBlobStoreOptions) {
    this.dir = options.dir;
    this.tmp = join(options.dir, TMP);
    this.keys = options.keys;
  }

  static async open(options: LocalBlobStoreOptions): Promise<LocalBlobStore> {
    const store = new LocalBlobStore(options);
    await mkdir(store.dir, { recursive: true, mode: 0o700 });
    await rm(store.tmp, { recursive: true, force: true }); // what a crash left behind
    await mkdir(store.tmp, { mode: 0o700 });
    return store;
  }

  private check(): void {
    if (this.closed) throw new BlobStoreClosedError();
  }

  private ownerDir(ownerId: string): string {
    return join(this.dir, ownerRef(ownerId).toString('hex'));
  }

  private blobPath(ownerId: string, sha256: string): string {
    return join(this.ownerDir(ownerId), blobRef(ownerId, sha256).toString('hex'));
  }

  async put(ownerId: string, bytes: AsyncIterable<Uint8Array>, options: PutOptions): Promise<StoredBlob> {
    this.check();
    checkOwnerId(ownerId);
    return sealStream(this.keys, ownerId, bytes, options, (headerBytes) => this.tempSink(ownerId, headerBytes));
  }

  private async tempSink(ownerId: string, headerBytes: number): Promise<SealedSink> {
    const temp = join(this.tmp, `${randomBytes(16).toString('hex')}.part`);
    const handle = await open(temp, 'wx', 0o600);
    let position = headerBytes; // the header goes in front once it is known
    let open_ = true;
    const closeHandle = async () => {
      if (open_) {
        open_ = false;
        await handle.close();
      }
    };
    return {
      write: async (segment) => {
        let offset = 0;
        while (offset < segment.length) {
          const { bytesWritten } = await handle.write(segment, offset, segment.length - offset, position);
          offset += bytesWritten;
          position += bytesWritten;
        }
      },
      commit: async (header, blob) => {
        await handle.write(header, 0, header.length, 0);
        await handle.sync();
        await closeHandle();
        const ownerDir = this.ownerDir(ownerId);
        await mkdir(ownerDir, { recursive: true, mode: 0o700 });
        const target = this.blobPath(ownerId, blob.sha256);
        if (await this.fileExists(target)) {
          await unlink(temp); // idempotent: the first copy stays
          return;
        }
        await rename(temp, target);
        await syncDir(ownerDir);
        await syncDir(this.dir);
      },
      discard: async () => {
        await closeHandle().catch(() => {});
        await unlink(temp).catch(() => {});
      },
    };
  }

  private async fileExists(path: string): Promise<boolean> {
    try {
      const handle = await open(path, constants.O_RDONLY);
      await handle.close();
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  read(ownerId: string, sha256: string): AsyncIterable<Uint8Array> {
    return this.segments(ownerId, sha256, undefined);
  }

  async readAll(ownerId: string, sha256: string, maxBytes: number): Promise<Buffer> {
    checkMaxBytes(maxBytes);
    const parts: Buffer[] = [];
    for await (const part of this.segments(ownerId, sha256, maxBytes)) parts.push(part);
    return Buffer.concat(parts);
  }

  private async *segments(ownerId: string, sha256: string, maxBytes: number | undefined): AsyncGenerator<Buffer> {
    this.check();
    checkOwnerId(ownerId);
    checkSha256(sha256);
    let handle: FileHandle;
    try {
      handle = await open(this.blobPath(ownerId, sha256), constants.O_RDONLY);
    } catch (error) {
      if (isNotFound(error)) throw new BlobNotFoundError();
      throw error;
    }
    try {
      const { size: fileBytes } = await handle.stat();
      const start = await readExactly(handle, Math.min(MAX_HEADER_BYTES, fileBytes), 0);
      const headerBytes = headerLength(start);
      if (headerBytes === undefined || start.length < headerBytes) throw new BlobUnreadableError('corrupt', 'bad header');
      const opener = await BlobOpener.open(this.keys, ownerId, sha256, start.subarray(0, headerBytes));
      if (maxBytes !== undefined && opener.size > maxBytes) throw new BlobTooLargeError(maxBytes);
      if (fileBytes !== headerBytes + opener.storedBytes) throw new BlobUnreadableError('corrupt', 'the file is not as long as its header says');
      let position = headerBytes;
      for (let index = 0; index < opener.segmentCount; index++) {
        const length = opener.storedSegmentLength(index);
        const sealed = await readExactly(handle, length, position);
        position += length;
        yield opener.segment(sealed);
      }
      opener.finish();
    } finally {
      await handle.close();
    }
  }

  async exists(ownerId: string, sha256: string): Promise<boolean> {
    this.check();
    return this.fileExists(this.blobPath(checkOwnerId(ownerId), checkSha256(sha256)));
  }

  async delete(ownerId: string, sha256: string): Promise<void> {
    this.check();
    try {
      await unlink(this.blobPath(checkOwnerId(ownerId), checkSha256(sha256)));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async deleteOwner(ownerId: string): Promise<number> {
    this.check();
    const ownerDir = this.ownerDir(checkOwnerId(ownerId));
    // Moved aside first, so the owner's blobs vanish at once even if removing the files is interrupted.
    const doomed = join(this.tmp, `${randomBytes(16).toString('hex')}.deleted`);
    try {
      await rename(ownerDir, doomed);
    } catch (error) {
      if (isNotFound(error)) return 0;
      throw error;
    }
    await syncDir(this.dir);
    const count = (await readdir(doomed)).length;
    await rm(doomed, { recursive: true, force: true });
    return count;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
