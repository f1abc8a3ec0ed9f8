import { contextFromTraceParent, inSpan, withContext } from '../infra/tracing.ts';
import type { CommandContext } from '../commands/context.ts';
import { executeCommand, loadAggregate } from '../commands/execute-command.ts';
import {
  buildPrompt, conversationDecider, conversationStream, type ConversationCommand, type ConversationState, type ReplySource,
  type ReplyProvenance, MAX_REPLY_SOURCES,
} from '../domain/conversation/conversation.ts';
import { buildPromptWithSources, DEFAULT_MAX_SOURCE_CHARS, type PromptMessage } from '../domain/conversation/sources-prompt.ts';
import { DomainError } from '../domain/decider.ts';
import type { ProviderRegistry } from '../infra/ai/provider-registry.ts';
import { isProviderError, type ChatChunk, type TokenUsage } from '../infra/ai/provider.ts';
import type { EventStore, RecordedEvent } from '../infra/event-store/port.ts';
import { derivedUuid } from '../infra/ids.ts';
import type { Logger } from '../infra/logger.ts';
import { SubjectErasedError } from '../infra/personal-data/key-store.ts';
import type { AppPubSub } from '../infra/pubsub.ts';
import type { ReadDb } from '../infra/read-db/port.ts';
import { messageExists } from './conversations-queries.ts';
import { DeltaCoalescer } from './delta-coalescer.ts';
import { ReactorCheckpoints } from './processor/checkpoints.ts';
import { LeaseLoop } from './processor/lease-loop.ts';
import { ReplyDrafts } from './reply-drafts.ts';
import type { ReplyKnowledge } from './reply-knowledge.ts';
import { replyProvenance } from './reply-provenance.ts';
import type { ProjectionRunner } from './runner.ts';
import { Semaphore } from './processor/semaphore.ts';

const NAME = 'assistant-replies';
const MAX_CONCURRENT_DISPATCHES = 32;
/**
 * The checkpoint is written at most this often. Re-dispatching a message after a crash is harmless
 * (its reply id is derived from the message id, so the reply is not started twice), and fewer writes
 * keep the read database free for queries.
 */
const CHECKPOINT_INTERVAL_MS = 100;

/** Keeps the latest value and writes it at most once per interval; flush() writes what is pending. */
class CoalescedWriter<T> {
  private pending: T | undefined;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly write: (value: T) => Promise<void>;
  private readonly intervalMs: number;
  constructor(write: (value: T) => Promise<void>, intervalMs: number) {
    this.write = write;
    this.intervalMs = intervalMs;
  }
  set(value: T): void {
    this.pending = value;
    // A failed timed write is not fatal: the next one carries a newer position, and the final flush reports.
    this.timer ??= setTimeout(() => { this.flush().catch(() => {}); }, this.intervalMs);
  }
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const value = this.pending;
    this.pending = undefined;
    if (value !== undefined) this.writing = this.writing.catch(() => {}).then(() => this.write(value));
    return this.writing;
  }
}

export interface ReplyReactorOptions {
  store: EventStore;
  readDb: ReadDb;
  projections: ProjectionRunner;
  providers: ProviderRegistry;
  pubsub: AppPubSub;
  logger: Logger;
  newContext(): CommandContext;
  deltaIntervalMs?: number;
  leaseRetryMs?: number;
  errorBackoffMs?: number;
  draftIntervalMs?: number;
  /** Where replies of conversations with attached knowledge get their sources; without it they get none. */
  knowledge?: ReplyKnowledge;
  /** Chunks retrieved per reply (default 6). */
  sourcesLimit?: number;
  /** Characters of source text a prompt may hold (default 12000). */
  sourcesMaxChars?: number;
  /** Retrieval taking longer is given up: the reply is answered without sources (default 10000). */
  retrievalTimeoutMs?: number;
}

export const DEFAULT_SOURCES_LIMIT = 6;
export const DEFAULT_RETRIEVAL_TIMEOUT_MS = 10_000;

/** Why a reply's generation was aborted here. */
type AbortReason = 'cancel' | 'shutdown' | 'lease-lost' | 'superseded';

/** Who asked for a cancel, and in which request: the recorded cancellation is theirs. */
interface CancelledBy { actorId: string | null; requestId: string | null }

/** A provider request on its way: what the prompt was built with, and the stream whose first chunk was asked for. */
interface Opening {
  at: number;
  sources: ReplySource[];
  provenance: ReplyProvenance;
  chunks: AsyncIterator<ChatChunk>;
  first: Promise<IteratorResult<ChatChunk>>;
}

interface InFlight {
  controller: AbortController;
  control: { cancelledBy: CancelledBy | null };
  done: Promise<void>;
  conversationId: string;
  /** The text streamed so far. */
  text(): string;
}

export const replyIdFor = (messageId: string) => derivedUuid(`assistant-reply:${messageId}`);

/**
 * The process manager behind assistant replies: for every UserMessageSent (and ReplyRegenerationRequested) it starts a reply, streams
 * it from the provider (deltas go to the pub/sub only), and records the outcome as one event. Runs
 * on one instance at a time (a lease); whoever takes over first marks the replies that were in
 * flight on a dead instance as interrupted.
 */
export class ReplyReactor {
  private readonly options: ReplyReactorOptions;
  private readonly inFlight = new Map<string, InFlight>();
  private readonly loop: LeaseLoop;
  private readonly checkpoints: ReactorCheckpoints;
  private readonly drafts: ReplyDrafts;
  private controlStop: AbortController | undefined;
  private stopping = false;

  constructor(options: ReplyReactorOptions) {
    this.options = options;
    this.checkpoints = new ReactorCheckpoints(options.readDb);
    this.drafts = new ReplyDrafts(options.readDb, options.logger, options.draftIntervalMs);
    this.loop = new LeaseLoop({
      db: options.readDb,
      leaseName: `reactor:${NAME}`,
      logger: options.logger,
      leaseRetryMs: options.leaseRetryMs ?? 1_000,
      errorBackoffMs: options.errorBackoffMs ?? 1_000,
      whileLeased: (signal) => this.whileLeased(signal),
    });
  }

  /** True while this instance holds the reactor's lease. */
  get leased(): boolean {
    return this.loop.holding;
  }

  start(): void {
    this.listenForControl();
    this.loop.start();
  }

  /** Cancels a reply if this instance is generating it; true when it was. */
  cancelLocal(replyId: string, by: CancelledBy | null = null): boolean {
    const flight = this.inFlight.get(replyId);
    if (!flight) return false;
    flight.control.cancelledBy ??= by;
    flight.controller.abort('cancel' satisfies AbortReason);
    return true;
  }

  /** Replies being generated here are recorded as interrupted with their text so far, then the loop ends. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.controlStop?.abort();
    this.abortAll('shutdown');
    await Promise.allSettled([...this.inFlight.values()].map((f) => f.done));
    await this.loop.stop();
  }

  private abortAll(reason: AbortReason): void {
    for (const flight of this.inFlight.values()) flight.controller.abort(reason);
  }

  /**
   * Control messages from any instance: `cancel` stops a reply generated here; `resync` republishes
   * the text so far of a reply generated here, for a subscriber that resumed mid-reply.
   */
  private listenForControl(): void {
    const controller = new AbortController();
    this.controlStop = controller;
    const feed = this.options.pubsub.subscribe('replyControl', { signal: controller.signal });
    void (async () => {
      for await (const message of feed) {
        if (message?.action === 'cancel') {
          this.cancelLocal(message.replyId, { actorId: message.actorId ?? null, requestId: message.requestId ?? null });
        }
        else if (message?.action === 'resync') this.resync(message.replyId);
      }
    })().catch((error) => this.options.logger.error({ err: error }, 'reply control feed failed'));
  }

  private resync(replyId: string): void {
    const flight = this.inFlight.get(replyId);
    if (!flight) return;
    const text = flight.text();
    if (text.length > 0) this.publish(flight.conversationId, { kind: 'DELTA', replyId, messageId: replyId, delta: text, offset: 0 });
  }

  private async whileLeased(signal: AbortSignal): Promise<void> {
    const { store } = this.options;
    const replayedUpTo = await this.interruptOrphans(signal);
    if (replayedUpTo === null) return;
    const after = await this.checkpoints.read(NAME);
    if (signal.aborted) return;
    const subscription = store.subscribeToAll({ after, filter: { eventTypes: ['UserMessageSent', 'ReplyRegenerationRequested'] } });
    // The lease is gone (or we are stopping): no new dispatches, and replies streaming here stop
    // with their text so far, since the next holder would otherwise mark them interrupted under us.
    const onAbort = () => {
      void subscription.close();
      if (!this.stopping) this.abortAll('lease-lost');
    };
    signal.addEventListener('abort', onAbort, { once: true });
    // Messages of different conversations are dispatched concurrently (bounded); the checkpoint
    // still advances in log order, each step only once its own dispatch and all earlier ones are done.
    const slots = new Semaphore(MAX_CONCURRENT_DISPATCHES);
    const checkpoint = new CoalescedWriter((position: bigint) => this.checkpoints.save(NAME, position), CHECKPOINT_INTERVAL_MS);
    let dispatchedInOrder: Promise<void> = Promise.resolve();
    let failure: unknown;
    try {
      for await (const event of subscription) {
        if (signal.aborted || failure) break;
        await slots.acquire();
        if (signal.aborted) {
          slots.release();
          break;
        }
        const dispatched = this.dispatch(event, event.position <= replayedUpTo).finally(() => slots.release());
        // Observed through the chain below; but once an earlier link failed the chain never reaches
        // this one, and an unobserved rejection would end the process.
        dispatched.catch(() => {});
        dispatchedInOrder = dispatchedInOrder.then(() => dispatched).then(() => checkpoint.set(event.position));
        // A failed dispatch ends this lease's loop: the processor core logs it and resumes from the checkpoint.
        dispatchedInOrder.catch((error) => {
          failure ??= error;
          void subscription.close();
        });
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      await subscription.close();
      await dispatchedInOrder.catch(() => {});
      await Promise.allSettled([...this.inFlight.values()].map((f) => f.done));
      await checkpoint.flush().catch((err: unknown) => this.options.logger.warn({ err }, 'could not store the reactor checkpoint'));
    }
    if (failure) throw failure;
  }

  /**
   * Replies recorded as started but never finished belong to a process that died: say so, with the
   * text stored while they streamed. Needs the conversations read model to be caught up first; false
   * when stopped while waiting for it. Returns the head it waited for (null when stopped): the
   * conversations read model holds every reply started up to there.
   */
  private async interruptOrphans(signal: AbortSignal): Promise<bigint | null> {
    const { store, projections, readDb, logger } = this.options;
    const head = await store.headPosition();
    while (!(await projections.waitFor(head, { projections: ['conversations'], timeoutMs: 1_000 }))) {
      if (signal.aborted) return null;
    }
    const { rows } = await readDb.query<{ message_id: string; conversation_id: string; content: string | null }>(
      `SELECT message_id, conversation_id, content FROM messages WHERE role = 'assistant' AND status = 'streaming'`);
    for (const row of rows) {
      if (signal.aborted) return null;
      if (this.inFlight.has(row.message_id)) continue;
      await this.finish(row.conversation_id, row.message_id,
        { type: 'InterruptAssistantReply', conversationId: row.conversation_id, replyId: row.message_id, partialText: row.content ?? '' },
        await this.orphanContext(row.conversation_id, row.message_id));
      logger.warn({ replyId: row.message_id }, 'reply marked interrupted: its process stopped while generating');
    }
    return signal.aborted ? null : head;
  }

  /** An orphan's interruption is caused by (and correlated with) the start of the reply that never finished. */
  private async orphanContext(conversationId: string, replyId: string): Promise<CommandContext> {
    const context = this.options.newContext();
    const events = await this.options.store.readStream(conversationStream(conversationId));
    const started = events.find((e) => e.type === 'AssistantReplyStarted' && (e.data as { replyId?: string }).replyId === replyId);
    return started ? { ...context, causationId: started.id, correlationId: started.metadata.correlationId } : context;
  }

  /** The reply joins the trace of the operation that asked for it (the event's traceparent), on whichever instance generates it. */
  private dispatch(event: RecordedEvent, replayed: boolean): Promise<void> {
    return withContext(contextFromTraceParent(event.metadata.traceParent), () => inSpan('reply', { 'evident.event.type': event.type }, () => this.startReply(event, replayed)));
  }

  /**
   * `replayed`: the event is from before this lease's start, when the conversations read model was
   * caught up, so a reply already started for it is there; finding it skips loading and deciding on
   * the whole conversation only to be refused (a re-read of the log after the read models were reset
   * spent a tenth of its time on that). A live message is not looked up: its reply cannot exist yet.
   */
  private async startReply(event: RecordedEvent, replayed: boolean): Promise<void> {
    const { conversationId, messageId, replyId: requestedReplyId } = event.data as { conversationId: string; messageId: string; replyId?: string };
    // A regeneration chose its reply's id; a message's reply id is derived from the message's.
    const replyId = event.type === 'ReplyRegenerationRequested' && typeof requestedReplyId === 'string' ? requestedReplyId : replyIdFor(messageId);
    if (replayed && await messageExists(this.options.readDb, replyId)) return;
    const context = { ...this.options.newContext(), causationId: event.id, correlationId: event.metadata.correlationId };
    const loaded = await loadAggregate(this.options.store, conversationDecider, conversationStream(conversationId));
    const { state } = loaded;
    if (state.status !== 'active' || !state.model) return;
    const command: ConversationCommand = {
      type: 'StartAssistantReply', conversationId, replyId, inReplyTo: messageId, model: state.model, params: state.params,
    };
    const controller = new AbortController();
    // The user's message is durable (the reactor read it from the log), so the provider request goes
    // out now, beside the append of the reply's start, on the state that append will give; nothing it
    // streams is published, or counted as the reply, before the start is durable. A start that is
    // refused, already recorded or decided on a newer state cancels it.
    const early = this.openEarly(state, command, messageId, replyId, state.model, controller.signal);
    let started;
    try {
      // Decided on the state just loaded: one read of the stream before the provider is called, not two.
      started = await executeCommand(this.options.store, conversationDecider, conversationStream(conversationId), command, context, loaded);
    } catch (error) {
      controller.abort('superseded' satisfies AbortReason);
      if (error instanceof DomainError) return; // superseded by a newer message, or the conversation went away
      throw error;
    }
    if (started.events.length === 0) { // started before a restart; interruptOrphans dealt with it
      controller.abort('superseded' satisfies AbortReason);
      return;
    }
    let opening = early;
    if (started.reloaded) {
      // Decided on a newer state than the one the early request was built on: ask again on that one.
      opening?.abort();
      opening = undefined;
    }
    // Its start, then its text, are published once queries show the streaming reply (bounded, as for
    // the end), waited for beside the request: subscribers can load the reply they are told of, and
    // hear of it after the message it answers (announced once the same read model shows that).
    const visible = (started.position === null ? Promise.resolve(true)
      : this.options.projections.waitFor(started.position, { projections: ['conversations'], timeoutMs: 5_000 }).catch(() => false))
      .then((shown) => {
        this.publish(conversationId, { kind: 'REPLY_STARTED', replyId, messageId: replyId, inReplyTo: messageId, position: started.position?.toString() });
        return shown;
      });
    const progress = { text: '' };
    const control = { cancelledBy: null as CancelledBy | null };
    const done = this.generate(conversationId, replyId, state.model, started.state, messageId, controller, context, progress, control, visible, opening?.open)
      .catch((error) => this.options.logger.error({ err: error, replyId }, 'reply could not be recorded'))
      .finally(() => this.inFlight.delete(replyId));
    this.inFlight.set(replyId, { controller, control, done, conversationId, text: () => progress.text });
  }

  /**
   * The provider request for the reply `command` would start, sent before that start is appended, on
   * the state the append gives when it succeeds on `state` (undefined when the decider would not
   * start it). `abort` cancels the request alone, leaving `signal` (the reply's) alone.
   */
  private openEarly(
    state: ConversationState, command: ConversationCommand, inReplyTo: string, replyId: string, model: string, signal: AbortSignal,
  ): { open: Promise<Opening>; abort(): void } | undefined {
    let next: ConversationState;
    try {
      const events = conversationDecider.decide(command, state);
      if (events.length === 0) return undefined;
      next = events.reduce(conversationDecider.evolve, state);
    } catch {
      return undefined; // the append will be refused the same way
    }
    const own = new AbortController();
    const open = this.open(next, inReplyTo, replyId, model, AbortSignal.any([signal, own.signal]));
    open.catch(() => {}); // observed by generate, or dropped with the request
    return { open, abort: () => own.abort('superseded' satisfies AbortReason) };
  }

  /** Builds the prompt (with retrieved sources), resolves the model and sends the request: its first chunk is on the way. */
  private async open(state: ConversationState, inReplyTo: string, replyId: string, model: string, signal: AbortSignal): Promise<Opening> {
    const at = performance.now();
    const { messages, sources } = await this.prompt(state, inReplyTo, replyId, signal);
    const resolved = await this.options.providers.resolveModel(model);
    const provenance = replyProvenance({
      messages, history: state.history, requestedModel: resolved.model, params: state.params, sources, provider: resolved.provider,
    });
    const chunks = resolved.provider.streamChat({ model: resolved.model, messages, params: state.params, signal })[Symbol.asyncIterator]();
    const first = chunks.next();
    first.catch(() => {}); // observed by generate
    return { at, sources, provenance, chunks, first };
  }

  private async generate(
    conversationId: string, replyId: string, model: string, state: ConversationState, inReplyTo: string,
    controller: AbortController, context: CommandContext, progress: { text: string }, control: { cancelledBy: CancelledBy | null },
    visible: Promise<unknown>, early?: Promise<Opening>,
  ): Promise<void> {
    let startedAt = performance.now();
    let text = '';
    let firstTokenMs: number | null = null;
    let usage: TokenUsage | null = null;
    let finishReason: string | null = null;
    let reportedModel: string | null = null;
    let sources: ReplySource[] = [];
    /** Set once the prompt is about to be sent: a reply that fails before then has none. */
    let provenance: ReplyProvenance | null = null;
    const coalescer = new DeltaCoalescer(this.options.deltaIntervalMs ?? 30, (delta, offset) =>
      this.publish(conversationId, { kind: 'DELTA', replyId, messageId: replyId, delta, offset }));
    const elapsed = () => Math.round(performance.now() - startedAt);
    let outcome: ConversationCommand;
    let recordAs = context;
    let chunks: AsyncIterator<ChatChunk> | undefined;
    try {
      const opening = await (early ?? this.open(state, inReplyTo, replyId, model, controller.signal));
      startedAt = Math.min(startedAt, opening.at);
      sources = opening.sources;
      provenance = opening.provenance;
      chunks = opening.chunks;
      for (let next = opening.first; ; next = chunks.next()) {
        const step = await next;
        if (step.done) break;
        const chunk = step.value;
        if (chunk.type === 'delta') {
          if (firstTokenMs === null) {
            firstTokenMs = elapsed();
            await visible;
          }
          text += chunk.text;
          progress.text = text;
          coalescer.push(chunk.text);
          this.drafts.update(replyId, text);
        } else {
          usage = chunk.usage;
          finishReason = chunk.finishReason;
          reportedModel = chunk.model;
        }
      }
      chunks = undefined; // ran to its end
      outcome = {
        type: 'CompleteAssistantReply', conversationId, replyId, text, model: reportedModel, usage,
        timeToFirstTokenMs: firstTokenMs, latencyMs: elapsed(), finishReason, sources,
        provenance: provenance && { ...provenance, providerModel: reportedModel },
      };
    } catch (error) {
      const reason = controller.signal.aborted ? controller.signal.reason : null;
      if (reason === 'cancel') {
        // The person who cancelled is the actor, in their request; causation and correlation stay the message's.
        const by = control.cancelledBy;
        if (by?.actorId) recordAs = { ...context, actorId: by.actorId, requestId: by.requestId };
        const { state } = await loadAggregate(this.options.store, conversationDecider, conversationStream(conversationId));
        outcome = {
          type: 'CancelAssistantReply', conversationId, actorId: state.ownerId ?? '', replyId, partialText: text, latencyMs: elapsed(), provenance,
        };
      } else if (reason === 'shutdown' || reason === 'lease-lost') {
        outcome = { type: 'InterruptAssistantReply', conversationId, replyId, partialText: text };
      } else {
        if (!isProviderError(error)) this.options.logger.error({ err: error, replyId }, 'unexpected error while generating a reply');
        outcome = {
          type: 'FailAssistantReply', conversationId, replyId, partialText: text, latencyMs: elapsed(),
          errorCode: isProviderError(error) ? error.code : 'INTERNAL_ERROR',
          errorMessage: isProviderError(error) ? error.message : 'The reply failed unexpectedly',
          provenance,
        };
      }
    } finally {
      // A stream left early (an error here, an abort) is closed, as for-await would.
      void chunks?.return?.(undefined).catch(() => {});
      coalescer.flush();
      this.drafts.forget(replyId);
    }
    // Its end is announced after its start, even when the provider refused before the start was visible.
    await visible;
    await this.finish(conversationId, replyId, outcome, recordAs);
  }

  /**
   * The provider prompt: with the conversation's attached knowledge, the sources retrieved for the
   * newest message are numbered in it. Retrieval failing or timing out costs the sources, not the
   * reply; only an abort of the reply itself (cancel, shutdown, lease lost) is passed on.
   */
  private async prompt(
    state: ConversationState, inReplyTo: string, replyId: string, signal: AbortSignal,
  ): Promise<{ messages: PromptMessage[]; sources: ReplySource[] }> {
    const { knowledge: port, logger } = this.options;
    const { knowledgeBaseIds, documentIds } = state.knowledge;
    const question = state.history.find((entry) => entry.role === 'user' && entry.messageId === inReplyTo)?.content;
    if (!port || state.ownerId === null || question === undefined || (knowledgeBaseIds.length === 0 && documentIds.length === 0)) {
      return { messages: buildPrompt(state), sources: [] };
    }
    const limit = Math.max(1, Math.min(this.options.sourcesLimit ?? DEFAULT_SOURCES_LIMIT, MAX_REPLY_SOURCES));
    const timeout = AbortSignal.timeout(this.options.retrievalTimeoutMs ?? DEFAULT_RETRIEVAL_TIMEOUT_MS);
    const retrievalSignal = AbortSignal.any([signal, timeout]);
    try {
      const hits = await abortable(
        port.retrieve({ ownerId: state.ownerId, knowledgeBaseIds, documentIds, question, limit, signal: retrievalSignal }), retrievalSignal);
      if (!Array.isArray(hits)) throw new TypeError('retrieval returned no list');
      return buildPromptWithSources(state, hits.slice(0, limit), { maxSourceChars: this.options.sourcesMaxChars ?? DEFAULT_MAX_SOURCE_CHARS });
    } catch (error) {
      if (signal.aborted) throw error;
      // Only the error's kind: its message may quote the question or a document.
      logger.warn({ replyId, errorName: error instanceof Error ? error.name : typeof error, timedOut: timeout.aborted },
        'retrieval failed; answering without sources');
      return { messages: buildPrompt(state), sources: [] };
    }
  }

  /** Records how a reply ended, waits until queries can see it, then tells subscribers. */
  private async finish(conversationId: string, replyId: string, command: ConversationCommand, context: CommandContext): Promise<void> {
    let position: bigint | null = null;
    try {
      position = (await executeCommand(this.options.store, conversationDecider, conversationStream(conversationId), command, context)).position;
    } catch (error) {
      // Already finished (a cancel won the race), deleted, or its owner erased meanwhile: nothing to record.
      if (!(error instanceof DomainError) && !(error instanceof SubjectErasedError)) throw error;
    }
    if (position !== null) await this.options.projections.waitFor(position, { projections: ['conversations'], timeoutMs: 5_000 });
    const kind = {
      CompleteAssistantReply: 'REPLY_COMPLETED', CancelAssistantReply: 'REPLY_CANCELLED', FailAssistantReply: 'REPLY_FAILED',
      InterruptAssistantReply: 'REPLY_INTERRUPTED',
    }[command.type as string] ?? 'REPLY_FAILED';
    const error = command.type === 'FailAssistantReply' ? { errorCode: command.errorCode, errorMessage: command.errorMessage } : {};
    this.publish(conversationId, { kind, replyId, messageId: replyId, ...error, ...(position !== null ? { position: position.toString() } : {}) });
  }

  private publish(conversationId: string, payload: Record<string, unknown>): void {
    this.options.pubsub.publish('conversation', conversationId, payload);
  }
}

/** The promise's outcome, or a rejection as soon as `signal` aborts (a port that ignores the signal cannot hold a reply). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
