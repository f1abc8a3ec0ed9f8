import { stringifyDocument } from '@urql/core';
import type { Client as SseClient } from 'graphql-sse';
import { useSyncExternalStore } from 'react';
import { createSubscriptionClient } from '../../client.ts';
import { DocumentEventsSubscription, type DocumentItem, type DocumentUpdate } from './operations.ts';
import { sendFile, UploadCancelled, UploadRefused, type UploadRefusal } from './upload.ts';

/**
 * Where an upload is: waiting its turn, its bytes being sent, then the ingestion stages the server
 * reports (documentEvents), up to an end: indexed (ready), failed (ingestion gave up), refused (the
 * server did not take the file), cancelled, deleted, or lost (it could no longer be followed).
 */
export type UploadStage =
  | 'queued' | 'sending' | 'uploaded' | 'extracting' | 'extracted' | 'chunked' | 'embedding' | 'indexed'
  | 'failed' | 'refused' | 'cancelled' | 'deleted' | 'lost';

/** The stages in the order they happen: an update that would go back (events can arrive out of order) is not shown. */
const ORDER: readonly UploadStage[] = ['queued', 'sending', 'uploaded', 'extracting', 'extracted', 'chunked', 'embedding', 'indexed'];
const ENDS: ReadonlySet<UploadStage> = new Set(['indexed', 'failed', 'refused', 'cancelled', 'deleted', 'lost']);

export interface UploadItem {
  key: string;
  name: string;
  size: number;
  /** Set for a new version of this document (named versionOfName). */
  versionOf: string | null;
  versionOfName: string | null;
  stage: UploadStage;
  sent: number;
  total: number;
  documentId: string | null;
  version: number | null;
  pages: { done: number; total: number } | null;
  chunks: { done: number; total: number } | null;
  failure: DocumentItem['failure'];
  refusal: UploadRefusal | null;
  /** The live updates dropped and are being reconnected. */
  reconnecting: boolean;
}

export const isFinished = (item: UploadItem) => ENDS.has(item.stage);

/** How far along, 0 to 100: the bytes sent are the first half, the ingestion stages the second. */
export function percent(item: UploadItem): number {
  const share = (part: { done: number; total: number } | null) => (part && part.total > 0 ? Math.min(1, part.done / part.total) : 0);
  switch (item.stage) {
    case 'queued': return 0;
    case 'sending': return item.total > 0 ? Math.round((50 * item.sent) / item.total) : 0;
    case 'uploaded': return 50;
    case 'extracting': return 50 + Math.round(15 * share(item.pages));
    case 'extracted': return 65;
    case 'chunked': return 70;
    case 'embedding': return 70 + Math.round(25 * share(item.chunks));
    case 'indexed': return 100;
    default: return item.sent > 0 && item.documentId ? 50 : 0;
  }
}

/** At most this many uploads send or are followed at once: the browser opens only a few connections per server. */
const MAX_ACTIVE = 3;
const MAX_FOLLOW_FAILURES = 8;
const QUERY = stringifyDocument(DocumentEventsSubscription);

/**
 * The uploads of this tab. They live outside the page, so leaving the documents page does not cut
 * them off; they belong to one signed-in person (bindOwner clears them when another signs in).
 */
class UploadStore {
  private items: UploadItem[] = [];
  private readonly listeners = new Set<() => void>();
  private readonly changeListeners = new Set<(documentId: string) => void>();
  private readonly files = new Map<string, File>();
  private readonly stops = new Map<string, () => void>();
  private owner: string | null = null;
  private sse: SseClient | null = null;
  private counter = 0;

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  };

  getSnapshot = () => this.items;

  /** Called with every document whose state an upload changed (to refresh lists showing it). */
  onDocumentChanged(listener: (documentId: string) => void): () => void {
    this.changeListeners.add(listener);
    return () => void this.changeListeners.delete(listener);
  }

  bindOwner(ownerId: string): void {
    if (this.owner === ownerId) return;
    for (const stop of this.stops.values()) stop();
    this.stops.clear();
    this.files.clear();
    this.sse?.dispose();
    this.sse = null;
    this.owner = ownerId;
    this.set([]);
  }

  add(files: Iterable<File>, versionOf: { id: string; name: string | null } | null = null): void {
    const added: UploadItem[] = [];
    for (const file of files) {
      const key = `upload-${++this.counter}`;
      this.files.set(key, file);
      added.push({
        key, name: file.name, size: file.size, versionOf: versionOf?.id ?? null, versionOfName: versionOf?.name ?? null, stage: 'queued', sent: 0, total: file.size, documentId: null, version: null,
        pages: null, chunks: null, failure: null, refusal: null, reconnecting: false,
      });
    }
    this.set([...added, ...this.items]);
    this.pump();
  }

  cancel(key: string): void {
    const item = this.find(key);
    if (!item) return;
    if (item.stage === 'queued') {
      this.files.delete(key);
      this.update(key, { stage: 'cancelled' });
    } else this.stops.get(key)?.();
  }

  dismiss(key: string): void {
    const item = this.find(key);
    if (!item || !isFinished(item)) return;
    this.set(this.items.filter((other) => other.key !== key));
  }

  /** The document was deleted here: its finished uploads say so (and link to it no more). */
  markDeleted(documentId: string): void {
    if (!this.items.some((item) => item.documentId === documentId && isFinished(item))) return;
    this.set(this.items.map((item) => (item.documentId === documentId && isFinished(item) ? { ...item, stage: 'deleted' } : item)));
  }

  clearFinished(): void {
    this.set(this.items.filter((item) => !isFinished(item)));
  }

  private find(key: string): UploadItem | undefined {
    return this.items.find((item) => item.key === key);
  }

  private set(items: UploadItem[]): void {
    this.items = items;
    for (const listener of this.listeners) listener();
  }

  private update(key: string, patch: Partial<UploadItem>): void {
    this.set(this.items.map((item) => (item.key === key ? { ...item, ...patch } : item)));
  }

  private changed(documentId: string): void {
    for (const listener of this.changeListeners) listener(documentId);
  }

  private pump(): void {
    const owner = this.owner;
    let active = this.stops.size;
    // Oldest first: the list shows the newest on top.
    for (const item of [...this.items].reverse()) {
      if (active >= MAX_ACTIVE) break;
      if (item.stage !== 'queued') continue;
      active += 1;
      void this.send(item.key, owner);
    }
  }

  private async send(key: string, owner: string | null): Promise<void> {
    const file = this.files.get(key);
    const item = this.find(key);
    if (!file || !item) return;
    const controller = new AbortController();
    this.stops.set(key, () => controller.abort());
    this.update(key, { stage: 'sending', sent: 0, total: file.size });
    let frame = 0;
    let progress = { sent: 0, total: file.size };
    try {
      const sent = await sendFile(file, {
        versionOf: item.versionOf,
        signal: controller.signal,
        onProgress: (done, total) => {
          progress = { sent: done, total };
          // Progress events can come faster than frames: show at most one per frame.
          frame ||= requestAnimationFrame(() => {
            frame = 0;
            if (this.find(key)?.stage === 'sending') this.update(key, progress);
          });
        },
      });
      cancelAnimationFrame(frame);
      if (this.owner !== owner) return;
      this.files.delete(key);
      this.stops.delete(key);
      this.update(key, { stage: 'uploaded', sent: progress.total, total: progress.total, documentId: sent.documentId, version: sent.version });
      this.changed(sent.documentId);
      this.follow(key, sent.documentId, sent.version);
    } catch (error) {
      cancelAnimationFrame(frame);
      if (this.owner !== owner) return;
      this.files.delete(key);
      this.stops.delete(key);
      if (error instanceof UploadCancelled) this.update(key, { stage: 'cancelled' });
      else if (error instanceof UploadRefused) this.update(key, { stage: 'refused', refusal: error.refusal });
      else this.update(key, { stage: 'refused', refusal: { status: 0, code: 'INTERNAL_SERVER_ERROR', message: String(error), maxBytes: null } });
    }
    this.pump();
  }

  private client(): SseClient {
    this.sse ??= createSubscriptionClient();
    return this.sse;
  }

  /** The ingestion of the uploaded version, over documentEvents, until it ends; reconnects (backing off) when the stream drops. */
  private follow(key: string, documentId: string, version: number): void {
    let stopped = false;
    let dispose: (() => void) | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let failures = 0;
    const finish = () => {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      const end = dispose;
      dispose = null;
      // Not from inside the sink's own callback.
      queueMicrotask(() => end?.());
      this.stops.delete(key);
      this.pump();
    };
    const retry = () => {
      if (stopped) return;
      dispose?.();
      dispose = null;
      failures += 1;
      if (failures > MAX_FOLLOW_FAILURES) {
        this.update(key, { stage: 'lost', reconnecting: false, refusal: { status: 0, code: 'NETWORK', message: '', maxBytes: null } });
        return finish();
      }
      this.update(key, { reconnecting: true });
      timer = setTimeout(connect, Math.min(15_000, 500 * 2 ** failures) * (0.5 + Math.random() / 2));
    };
    const connect = () => {
      if (stopped) return;
      dispose = this.client().subscribe<{ documentEvents: DocumentUpdate }>({ query: QUERY, variables: { documentId } }, {
        next: (result) => {
          if (stopped) return;
          const update = result.data?.documentEvents;
          if (update) {
            failures = 0;
            if (this.find(key)?.reconnecting) this.update(key, { reconnecting: false });
            this.apply(key, version, update);
            const item = this.find(key);
            if (!item || isFinished(item)) return finish();
          }
          const error = result.errors?.[0];
          if (error) {
            const code = typeof error.extensions?.code === 'string' ? error.extensions.code : 'INTERNAL_SERVER_ERROR';
            // NOT_FOUND right after an upload the server flagged pending: its read model catches up, so try again.
            if (code === 'UNAUTHENTICATED' || code === 'FORBIDDEN') {
              this.update(key, { stage: 'lost', reconnecting: false, refusal: { status: 0, code, message: error.message, maxBytes: null } });
              return finish();
            }
            retry();
          }
        },
        error: () => retry(),
        complete: () => {
          if (!stopped) retry();
        },
      });
    };
    this.stops.set(key, () => {
      this.update(key, { stage: 'lost', reconnecting: false });
      finish();
    });
    connect();
  }

  private apply(key: string, version: number, update: DocumentUpdate): void {
    const item = this.find(key);
    if (!item) return;
    if (update.kind === 'DELETED') {
      this.update(key, { stage: 'deleted' });
      this.changed(update.documentId);
      return;
    }
    if (update.kind === 'PROGRESS') {
      if (update.version !== null && update.version !== version) return;
      const stage = update.stage === 'extracting' || update.stage === 'embedding' ? update.stage : null;
      if (!stage || ORDER.indexOf(stage) < ORDER.indexOf(item.stage)) return;
      this.update(key, {
        stage,
        pages: update.pagesTotal !== null ? { done: update.pagesDone ?? 0, total: update.pagesTotal } : item.pages,
        chunks: update.chunksTotal !== null ? { done: update.chunksDone ?? 0, total: update.chunksTotal } : item.chunks,
      });
      return;
    }
    const document = update.document;
    // A snapshot of an older version (read before this one was recorded) says nothing about this upload.
    if (!document || document.version < version) return;
    this.changed(document.id);
    if (document.status === 'failed') {
      this.update(key, { stage: 'failed', failure: document.failure });
      return;
    }
    const stage = ORDER.find((known) => known === document.status);
    if (stage && ORDER.indexOf(stage) >= ORDER.indexOf(item.stage)) this.update(key, { stage });
  }
}

export const uploads = new UploadStore();

export function useUploads(): UploadItem[] {
  return useSyncExternalStore(uploads.subscribe, uploads.getSnapshot);
}
