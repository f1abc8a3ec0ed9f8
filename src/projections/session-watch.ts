import type { Logger } from 'pino';
import type { EventStore, RecordedEvent } from '../infra/event-store/port.ts';
import { Wakeup } from '../infra/wakeup.ts';
import { Backoff } from './processor/backoff.ts';

export interface WatchedSession {
  userId: string;
  sessionId: string;
  /** Log position of the session's SessionStarted. */
  startedPosition: bigint;
  expiresAt: Date;
}

/** The events that end sessions: logout, password change, deactivation, erasure, and a revoked API key. */
export const SESSION_ENDING_EVENTS = ['SessionEnded', 'UserPasswordSet', 'UserDeactivated', 'UserDataErased', 'ApiKeyRevoked'] as const;

interface Watcher {
  session: WatchedSession;
  controller: AbortController;
  timer: NodeJS.Timeout | undefined;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Whether `event` ends `session`. */
export function endsSession(event: Pick<RecordedEvent, 'type' | 'data' | 'position'>, session: WatchedSession): boolean {
  const data = event.data as { userId?: string; sessionId?: string };
  switch (event.type) {
    case 'SessionEnded':
      return data.sessionId === session.sessionId;
    case 'ApiKeyRevoked':
      // An API key's viewer has `api-key:<keyId>` for a session id (graphql/authenticate.ts).
      return `api-key:${(event.data as { keyId?: string }).keyId}` === session.sessionId;
    case 'UserPasswordSet':
      // Sessions started before the new password; the one handed out with it starts after.
      return data.userId === session.userId && session.startedPosition < event.position;
    case 'UserDeactivated':
    case 'UserDataErased':
      return data.userId === session.userId;
    default:
      return false;
  }
}

/**
 * Ends live subscriptions when their session ends, on every instance: each instance follows the log
 * (from its start) for the events that end sessions, and aborts the signal of every subscription of
 * an ended session; expiry ends them by a timer. No lease: every instance watches its own subscribers.
 */
export class SessionWatch {
  private readonly store: EventStore;
  private readonly logger: Logger;
  private readonly byUser = new Map<string, Set<Watcher>>();
  private readonly stopping = new AbortController();
  private readonly wake = new Wakeup();
  private loop: Promise<void> | undefined;

  constructor(options: { store: EventStore; logger: Logger }) {
    this.store = options.store;
    this.logger = options.logger;
  }

  /** Resolves once the watch follows the log from its current head. */
  async start(): Promise<void> {
    const head = await this.store.headPosition();
    this.loop = this.follow(head);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake.fire();
    await this.loop;
    for (const watchers of this.byUser.values()) for (const watcher of watchers) clearTimeout(watcher.timer);
    this.byUser.clear();
  }

  /** A signal that aborts (reason: 'ended' or 'expired') when the session ends; call release() when done watching. */
  watch(session: WatchedSession): { signal: AbortSignal; release(): void } {
    const watcher: Watcher = { session, controller: new AbortController(), timer: undefined };
    let watchers = this.byUser.get(session.userId);
    if (!watchers) this.byUser.set(session.userId, (watchers = new Set()));
    watchers.add(watcher);
    this.armExpiry(watcher);
    return { signal: watcher.controller.signal, release: () => this.forget(watcher) };
  }

  private armExpiry(watcher: Watcher): void {
    const remaining = watcher.session.expiresAt.getTime() - Date.now();
    if (remaining <= 0) {
      this.end(watcher, 'expired');
      return;
    }
    watcher.timer = setTimeout(() => this.armExpiry(watcher), Math.min(remaining, MAX_TIMER_MS));
    watcher.timer.unref();
  }

  private end(watcher: Watcher, reason: 'ended' | 'expired'): void {
    this.forget(watcher);
    watcher.controller.abort(reason);
  }

  private forget(watcher: Watcher): void {
    clearTimeout(watcher.timer);
    const watchers = this.byUser.get(watcher.session.userId);
    watchers?.delete(watcher);
    if (watchers?.size === 0) this.byUser.delete(watcher.session.userId);
  }

  private async follow(from: bigint): Promise<void> {
    let position = from;
    const backoff = new Backoff(500, 10_000);
    while (!this.stopping.signal.aborted) {
      const subscription = this.store.subscribeToAll({ after: position, filter: { eventTypes: SESSION_ENDING_EVENTS } });
      const onStop = () => void subscription.close();
      this.stopping.signal.addEventListener('abort', onStop, { once: true });
      try {
        for await (const event of subscription) {
          position = event.position;
          backoff.reset();
          this.apply(event);
        }
      } catch (err) {
        if (this.stopping.signal.aborted) break;
        const waitMs = backoff.next();
        this.logger.warn({ err, retryInMs: waitMs }, 'session watch lost the log; resuming');
        await this.wake.sleep(waitMs, this.stopping.signal);
      } finally {
        this.stopping.signal.removeEventListener('abort', onStop);
        await subscription.close();
      }
    }
  }

  private apply(event: RecordedEvent): void {
    const userId = (event.data as { userId?: unknown }).userId;
    if (typeof userId !== 'string') return;
    for (const watcher of [...(this.byUser.get(userId) ?? [])]) {
      if (endsSession(event, watcher.session)) this.end(watcher, 'ended');
    }
  }
}
