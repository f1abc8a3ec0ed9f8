// The OpenAI-compatible API (docs/api-keys.md): `GET /v1/models` and `POST /v1/chat/completions`, with
// and without streaming, for programs holding an API key. A call is not a side channel: it runs through
// the same commands as sendMessage (a conversation of the caller's, their message, the reply reactor),
// so provenance, audit, usage, quotas and the data export see it like any other reply.
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { App } from '../app.ts';
import { QuotaExceededError } from '../commands/errors.ts';
import { loadAggregate } from '../commands/execute-command.ts';
import { importCallHistory } from '../commands/conversation-import.ts';
import { conversationDecider, conversationStream, MAX_IMPORTED_MESSAGES, MAX_MESSAGE_LENGTH, MAX_MODEL_LENGTH, MAX_SYSTEM_PROMPT_LENGTH } from '../domain/conversation/conversation.ts';
import { DomainError } from '../domain/decider.ts';
import { isProviderError } from '../infra/ai/provider.ts';
import { listKnowledgeBases } from '../projections/documents-queries.ts';
import { replyIdFor } from '../projections/reply-reactor.ts';
import { bearerToken, viewerForToken } from './authenticate.ts';
import type { Viewer } from './context.ts';
import { exposedError } from './errors.ts';
import { requestContext } from './request-context.ts';
import { announceToConversation } from './settle.ts';

export const OPENAI_API_PATH = '/v1';
const MAX_BODY_BYTES = 2 * 1024 * 1024;
const MAX_MESSAGES = 500;
/** Knowledge-base-backed model names: `kb:<knowledgeBaseId>/<model>`. */
const KB_MODEL = /^kb:([^/\s]{1,200})\/(.+)$/;
/** How often a waiting call checks the log for its reply's outcome, besides the pub/sub that normally tells it. */
const OUTCOME_POLL_MS = 1_000;
/** A reply that has not ended after this long is given up on (the provider's own timeouts normally end it first). */
const REPLY_TIMEOUT_MS = 10 * 60_000;
const KB_MODELS_LISTED = 100;

type ErrorType = 'invalid_request_error' | 'authentication_error' | 'permission_error' | 'not_found_error' | 'insufficient_quota' | 'api_error'
  | 'service_unavailable';

/** An error in OpenAI's shape, with its HTTP status. */
export class OpenAiApiError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  readonly code: string | null;
  readonly param: string | null;

  constructor(status: number, type: ErrorType, code: string | null, message: string, param: string | null = null) {
    super(message);
    this.name = 'OpenAiApiError';
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = param;
  }

  body() {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** Any error as the OpenAI error it is; unexpected ones are masked (and logged by the caller). */
function toApiError(error: unknown): OpenAiApiError | null {
  if (error instanceof OpenAiApiError) return error;
  if (error instanceof QuotaExceededError) return new OpenAiApiError(429, 'insufficient_quota', 'QUOTA_EXCEEDED', error.message);
  if (isProviderError(error)) {
    if (error.code === 'MODEL_NOT_FOUND') return new OpenAiApiError(404, 'invalid_request_error', 'model_not_found', error.message, 'model');
    if (error.code === 'PROVIDER_NOT_CONFIGURED') return new OpenAiApiError(503, 'service_unavailable', 'PROVIDER_NOT_CONFIGURED', error.message);
    return new OpenAiApiError(502, 'api_error', error.code, error.message);
  }
  const exposed = exposedError(error);
  if (!exposed) return null;
  const code = String(exposed.extensions.code);
  const status = ({ BAD_USER_INPUT: 400, NOT_FOUND: 404, CONFLICT: 409, FORBIDDEN: 403, UNAUTHENTICATED: 401, RATE_LIMITED: 429, SERVICE_UNAVAILABLE: 503 } as Record<string, number>)[code] ?? 400;
  const type: ErrorType = status === 404 ? 'not_found_error' : status === 401 ? 'authentication_error' : status === 403 ? 'permission_error'
    : status === 503 ? 'service_unavailable' : 'invalid_request_error';
  return new OpenAiApiError(status, type, code, exposed.message);
}

// --- request validation -------------------------------------------------------------------------

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const content = z.union([z.string(), z.array(textPart).max(100)]).transform((value) => (typeof value === 'string' ? value : value.map((p) => p.text).join('')));
const message = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content,
  name: z.string().max(100).optional(),
});

const chatRequest = z.object({
  model: z.string().min(1, 'is required').max(MAX_MODEL_LENGTH + 210),
  messages: z.array(message).min(1, 'must hold at least one message').max(MAX_MESSAGES),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  max_tokens: z.number().int().min(1).max(1_000_000).nullish(),
  max_completion_tokens: z.number().int().min(1).max(1_000_000).nullish(),
  n: z.literal(1).nullish(),
  user: z.string().max(200).nullish(),
  evident: z.object({
    conversation_id: z.string().min(1).max(200).nullish(),
    knowledge_base_ids: z.array(z.string().min(1).max(200)).max(20).nullish(),
    document_ids: z.array(z.string().min(1).max(200)).max(50).nullish(),
  }).nullish(),
});

type ChatRequest = z.infer<typeof chatRequest>;

function parseRequest(body: unknown): ChatRequest {
  const parsed = chatRequest.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const param = issue.path.join('.') || null;
  throw new OpenAiApiError(400, 'invalid_request_error', issue.code === 'unrecognized_keys' ? 'unknown_parameter' : 'invalid_value',
    `${param ?? 'body'}: ${issue.message}`, param);
}

interface Plan {
  model: string;
  /** The name the caller asked for, echoed in answers. */
  requested: string;
  systemPrompt: string | null;
  question: string;
  knowledgeBaseIds: string[];
  documentIds: string[];
  conversationId: string | null;
  /** Earlier user and assistant turns handed in, to record before the new message (none with conversationId). */
  history: Array<{ role: 'user' | 'assistant'; content: string }>;
}

/**
 * What the call asks for. Each call is a new conversation of the caller's (system messages are its
 * system prompt, the trailing user messages its one message) unless `evident.conversation_id` names one
 * of theirs to continue; then the conversation's own history stands and only the trailing user
 * messages of the call are new. Earlier assistant turns cannot be handed in yet (see docs/api-keys.md).
 */
function planCall(request: ChatRequest): Plan {
  const kb = KB_MODEL.exec(request.model);
  const model = kb ? kb[2]! : request.model;
  const messages = request.messages;
  let last = messages.length;
  while (last > 0 && messages[last - 1]!.role === 'user') last--;
  const trailing = messages.slice(last);
  if (trailing.length === 0) throw new OpenAiApiError(400, 'invalid_request_error', 'invalid_value', 'messages: the last message must be from the user', 'messages');
  const earlier = messages.slice(0, last);
  const conversationId = request.evident?.conversation_id ?? null;
  // Without a conversation of Evident's to continue, earlier user and assistant turns are the history the
  // caller kept: they are recorded (imported) before the new message. With one, its own history stands.
  const history = conversationId ? [] : earlier.flatMap((m) => (m.role === 'user' || m.role === 'assistant' ? [{ role: m.role, content: m.content }] : []));
  if (history.length > MAX_IMPORTED_MESSAGES) {
    throw new OpenAiApiError(400, 'invalid_request_error', 'array_above_max_length', `messages: at most ${MAX_IMPORTED_MESSAGES} earlier turns`, 'messages');
  }
  const emptyTurn = history.findIndex((turn) => turn.content.trim().length === 0);
  if (emptyTurn >= 0) throw new OpenAiApiError(400, 'invalid_request_error', 'invalid_value', `messages: earlier turn ${emptyTurn + 1} is empty`, 'messages');
  const question = trailing.map((m) => m.content).join('\n\n');
  if (question.trim().length === 0) throw new OpenAiApiError(400, 'invalid_request_error', 'invalid_value', 'messages: the user message is empty', 'messages');
  if (question.length > MAX_MESSAGE_LENGTH) {
    throw new OpenAiApiError(400, 'invalid_request_error', 'string_above_max_length', `messages: the user message exceeds ${MAX_MESSAGE_LENGTH} characters`, 'messages');
  }
  const system = conversationId ? '' : earlier.filter((m) => m.role === 'system' || m.role === 'developer').map((m) => m.content).join('\n\n');
  if (system.length > MAX_SYSTEM_PROMPT_LENGTH) {
    throw new OpenAiApiError(400, 'invalid_request_error', 'string_above_max_length', `messages: system messages exceed ${MAX_SYSTEM_PROMPT_LENGTH} characters`, 'messages');
  }
  return {
    model, requested: request.model, systemPrompt: system.length > 0 ? system : null, question, conversationId, history,
    knowledgeBaseIds: [...new Set([...(kb ? [kb[1]!] : []), ...(request.evident?.knowledge_base_ids ?? [])])],
    documentIds: [...new Set(request.evident?.document_ids ?? [])],
  };
}

// --- authentication -----------------------------------------------------------------------------

async function authenticate(app: App, req: Request, scopes: readonly string[]): Promise<Viewer> {
  const token = bearerToken(req.headers.authorization);
  if (!token) throw new OpenAiApiError(401, 'authentication_error', 'invalid_api_key', 'Send an Evident API key as Authorization: Bearer evk_…');
  const viewer = await viewerForToken(app.readDb, token);
  if (!viewer?.apiKey) throw new OpenAiApiError(401, 'authentication_error', 'invalid_api_key', 'The API key is not valid (unknown, revoked, or its owner is inactive)');
  if (!viewer.apiKey.scopes.some((scope) => scopes.includes(scope))) {
    throw new OpenAiApiError(403, 'permission_error', 'insufficient_scope', `This API key lacks the scope ${scopes.join(' or ')} this needs`);
  }
  return viewer;
}

// --- the reply ----------------------------------------------------------------------------------

interface Outcome {
  kind: 'completed' | 'failed' | 'cancelled' | 'interrupted';
  text: string;
  usage: { promptTokens: number; completionTokens: number; totalTokens: number } | null;
  finishReason: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  sources: unknown[];
}

/** The reply's outcome as the log has it, or null while it has none. */
async function outcomeFromLog(app: App, conversationId: string, replyId: string): Promise<Outcome | null> {
  const events = await app.store.readStream(conversationStream(conversationId));
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i]!;
    const data = event.data as Record<string, unknown>;
    if (data.replyId !== replyId) continue;
    const base = { usage: null, finishReason: null, errorCode: null, errorMessage: null, sources: [] as unknown[] };
    switch (event.type) {
      case 'AssistantReplyCompleted':
        return {
          ...base, kind: 'completed', text: String(data.text ?? ''), usage: (data.usage as Outcome['usage']) ?? null,
          finishReason: (data.finishReason as string | null) ?? null, sources: (data.sources as unknown[]) ?? [],
        };
      case 'AssistantReplyFailed':
        return { ...base, kind: 'failed', text: String(data.partialText ?? ''), errorCode: String(data.errorCode), errorMessage: String(data.errorMessage) };
      case 'AssistantReplyCancelled':
        return { ...base, kind: 'cancelled', text: String(data.partialText ?? '') };
      case 'AssistantReplyInterrupted':
        return { ...base, kind: 'interrupted', text: String(data.partialText ?? '') };
      case 'AssistantReplyStarted':
        return null;
    }
  }
  return null;
}

/**
 * Follows the reply to `messageId`: text deltas as they stream (from the pub/sub, deduplicated by
 * offset), then its outcome from the log. The pub/sub normally says when it ended; the log is checked
 * now and then as well, so a lost notification cannot hold the call.
 */
async function followReply(
  app: App, conversationId: string, replyId: string, feed: AsyncGenerator<Record<string, unknown>>, onText: (text: string) => void, signal: AbortSignal,
): Promise<Outcome> {
  let received = '';
  const deadline = Date.now() + REPLY_TIMEOUT_MS;
  let ended = false;
  const iterator = feed[Symbol.asyncIterator]();
  let next = iterator.next();
  while (!signal.aborted && Date.now() < deadline) {
    const tick = new Promise<'tick'>((resolve) => setTimeout(() => resolve('tick'), OUTCOME_POLL_MS).unref());
    const step = await Promise.race([next, tick]);
    if (step === 'tick' || ended) {
      const outcome = await outcomeFromLog(app, conversationId, replyId);
      if (outcome) return outcome;
      continue;
    }
    if (step.done) {
      ended = true;
      continue;
    }
    next = iterator.next();
    const payload = step.value;
    if (payload.replyId !== replyId) continue;
    if (payload.kind === 'DELTA' && typeof payload.delta === 'string' && typeof payload.offset === 'number') {
      const { delta, offset } = payload as { delta: string; offset: number };
      if (offset <= received.length && offset + delta.length > received.length) {
        const fresh = delta.slice(received.length - offset);
        received += fresh;
        onText(fresh);
      }
    } else if (typeof payload.kind === 'string' && ['REPLY_COMPLETED', 'REPLY_FAILED', 'REPLY_CANCELLED', 'REPLY_INTERRUPTED'].includes(payload.kind)) {
      const outcome = await outcomeFromLog(app, conversationId, replyId);
      if (outcome) return outcome;
    }
  }
  throw new OpenAiApiError(504, 'api_error', 'timeout', 'The reply did not finish in time');
}

const FINISH_REASONS = new Set(['stop', 'length', 'content_filter', 'tool_calls']);
const finishReason = (outcome: Outcome) => (outcome.finishReason && FINISH_REASONS.has(outcome.finishReason) ? outcome.finishReason : 'stop');
const usageBody = (usage: Outcome['usage']) => usage && ({
  prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.totalTokens,
});

function failureError(outcome: Outcome): OpenAiApiError {
  if (outcome.kind === 'failed') {
    return new OpenAiApiError(outcome.errorCode === 'PROVIDER_RATE_LIMITED' ? 429 : 502, 'api_error', outcome.errorCode, outcome.errorMessage ?? 'The reply failed');
  }
  return new OpenAiApiError(503, 'api_error', outcome.kind, outcome.kind === 'cancelled' ? 'The reply was cancelled' : 'The reply was interrupted (the server stopped); try again');
}

// --- the router ---------------------------------------------------------------------------------

export function openAiApiRouter(app: App): Router {
  const router = express.Router();
  const json = express.json({ limit: MAX_BODY_BYTES });

  const send = (res: Response, error: unknown) => {
    const apiError = toApiError(error);
    if (!apiError) {
      app.logger.error({ err: error, requestId: requestContext.getStore()?.requestId }, 'unexpected error in the OpenAI-compatible API');
    }
    const shown = apiError ?? new OpenAiApiError(500, 'api_error', 'INTERNAL_SERVER_ERROR', 'Unexpected error');
    // The openai client retries 429 by default: a used-up quota does not come back by retrying.
    if (shown.code === 'QUOTA_EXCEEDED') res.setHeader('x-should-retry', 'false');
    res.status(shown.status).json(shown.body());
  };

  router.get('/models', async (req, res) => {
    try {
      const viewer = await authenticate(app, req, ['read', 'chat']);
      const { models } = await app.providers.listModels();
      const data = models.map((m) => ({ id: m.id, object: 'model', created: 0, owned_by: m.ownedBy ?? m.provider }));
      const base = app.providers.defaultModel;
      if (base) {
        const bases = await listKnowledgeBases(app.readDb, viewer.userId, { first: KB_MODELS_LISTED });
        for (const kb of bases.rows) data.push({ id: `kb:${kb.knowledge_base_id}/${base}`, object: 'model', created: 0, owned_by: 'evident' });
      }
      res.json({ object: 'list', data });
    } catch (error) {
      send(res, error);
    }
  });

  router.post('/chat/completions', json, async (req, res) => {
    let headersSent = false;
    try {
      const viewer = await authenticate(app, req, ['chat']);
      const plan = planCall(parseRequest(req.body));
      const request = req.body as ChatRequest;
      const requestId = requestContext.getStore()?.requestId ?? null;
      const context = () => app.commandContext(viewer.userId, requestId);
      // Refusals that need no writes come first: an unknown model, a used-up quota, a base that is not theirs.
      await app.providers.resolveModel(plan.model);
      await app.usage.checkQuota(viewer.userId, new Date());

      let conversationId = plan.conversationId;
      if (conversationId === null) {
        const command = context();
        conversationId = command.newId();
        const params = Object.fromEntries(Object.entries({
          temperature: request.temperature, topP: request.top_p, maxTokens: request.max_completion_tokens ?? request.max_tokens,
        }).filter(([, v]) => v !== null && v !== undefined));
        if (plan.history.length === 0) {
          await app.conversations.start({
            conversationId, ownerId: viewer.userId, title: 'API call', model: plan.model, systemPrompt: plan.systemPrompt, params,
          }, command);
        } else {
          await importCallHistory({ store: app.store }, {
            conversationId, ownerId: viewer.userId, title: 'API call', model: plan.model, turns: plan.history,
          }, command);
          if (plan.systemPrompt !== null || Object.keys(params).length > 0) {
            await app.conversations.changeSettings({
              conversationId, actorId: viewer.userId, ...(plan.systemPrompt !== null ? { systemPrompt: plan.systemPrompt } : {}),
              ...(Object.keys(params).length > 0 ? { params } : {}),
            }, context());
          }
        }
      } else {
        const { state } = await loadAggregate(app.store, conversationDecider, conversationStream(conversationId));
        if (state.status !== 'active' || state.ownerId !== viewer.userId) throw new OpenAiApiError(404, 'not_found_error', 'conversation_not_found', 'Conversation not found', 'evident.conversation_id');
      }
      if (plan.knowledgeBaseIds.length > 0 || plan.documentIds.length > 0) {
        await app.conversationKnowledge.setConversationKnowledge({
          conversationId, ownerId: viewer.userId, knowledgeBaseIds: plan.knowledgeBaseIds, documentIds: plan.documentIds,
        }, context()).catch((error: unknown) => {
          if (error instanceof DomainError && error.code === 'NOT_FOUND') throw new OpenAiApiError(404, 'invalid_request_error', 'model_not_found', error.message, 'model');
          throw error;
        });
      }

      // Listening before the message is sent, so no delta is missed.
      const stop = new AbortController();
      const feed = app.pubsub.subscribe('conversation', conversationId, { signal: stop.signal });
      let replyId: string | null = null;
      const onClose = () => {
        if (res.writableFinished || !replyId || stop.signal.aborted) return;
        // The caller went away: stop the reply (it is recorded as cancelled with the text so far).
        void app.conversations.cancelReply({ conversationId: conversationId!, replyId, actorId: viewer.userId }, context()).catch(() => {});
        stop.abort();
      };
      res.on('close', onClose);
      try {
        const sent = await app.conversations.sendMessage({ conversationId, actorId: viewer.userId, content: plan.question }, context());
        replyId = replyIdFor(sent.messageId);
        // Not awaited: this answer streams the reply itself, and needs no read model to show the message first.
        announceToConversation(app, conversationId, sent.position, { kind: 'MESSAGE_ADDED', messageId: sent.messageId })
          .catch((err: unknown) => app.logger.warn({ err }, 'MESSAGE_ADDED was not announced'));
        const id = `chatcmpl-${replyId}`;
        const created = Math.floor(Date.now() / 1000);
        const evident = { conversation_id: conversationId, message_id: sent.messageId, reply_id: replyId };
        res.setHeader('x-evident-conversation-id', conversationId);

        if (request.stream) {
          res.status(200).setHeader('content-type', 'text/event-stream; charset=utf-8');
          res.setHeader('cache-control', 'no-cache');
          res.setHeader('x-accel-buffering', 'no');
          res.flushHeaders();
          headersSent = true;
          const chunk = (delta: Record<string, unknown>, finish: string | null, extra: Record<string, unknown> = {}) =>
            res.write(`data: ${JSON.stringify({
              id, object: 'chat.completion.chunk', created, model: plan.requested, system_fingerprint: null,
              choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...extra,
            })}\n\n`);
          chunk({ role: 'assistant', content: '' }, null, { evident });
          let streamed = '';
          const outcome = await followReply(app, conversationId, replyId, feed, (text) => {
            streamed += text;
            chunk({ content: text }, null);
          }, stop.signal);
          if (outcome.kind !== 'completed') {
            res.write(`data: ${JSON.stringify(failureError(outcome).body())}\n\n`);
          } else {
            // Whatever the pub/sub did not deliver (another instance's deltas lost on the way) comes from the log.
            if (outcome.text.startsWith(streamed) && outcome.text.length > streamed.length) chunk({ content: outcome.text.slice(streamed.length) }, null);
            chunk({}, finishReason(outcome));
            if (request.stream_options?.include_usage) {
              res.write(`data: ${JSON.stringify({
                id, object: 'chat.completion.chunk', created, model: plan.requested, system_fingerprint: null, choices: [], usage: usageBody(outcome.usage),
              })}\n\n`);
            }
          }
          res.write('data: [DONE]\n\n');
          res.end();
          return;
        }

        const outcome = await followReply(app, conversationId, replyId, feed, () => {}, stop.signal);
        if (outcome.kind !== 'completed') throw failureError(outcome);
        res.json({
          id, object: 'chat.completion', created, model: plan.requested, system_fingerprint: null,
          choices: [{ index: 0, message: { role: 'assistant', content: outcome.text, refusal: null }, logprobs: null, finish_reason: finishReason(outcome) }],
          usage: usageBody(outcome.usage),
          evident: { ...evident, sources: outcome.sources },
        });
      } finally {
        res.off('close', onClose);
        stop.abort();
      }
    } catch (error) {
      if (!headersSent) {
        send(res, error);
        return;
      }
      const apiError = toApiError(error) ?? new OpenAiApiError(500, 'api_error', 'INTERNAL_SERVER_ERROR', 'Unexpected error');
      if (!res.writableEnded) {
        res.write(`data: ${JSON.stringify(apiError.body())}\n\ndata: [DONE]\n\n`);
        res.end();
      }
    }
  });

  router.use((_req: Request, res: Response) => {
    res.status(404).json(new OpenAiApiError(404, 'invalid_request_error', 'unknown_url', 'Unknown endpoint: this server offers GET /v1/models and POST /v1/chat/completions').body());
  });
  router.use((error: Error & { type?: string }, _req: Request, res: Response, next: NextFunction) => {
    if (error.type === 'entity.too.large') res.status(413).json(new OpenAiApiError(413, 'invalid_request_error', 'request_too_large', `The body exceeds ${MAX_BODY_BYTES} bytes`).body());
    else if (error.type === 'entity.parse.failed') res.status(400).json(new OpenAiApiError(400, 'invalid_request_error', 'invalid_json', 'The body is not valid JSON').body());
    else next(error);
  });
  return router;
}
