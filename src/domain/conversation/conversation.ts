import { DomainError, type Decider, type DomainEvent, type PersonalFields } from '../decider.ts';
import { checkIdList, checkId } from '../identifiers.ts';
import { checkText, sanitizeOptionalText, sanitizeText } from '../text.ts';
import type { Upcaster } from '../upcasting.ts';

// --- limits ---------------------------------------------------------------------------------------

export const MAX_TITLE_LENGTH = 200;
export const DEFAULT_TITLE = 'New conversation';
export const MAX_SYSTEM_PROMPT_LENGTH = 20_000;
export const MAX_MESSAGE_LENGTH = 32_000;
export const MAX_MODEL_LENGTH = 200;
export const MIN_TEMPERATURE = 0;
export const MAX_TEMPERATURE = 2;
export const MIN_TOP_P = 0;
export const MAX_TOP_P = 1;
export const MIN_MAX_TOKENS = 1;
export const MAX_MAX_TOKENS = 1_000_000;
export const MAX_ATTACHED_KNOWLEDGE_BASES = 20;
export const MAX_ATTACHED_DOCUMENTS = 100;
export const MAX_REPLY_SOURCES = 100;
/** Import (src/domain/conversation/import-formats.ts): per conversation. */
export const MAX_IMPORTED_MESSAGES = 2_000;
export const MAX_IMPORTED_MESSAGE_LENGTH = 200_000;
/** Export files (import-formats.ts), and the earlier turns an OpenAI-compatible call hands in (`openai-api`). */
export const IMPORT_FORMATS = ['chatgpt', 'open-webui', 'openai-api'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];
export const MAX_TAGS = 20;
export const MAX_TAG_LENGTH = 40;

// --- events, commands, state ----------------------------------------------------------------------

/** Sampling parameters sent to the provider; absent keys mean "the provider's default". */
export interface ModelParams {
  temperature?: number;
  topP?: number;
  maxTokens?: number;
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

interface Ids { conversationId: string; ownerId: string }

/** What a conversation's replies may retrieve from: whole knowledge bases and single documents. */
export interface KnowledgeSelection {
  knowledgeBaseIds: string[];
  documentIds: string[];
}

/** One source a reply was given, as `[n]` in its prompt: which chunk of which document version. */
export interface ReplySource {
  n: number;
  documentId: string;
  version: number;
  chunkId: string;
  /** 1-based page where the chunk starts, when the format has pages. */
  page: number | null;
  score: number;
}

/**
 * Where a reply came from, in one place (docs/audit.md, "Reply provenance"): what was asked of which
 * provider, and fingerprints of exactly what it was sent. The hashes are computed where the prompt is
 * sent (the reply reactor); the domain only checks their shape.
 */
export interface ReplyProvenance {
  /** The model id the provider reported; null when it reported none (or the reply ended before it said). */
  providerModel: string | null;
  /** The model id sent to the provider. */
  requestedModel: string;
  params: ModelParams;
  /** sha256 (hex) of the system message's content as sent; null when the prompt had none. */
  systemPromptSha256: string | null;
  /** sha256 (hex) of the canonical JSON of the messages array sent to the provider. */
  promptSha256: string;
  /** Every user and assistant message the prompt held, oldest first. */
  inReplyTo: string[];
  /** The document versions the prompt quoted. */
  sources: Array<{ documentId: string; version: number; chunkId: string }>;
  /** The provider's id and the host of its base URL (never a key, path or credentials). */
  provider: { id: string; host: string | null } | null;
}

export type ConversationStarted = DomainEvent<'ConversationStarted', Ids & {
  title: string; model: string; systemPrompt: string | null; params: ModelParams;
}>;
export type ConversationRenamed = DomainEvent<'ConversationRenamed', Ids & { title: string }>;
export type ConversationArchived = DomainEvent<'ConversationArchived', Ids>;
export type ConversationUnarchived = DomainEvent<'ConversationUnarchived', Ids>;
/** Terminal: afterwards every command on the stream fails with NOT_FOUND. */
export type ConversationDeleted = DomainEvent<'ConversationDeleted', Ids>;
/**
 * Terminal, like a deletion: the retention policy's time ran out (src/domain/retention). Recorded by
 * the system; the conversation's own key is shredded afterwards, so its events read as erased.
 */
export type ConversationExpired = DomainEvent<'ConversationExpired', Ids & { lastActivityAt: string; retentionDays: number }>;
/**
 * Version 2 added `parentId` (the message it follows in the conversation's message tree: the active
 * leaf when it was sent, null for a first message) and `editedMessageId` (the message it is an edit
 * of, as a sibling, or null). Version 1 has neither: its logs are linear, so such a message follows
 * the conversation's newest message (its active leaf then) and is no edit.
 */
export type UserMessageSent = DomainEvent<'UserMessageSent', Ids & {
  messageId: string; content: string; parentId?: string | null; editedMessageId?: string | null;
}>;
/**
 * Another reply to a user message, as a sibling of the replies it already has; the reply reactor
 * starts it under `replyId`. The message becomes the active leaf until the reply starts.
 */
export type ReplyRegenerationRequested = DomainEvent<'ReplyRegenerationRequested', Ids & {
  messageId: string; replyId: string; previousReplyId: string | null;
}>;
/** The active branch changed: the path root → `leafId` is what the conversation shows and the next prompt holds. */
export type ConversationBranchSwitched = DomainEvent<'ConversationBranchSwitched', Ids & { messageId: string; leafId: string }>;
/** Later replies use this model (each reply records what it used). */
export type ConversationModelChanged = DomainEvent<'ConversationModelChanged', Ids & { model: string }>;
/** Later replies use these parameters: the whole set (absent keys mean the provider's default). */
export type ConversationParametersChanged = DomainEvent<'ConversationParametersChanged', Ids & { params: ModelParams }>;
/** Later replies use this system prompt (null: none). */
export type ConversationSystemPromptChanged = DomainEvent<'ConversationSystemPromptChanged', Ids & { systemPrompt: string | null }>;
export type ConversationPinned = DomainEvent<'ConversationPinned', Ids>;
export type ConversationUnpinned = DomainEvent<'ConversationUnpinned', Ids>;
/** A tag is typed by its owner: personal, sealed like the title. */
export type ConversationTagged = DomainEvent<'ConversationTagged', Ids & { tag: string }>;
export type ConversationUntagged = DomainEvent<'ConversationUntagged', Ids & { tag: string }>;
export type AssistantReplyStarted = DomainEvent<'AssistantReplyStarted', Ids & {
  replyId: string; inReplyTo: string; model: string; params: ModelParams;
}>;
/**
 * Version 2 added `sources` (empty for replies without knowledge, and for every version-1 event);
 * version 3 added `provenance` (null for older events).
 */
export type AssistantReplyCompleted = DomainEvent<'AssistantReplyCompleted', Ids & {
  replyId: string; text: string; model: string; params: ModelParams; usage: TokenUsage | null;
  timeToFirstTokenMs: number | null; latencyMs: number; finishReason: string | null; sources: ReplySource[];
  provenance: ReplyProvenance | null;
}>;
/** Version 2 added `provenance` (null for version 1, and when the reply ended before its prompt was sent). */
export type AssistantReplyCancelled = DomainEvent<'AssistantReplyCancelled', Ids & {
  replyId: string; partialText: string; latencyMs: number; provenance: ReplyProvenance | null;
}>;
/** Version 2 added `provenance` (null for version 1, and when the reply failed before its prompt was sent). */
export type AssistantReplyFailed = DomainEvent<'AssistantReplyFailed', Ids & {
  replyId: string; partialText: string; errorCode: string; errorMessage: string; latencyMs: number; provenance: ReplyProvenance | null;
}>;
/** The process generating the reply died mid-stream (recorded on restart). */
export type AssistantReplyInterrupted = DomainEvent<'AssistantReplyInterrupted', Ids & { replyId: string; partialText: string }>;
/** The whole new selection (not a change to the previous one); both lists empty means nothing is attached. */
export type ConversationKnowledgeAttached = DomainEvent<'ConversationKnowledgeAttached', Ids & KnowledgeSelection>;
/**
 * A conversation that starts as a copy of one exported from another application (the first event of
 * its stream, instead of ConversationStarted); its messages follow as ConversationMessageImported
 * events in the same append, one per message, so each keeps its own position (the messages' order).
 * `model` is the model the conversation continues with here.
 */
export type ConversationImported = DomainEvent<'ConversationImported', Ids & {
  format: ImportFormat; title: string; model: string; messageCount: number;
}>;
/** One message of an imported conversation: `createdAt` and `model` as the source recorded them (null when it did not). */
export type ConversationMessageImported = DomainEvent<'ConversationMessageImported', Ids & {
  messageId: string; role: 'user' | 'assistant'; content: string; createdAt: string | null; model: string | null;
}>;

export type ConversationEvent =
  | ConversationStarted
  | ConversationRenamed
  | ConversationArchived
  | ConversationUnarchived
  | ConversationDeleted
  | ConversationExpired
  | UserMessageSent
  | AssistantReplyStarted
  | AssistantReplyCompleted
  | AssistantReplyCancelled
  | AssistantReplyFailed
  | AssistantReplyInterrupted
  | ConversationKnowledgeAttached
  | ConversationImported
  | ConversationMessageImported
  | ReplyRegenerationRequested
  | ConversationBranchSwitched
  | ConversationModelChanged
  | ConversationParametersChanged
  | ConversationSystemPromptChanged
  | ConversationPinned
  | ConversationUnpinned
  | ConversationTagged
  | ConversationUntagged;

export interface ImportedMessageInput {
  messageId: string; role: 'user' | 'assistant'; content: string; createdAt: string | null; model: string | null;
}

export type ConversationCommand =
  | { type: 'StartConversation'; conversationId: string; ownerId: string; title: string; model: string;
      systemPrompt?: string | null; params?: ModelParams | null }
  | { type: 'RenameConversation'; conversationId: string; actorId: string; title: string }
  | { type: 'ArchiveConversation'; conversationId: string; actorId: string }
  | { type: 'UnarchiveConversation'; conversationId: string; actorId: string }
  | { type: 'DeleteConversation'; conversationId: string; actorId: string }
  /** Issued by the retention reactor once the policy's time has run out since lastActivityAt (no actorId). */
  | { type: 'ExpireConversation'; conversationId: string; lastActivityAt: string; retentionDays: number }
  | { type: 'SendUserMessage'; conversationId: string; actorId: string; messageId: string; content: string }
  /** Issued by the reply reactor, not by a person: no actorId. */
  | { type: 'StartAssistantReply'; conversationId: string; replyId: string; inReplyTo: string; model: string; params?: ModelParams | null }
  | { type: 'CompleteAssistantReply'; conversationId: string; replyId: string; text: string;
      /** The model the provider reports (e.g. a dated version of an alias); defaults to the one the reply started with. */
      model?: string | null;
      usage: TokenUsage | null; timeToFirstTokenMs: number | null; latencyMs: number; finishReason: string | null;
      /** The sources the prompt held (none when the conversation has no knowledge attached). */
      sources?: readonly ReplySource[] | null;
      /** Computed by the reply reactor; its params and sources are taken from the reply itself. */
      provenance?: ReplyProvenance | null }
  | { type: 'CancelAssistantReply'; conversationId: string; actorId: string; replyId: string; partialText: string; latencyMs: number;
      provenance?: ReplyProvenance | null }
  | { type: 'FailAssistantReply'; conversationId: string; replyId: string; partialText: string;
      errorCode: string; errorMessage: string; latencyMs: number; provenance?: ReplyProvenance | null }
  | { type: 'InterruptAssistantReply'; conversationId: string; replyId: string; partialText: string }
  /** Replaces the attached knowledge; whether each id exists and is the owner's is the command layer's check. */
  | { type: 'SetConversationKnowledge'; conversationId: string; actorId: string; knowledgeBaseIds: readonly string[]; documentIds: readonly string[] }
  /** A new conversation holding the messages of an exported one (ids come from the command layer). */
  | { type: 'ImportConversation'; conversationId: string; ownerId: string; format: ImportFormat; title: string; model: string;
      messages: readonly ImportedMessageInput[] }
  /** A new reply to `messageId` (a user message, or a reply whose user message is meant), beside the ones it has. */
  | { type: 'RegenerateReply'; conversationId: string; actorId: string; messageId: string; replyId: string }
  /** A new user message `newMessageId` beside `messageId`, with the same parent; a reply to it follows. */
  | { type: 'EditUserMessage'; conversationId: string; actorId: string; messageId: string; newMessageId: string; content: string }
  /** Shows the branch through `messageId`: the active leaf becomes its newest descendant along the newest children. */
  | { type: 'SwitchBranch'; conversationId: string; actorId: string; messageId: string }
  | { type: 'ChangeConversationModel'; conversationId: string; actorId: string; model: string }
  | { type: 'ChangeConversationParameters'; conversationId: string; actorId: string; params: ModelParams | null }
  | { type: 'ChangeConversationSystemPrompt'; conversationId: string; actorId: string; systemPrompt: string | null }
  | { type: 'PinConversation'; conversationId: string; actorId: string }
  | { type: 'UnpinConversation'; conversationId: string; actorId: string }
  | { type: 'TagConversation'; conversationId: string; actorId: string; tag: string }
  | { type: 'UntagConversation'; conversationId: string; actorId: string; tag: string };

/** One turn of the provider prompt. Only completed replies become assistant turns. */
export interface HistoryEntry {
  role: 'user' | 'assistant';
  content: string;
  /** The user message's id, or the reply's id for an assistant turn. */
  messageId: string;
}

export type ReplyStatus = 'streaming' | 'completed' | 'cancelled' | 'failed' | 'interrupted';

export interface ReplyInfo {
  inReplyTo: string;
  model: string;
  params: ModelParams;
  status: ReplyStatus;
}

/** One node of the message tree: a user message or an assistant reply (of any status). */
export interface MessageNode {
  role: 'user' | 'assistant';
  parentId: string | null;
  /** Oldest first: the siblings of each child, in the order a client shows them ("2/3"). */
  children: readonly string[];
  /** A user message's content, a completed reply's text; null for replies that did not complete. */
  content: string | null;
}

export interface ConversationState {
  status: 'none' | 'active' | 'deleted';
  conversationId: string | null;
  ownerId: string | null;
  title: string | null;
  model: string | null;
  systemPrompt: string | null;
  params: ModelParams;
  archived: boolean;
  /** The active path root → leaf, as prompt turns: user messages and completed replies only. */
  history: readonly HistoryEntry[];
  /** Every message and reply, by id. */
  nodes: ReadonlyMap<string, MessageNode>;
  /** The end of the active branch; null before the first message. */
  activeLeafId: string | null;
  /** The user message whose reply may be started next (with the reply id a regeneration chose), if any. */
  awaitingReply: { messageId: string; replyId: string | null } | null;
  pinned: boolean;
  tags: readonly string[];
  /** The reply being generated, if any (at most one at a time). */
  activeReply: { replyId: string; inReplyTo: string } | null;
  /** Every user message id → the id of the reply started for it (null while none was). */
  userMessages: ReadonlyMap<string, { replyId: string | null }>;
  /** Every reply ever started, by reply id. */
  replies: ReadonlyMap<string, ReplyInfo>;
  /** What replies retrieve from; both lists empty when nothing is attached. */
  knowledge: KnowledgeSelection;
}

export const conversationStream = (conversationId: string) => `conversation-${conversationId}`;

/** ownerId is the data subject of every personal field of a conversation. */
/** New conversation events are sealed under the conversation's own key, so it can expire alone (retention). */
const CONVERSATION_KEY = { kind: 'conversation', field: 'conversationId' } as const;

export const conversationPersonalData: Readonly<Record<string, PersonalFields>> = {
  ConversationStarted: { subjectField: 'ownerId', fields: ['title', 'systemPrompt'], keyScope: CONVERSATION_KEY },
  ConversationRenamed: { subjectField: 'ownerId', fields: ['title'], keyScope: CONVERSATION_KEY },
  UserMessageSent: { subjectField: 'ownerId', fields: ['content'], keyScope: CONVERSATION_KEY },
  ConversationSystemPromptChanged: { subjectField: 'ownerId', fields: ['systemPrompt'], keyScope: CONVERSATION_KEY },
  ConversationTagged: { subjectField: 'ownerId', fields: ['tag'], keyScope: CONVERSATION_KEY },
  ConversationUntagged: { subjectField: 'ownerId', fields: ['tag'], keyScope: CONVERSATION_KEY },
  AssistantReplyCompleted: { subjectField: 'ownerId', fields: ['text'], keyScope: CONVERSATION_KEY },
  AssistantReplyCancelled: { subjectField: 'ownerId', fields: ['partialText'], keyScope: CONVERSATION_KEY },
  AssistantReplyFailed: { subjectField: 'ownerId', fields: ['partialText'], keyScope: CONVERSATION_KEY },
  AssistantReplyInterrupted: { subjectField: 'ownerId', fields: ['partialText'], keyScope: CONVERSATION_KEY },
  ConversationImported: { subjectField: 'ownerId', fields: ['title'], keyScope: CONVERSATION_KEY },
  ConversationMessageImported: { subjectField: 'ownerId', fields: ['content'], keyScope: CONVERSATION_KEY },
};

/** AssistantReplyCompleted v1 had no sources: it used none. Provenance was not recorded before: null. */
export const conversationUpcasters: readonly Upcaster[] = [
  { type: 'AssistantReplyCompleted', fromVersion: 1, upcast: (data) => ({ ...(data as object), sources: [] }) },
  { type: 'AssistantReplyCompleted', fromVersion: 2, upcast: (data) => ({ ...(data as object), provenance: null }) },
  { type: 'AssistantReplyCancelled', fromVersion: 1, upcast: (data) => ({ ...(data as object), provenance: null }) },
  { type: 'AssistantReplyFailed', fromVersion: 1, upcast: (data) => ({ ...(data as object), provenance: null }) },
  // parentId stays absent: "after the newest message" (see UserMessageSent); no version-1 message was an edit.
  { type: 'UserMessageSent', fromVersion: 1, upcast: (data) => ({ ...(data as object), editedMessageId: null }) },
];

// --- validation -----------------------------------------------------------------------------------

const bad = (message: string) => new DomainError('BAD_USER_INPUT', message);

/** Checks and de-duplicates (first occurrence kept) both lists, each within its limit. */
export function normalizeKnowledgeSelection(raw: { knowledgeBaseIds: unknown; documentIds: unknown }): KnowledgeSelection {
  return {
    knowledgeBaseIds: checkIdList(raw.knowledgeBaseIds ?? [], 'Knowledge base ids', MAX_ATTACHED_KNOWLEDGE_BASES),
    documentIds: checkIdList(raw.documentIds ?? [], 'Document ids', MAX_ATTACHED_DOCUMENTS),
  };
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((id) => b.includes(id));

function positiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

/** Sources come from the reply reactor's retrieval: a malformed one is a bug, refused rather than recorded. */
export function normalizeSources(raw: readonly ReplySource[] | null | undefined): ReplySource[] {
  if (raw === null || raw === undefined) return [];
  if (!Array.isArray(raw)) throw bad('Sources must be a list');
  if (raw.length > MAX_REPLY_SOURCES) throw bad(`A reply can record at most ${MAX_REPLY_SOURCES} sources`);
  const numbers = new Set<number>();
  return raw.map((source: ReplySource) => {
    if (typeof source !== 'object' || source === null) throw bad('Each source must be an object');
    if (!positiveInteger(source.n)) throw bad('Source number n must be an integer of at least 1');
    if (numbers.has(source.n)) throw bad(`Source number ${source.n} is used twice`);
    numbers.add(source.n);
    if (!positiveInteger(source.version)) throw bad('Source version must be an integer of at least 1');
    const page = source.page ?? null;
    if (page !== null && !positiveInteger(page)) throw bad('Source page must be null or an integer of at least 1');
    if (typeof source.score !== 'number' || !Number.isFinite(source.score)) throw bad('Source score must be a finite number');
    return {
      n: source.n, documentId: checkId(source.documentId, 'Source document id'), version: source.version,
      chunkId: checkId(source.chunkId, 'Source chunk id'), page, score: source.score,
    };
  });
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

function sha256Hex(value: unknown, name: string, nullable: boolean): string | null {
  if (nullable && (value === null || value === undefined)) return null;
  if (typeof value !== 'string' || !SHA256_HEX.test(value)) throw bad(`${name} must be a lowercase sha256 hex digest`);
  return value;
}

function shortLine(value: unknown, name: string, nullable: boolean): string | null {
  if (nullable && (value === null || value === undefined)) return null;
  const text = typeof value === 'string' ? sanitizeText(value).trim() : '';
  if (text.length === 0 || text.length > MAX_MODEL_LENGTH) {
    if (nullable) return null;
    throw bad(`${name} must be 1 to ${MAX_MODEL_LENGTH} characters`);
  }
  return text;
}

/**
 * Provenance comes from the reply reactor: a malformed one is a bug, refused rather than recorded.
 * What the reply itself knows (its params, and for a completed reply its sources) is taken from it.
 */
export function normalizeProvenance(
  raw: ReplyProvenance | null | undefined, reply: { params: ModelParams; model: string }, sources?: readonly ReplySource[],
): ReplyProvenance | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw !== 'object') throw bad('Provenance must be an object');
  if (!Array.isArray(raw.inReplyTo) || raw.inReplyTo.length > 100_000) throw bad('Provenance inReplyTo must be a list of message ids');
  const provider = raw.provider === null || raw.provider === undefined ? null : {
    id: shortLine(raw.provider.id, 'Provider id', false)!, host: shortLine(raw.provider.host, 'Provider host', true),
  };
  const quoted = sources
    ? sources.map((s) => ({ documentId: s.documentId, version: s.version, chunkId: s.chunkId }))
    : normalizeSources((Array.isArray(raw.sources) ? raw.sources : []).map((s, i) => ({ ...s, n: i + 1, page: null, score: 0 })))
      .map((s) => ({ documentId: s.documentId, version: s.version, chunkId: s.chunkId }));
  return {
    providerModel: shortLine(raw.providerModel, 'Provider model', true),
    requestedModel: shortLine(raw.requestedModel, 'Requested model', true) ?? reply.model,
    params: reply.params,
    systemPromptSha256: sha256Hex(raw.systemPromptSha256, 'systemPromptSha256', true),
    promptSha256: sha256Hex(raw.promptSha256, 'promptSha256', false)!,
    inReplyTo: raw.inReplyTo.map((id) => checkId(id, 'Provenance message id')),
    sources: quoted,
    provider,
  };
}

function normalizeTitle(raw: string, fallback: string | null): string {
  const title = checkText(raw ?? '', 'Title', 'single-line').trim();
  if (title.length === 0 && fallback !== null) return fallback;
  if (title.length === 0 || title.length > MAX_TITLE_LENGTH) {
    throw bad(`Title must be 1 to ${MAX_TITLE_LENGTH} characters`);
  }
  return title;
}

function normalizeModel(raw: string): string {
  const model = checkText(raw ?? '', 'Model', 'single-line').trim();
  if (model.length === 0 || model.length > MAX_MODEL_LENGTH) throw bad(`Model must be 1 to ${MAX_MODEL_LENGTH} characters`);
  return model;
}

/** A blank system prompt means none; otherwise it is kept as written. */
function normalizeSystemPrompt(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  if (checkText(raw, 'System prompt').trim().length === 0) return null;
  if (raw.length > MAX_SYSTEM_PROMPT_LENGTH) throw bad(`System prompt must be at most ${MAX_SYSTEM_PROMPT_LENGTH} characters`);
  return raw;
}

/** Checked on its trimmed length, stored exactly as sent. */
function checkContent(raw: string): string {
  const length = checkText(raw, 'Message').trim().length;
  if (length === 0 || length > MAX_MESSAGE_LENGTH) throw bad(`Message must be 1 to ${MAX_MESSAGE_LENGTH} characters`);
  return raw;
}

/** What a model streamed is recorded whatever it holds, made safe to store. */
function replyText(raw: string): string {
  return typeof raw === 'string' ? sanitizeText(raw) : '';
}

function inRange(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max;
}

/** Keeps only the known keys that are set; null or undefined means "provider default". */
export function normalizeParams(raw: ModelParams | null | undefined): ModelParams {
  const params: ModelParams = {};
  if (raw === null || raw === undefined) return params;
  if (typeof raw !== 'object') throw bad('Parameters must be an object');
  const { temperature, topP, maxTokens } = raw as Record<string, unknown>;
  if (temperature !== undefined && temperature !== null) {
    if (!inRange(temperature, MIN_TEMPERATURE, MAX_TEMPERATURE)) {
      throw bad(`Temperature must be between ${MIN_TEMPERATURE} and ${MAX_TEMPERATURE}`);
    }
    params.temperature = temperature;
  }
  if (topP !== undefined && topP !== null) {
    if (!inRange(topP, MIN_TOP_P, MAX_TOP_P)) throw bad(`topP must be between ${MIN_TOP_P} and ${MAX_TOP_P}`);
    params.topP = topP;
  }
  if (maxTokens !== undefined && maxTokens !== null) {
    if (!inRange(maxTokens, MIN_MAX_TOKENS, MAX_MAX_TOKENS) || !Number.isInteger(maxTokens)) {
      throw bad(`maxTokens must be an integer between ${MIN_MAX_TOKENS} and ${MAX_MAX_TOKENS}`);
    }
    params.maxTokens = maxTokens;
  }
  return params;
}

/** Durations are whole milliseconds, never negative. */
function duration(value: number, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw bad(`${name} must be a non-negative number of milliseconds`);
  return Math.round(value);
}

function optionalDuration(value: number | null | undefined, name: string): number | null {
  return value === null || value === undefined ? null : duration(value, name);
}

function requireId(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw bad(`${name} is required`);
  return value;
}

// --- guards ---------------------------------------------------------------------------------------

const notFound = () => new DomainError('NOT_FOUND', 'Conversation not found');

function requireExisting(state: ConversationState): { conversationId: string; ownerId: string } {
  if (state.status !== 'active' || state.conversationId === null || state.ownerId === null) throw notFound();
  return { conversationId: state.conversationId, ownerId: state.ownerId };
}

/**
 * Only the owner may act on a conversation. A non-owner gets NOT_FOUND rather than FORBIDDEN, on
 * purpose: a FORBIDDEN would confirm that a conversation with that id exists, and whose it is none of
 * their business. So "not yours" and "no such conversation" are indistinguishable from outside.
 */
function requireOwned(state: ConversationState, actorId: string): { conversationId: string; ownerId: string } {
  const ids = requireExisting(state);
  if (ids.ownerId !== actorId) throw notFound();
  return ids;
}

/** A terminal reply event is only for a started reply; for one that already finished it is a no-op. */
function requireStreaming(state: ConversationState, replyId: string): ReplyInfo | null {
  const reply = state.replies.get(replyId);
  if (!reply) throw new DomainError('NOT_FOUND', 'Reply not found');
  return reply.status === 'streaming' ? reply : null;
}

/** A message or reply of the conversation, or NOT_FOUND. */
function requireNode(state: ConversationState, messageId: string): MessageNode {
  const node = typeof messageId === 'string' ? state.nodes.get(messageId) : undefined;
  if (!node) throw new DomainError('NOT_FOUND', 'Message not found');
  return node;
}

/** What adds to the conversation needs it not archived and no reply streaming. */
function requireWritable(state: ConversationState): void {
  if (state.archived) throw new DomainError('CONFLICT', 'Conversation is archived');
  if (state.activeReply) throw new DomainError('CONFLICT', 'A reply is still being generated');
}

// --- message tree ---------------------------------------------------------------------------------

/** The tree with `id` added as the newest child of its parent (a parent it does not hold makes it a root). */
function addNode(nodes: ReadonlyMap<string, MessageNode>, id: string, node: MessageNode): Map<string, MessageNode> {
  const next = new Map(nodes);
  const parent = node.parentId === null ? undefined : nodes.get(node.parentId);
  if (nodes.has(id)) return next; // never expected: ids are checked before they are recorded
  next.set(id, { ...node, parentId: parent ? node.parentId : null });
  if (parent) next.set(node.parentId!, { ...parent, children: [...parent.children, id] });
  return next;
}

/** The ids root → `leafId` (guarded against a cycle a corrupt log could hold). */
export function pathIds(nodes: ReadonlyMap<string, MessageNode>, leafId: string | null): string[] {
  const ids: string[] = [];
  const seen = new Set<string>();
  for (let id = leafId; id !== null && !seen.has(id); id = nodes.get(id)?.parentId ?? null) {
    if (!nodes.has(id)) break;
    seen.add(id);
    ids.push(id);
  }
  return ids.reverse();
}

/** The prompt turns of the path root → `leafId`: user messages and completed replies. */
function pathTo(nodes: ReadonlyMap<string, MessageNode>, leafId: string | null): HistoryEntry[] {
  const entries: HistoryEntry[] = [];
  for (const id of pathIds(nodes, leafId)) {
    const node = nodes.get(id)!;
    if (node.content !== null) entries.push({ role: node.role, content: node.content, messageId: id });
  }
  return entries;
}

/** The leaf reached from `id` by always taking the newest child. */
export function newestLeaf(nodes: ReadonlyMap<string, MessageNode>, id: string): string {
  const seen = new Set<string>([id]);
  let current = id;
  for (;;) {
    const next = nodes.get(current)?.children.at(-1);
    if (next === undefined || seen.has(next)) return current;
    seen.add(next);
    current = next;
  }
}

const tagKey = (tag: string) => tag.normalize('NFC').toLowerCase();
/** The tag as the conversation spells it, matched case-insensitively. */
function findTag(tags: readonly string[], tag: string): string | undefined {
  const key = tagKey(tag);
  return tags.find((t) => tagKey(t) === key);
}

/** Tags are single-line, trimmed, inner whitespace collapsed, 1 to MAX_TAG_LENGTH characters. */
export function normalizeTag(raw: string): string {
  const tag = checkText(raw ?? '', 'Tag', 'single-line').trim().replace(/\s+/gu, ' ').normalize('NFC');
  if (tag.length === 0 || tag.length > MAX_TAG_LENGTH) throw bad(`Tag must be 1 to ${MAX_TAG_LENGTH} characters`);
  return tag;
}

function sameParams(a: ModelParams, b: ModelParams): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof ModelParams>;
  return [...keys].every((key) => a[key] === b[key]);
}

// --- evolve helpers -------------------------------------------------------------------------------

function finishReply(state: ConversationState, replyId: string, status: Exclude<ReplyStatus, 'streaming'>): ConversationState {
  const reply = state.replies.get(replyId);
  const replies = reply ? new Map(state.replies).set(replyId, { ...reply, status }) : state.replies;
  const activeReply = state.activeReply?.replyId === replyId ? null : state.activeReply;
  return { ...state, replies, activeReply };
}

// --- decider --------------------------------------------------------------------------------------

export const conversationDecider: Decider<ConversationCommand, ConversationState, ConversationEvent> = {
  initialState: () => ({
    status: 'none',
    conversationId: null,
    ownerId: null,
    title: null,
    model: null,
    systemPrompt: null,
    params: {},
    archived: false,
    history: [],
    activeReply: null,
    userMessages: new Map(),
    replies: new Map(),
    knowledge: { knowledgeBaseIds: [], documentIds: [] },
    nodes: new Map(),
    activeLeafId: null,
    awaitingReply: null,
    pinned: false,
    tags: [],
  }),

  evolve(state, event) {
    switch (event.type) {
      case 'ConversationStarted': {
        const d = event.data;
        return {
          ...state, status: 'active', conversationId: d.conversationId, ownerId: d.ownerId,
          title: d.title, model: d.model, systemPrompt: d.systemPrompt, params: d.params,
        };
      }
      case 'ConversationRenamed':
        return { ...state, title: event.data.title };
      case 'ConversationArchived':
        return { ...state, archived: true };
      case 'ConversationUnarchived':
        return { ...state, archived: false };
      case 'ConversationDeleted':
      case 'ConversationExpired':
        return { ...state, status: 'deleted', activeReply: null };
      case 'UserMessageSent': {
        const { messageId, content } = event.data;
        // Version 1 (no parentId): the log was linear, so the message follows the newest one, the leaf.
        const parentId = event.data.parentId === undefined ? state.activeLeafId : event.data.parentId;
        const nodes = addNode(state.nodes, messageId, { role: 'user', parentId, children: [], content });
        const entry: HistoryEntry = { role: 'user', content, messageId };
        return {
          ...state,
          nodes,
          activeLeafId: messageId,
          history: nodes.get(messageId)!.parentId === state.activeLeafId ? [...state.history, entry] : pathTo(nodes, messageId),
          userMessages: new Map(state.userMessages).set(messageId, { replyId: null }),
          awaitingReply: { messageId, replyId: null },
        };
      }
      case 'AssistantReplyStarted': {
        const { replyId, inReplyTo, model, params } = event.data;
        const nodes = addNode(state.nodes, replyId, { role: 'assistant', parentId: inReplyTo, children: [], content: null });
        return {
          ...state,
          nodes,
          activeLeafId: replyId,
          // Not a prompt turn until it completes: the path's turns only change when the reply was started elsewhere.
          history: state.activeLeafId === inReplyTo ? state.history : pathTo(nodes, replyId),
          awaitingReply: null,
          activeReply: { replyId, inReplyTo },
          replies: new Map(state.replies).set(replyId, { inReplyTo, model, params, status: 'streaming' }),
          userMessages: new Map(state.userMessages).set(inReplyTo, { replyId }),
        };
      }
      case 'AssistantReplyCompleted': {
        const { replyId, text } = event.data;
        const finished = finishReply(state, replyId, 'completed');
        const node = state.nodes.get(replyId);
        const nodes = node ? new Map(state.nodes).set(replyId, { ...node, content: text }) : state.nodes;
        const history = state.activeLeafId === replyId
          ? [...state.history, { role: 'assistant' as const, content: text, messageId: replyId }]
          : pathTo(nodes, state.activeLeafId);
        return { ...finished, nodes, history };
      }
      case 'ReplyRegenerationRequested': {
        const { messageId, replyId } = event.data;
        if (!state.nodes.has(messageId)) return state;
        return { ...state, activeLeafId: messageId, history: pathTo(state.nodes, messageId), awaitingReply: { messageId, replyId } };
      }
      case 'ConversationBranchSwitched': {
        const { leafId } = event.data;
        if (!state.nodes.has(leafId)) return state;
        return { ...state, activeLeafId: leafId, history: pathTo(state.nodes, leafId), awaitingReply: null };
      }
      case 'ConversationModelChanged':
        return { ...state, model: event.data.model };
      case 'ConversationParametersChanged':
        return { ...state, params: event.data.params };
      case 'ConversationSystemPromptChanged':
        return { ...state, systemPrompt: event.data.systemPrompt };
      case 'ConversationPinned':
        return { ...state, pinned: true };
      case 'ConversationUnpinned':
        return { ...state, pinned: false };
      case 'ConversationTagged':
        return findTag(state.tags, event.data.tag) === undefined ? { ...state, tags: [...state.tags, event.data.tag] } : state;
      case 'ConversationUntagged': {
        const key = tagKey(event.data.tag);
        return { ...state, tags: state.tags.filter((tag) => tagKey(tag) !== key) };
      }
      case 'AssistantReplyCancelled':
        return finishReply(state, event.data.replyId, 'cancelled');
      case 'AssistantReplyFailed':
        return finishReply(state, event.data.replyId, 'failed');
      case 'AssistantReplyInterrupted':
        return finishReply(state, event.data.replyId, 'interrupted');
      case 'ConversationKnowledgeAttached':
        return { ...state, knowledge: { knowledgeBaseIds: event.data.knowledgeBaseIds, documentIds: event.data.documentIds } };
      case 'ConversationImported': {
        const d = event.data;
        return { ...state, status: 'active', conversationId: d.conversationId, ownerId: d.ownerId, title: d.title, model: d.model, systemPrompt: null, params: {} };
      }
      case 'ConversationMessageImported': {
        // An import is one linear path: each turn follows the one before it and joins the prompt history;
        // none of them can get a reply started for it (only a message sent here can), but they can be
        // branched from (edit, regenerate) like any other.
        const { messageId, role, content, model } = event.data;
        const nodes = addNode(state.nodes, messageId, { role, parentId: state.activeLeafId, children: [], content });
        const history = [...state.history, { role, content, messageId }];
        const next = { ...state, nodes, activeLeafId: messageId, history, awaitingReply: null };
        if (role === 'user') return { ...next, userMessages: new Map(state.userMessages).set(messageId, { replyId: null }) };
        const inReplyTo = state.history.findLast((h) => h.role === 'user')?.messageId ?? '';
        return { ...next, replies: new Map(state.replies).set(messageId, { inReplyTo, model: model ?? state.model ?? '', params: {}, status: 'completed' }) };
      }
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'StartConversation': {
        // Any existing stream, even a deleted conversation's: its id can never be reused.
        if (state.status !== 'none') throw new DomainError('CONFLICT', 'Conversation already exists');
        return [{
          type: 'ConversationStarted',
          data: {
            conversationId: requireId(command.conversationId, 'Conversation id'),
            ownerId: requireId(command.ownerId, 'Owner id'),
            title: normalizeTitle(command.title, DEFAULT_TITLE),
            model: normalizeModel(command.model),
            systemPrompt: normalizeSystemPrompt(command.systemPrompt),
            params: normalizeParams(command.params),
          },
        }];
      }

      case 'RenameConversation': {
        const ids = requireOwned(state, command.actorId);
        const title = normalizeTitle(command.title, null);
        if (title === state.title) return [];
        return [{ type: 'ConversationRenamed', data: { ...ids, title } }];
      }

      case 'ArchiveConversation': {
        const ids = requireOwned(state, command.actorId);
        return state.archived ? [] : [{ type: 'ConversationArchived', data: ids }];
      }

      case 'UnarchiveConversation': {
        const ids = requireOwned(state, command.actorId);
        return state.archived ? [{ type: 'ConversationUnarchived', data: ids }] : [];
      }

      case 'DeleteConversation': {
        const ids = requireOwned(state, command.actorId);
        return [{ type: 'ConversationDeleted', data: ids }];
      }

      case 'ExpireConversation': {
        if (state.status !== 'active' || state.conversationId === null || state.ownerId === null) return []; // already gone
        if (state.activeReply !== null) throw new DomainError('CONFLICT', 'A reply is being written; the conversation is not idle');
        return [{ type: 'ConversationExpired', data: {
          conversationId: state.conversationId, ownerId: state.ownerId, lastActivityAt: command.lastActivityAt, retentionDays: command.retentionDays,
        } }];
      }

      case 'SendUserMessage': {
        const ids = requireOwned(state, command.actorId);
        const content = checkContent(command.content);
        if (state.userMessages.has(command.messageId)) {
          // A retried request: the same message again changes nothing; another one under its id is refused.
          if (state.nodes.get(command.messageId)?.content === content) return [];
          throw new DomainError('CONFLICT', 'Message id is already in use');
        }
        if (state.nodes.has(command.messageId) || state.replies.has(command.messageId)) throw new DomainError('CONFLICT', 'Message id is already in use');
        requireWritable(state);
        return [{
          type: 'UserMessageSent',
          data: { ...ids, messageId: requireId(command.messageId, 'Message id'), content, parentId: state.activeLeafId, editedMessageId: null },
        }];
      }

      case 'EditUserMessage': {
        const ids = requireOwned(state, command.actorId);
        const content = checkContent(command.content);
        const original = requireNode(state, command.messageId);
        if (original.role !== 'user') throw bad('Only a user message can be edited; regenerate a reply instead');
        requireWritable(state);
        const newMessageId = requireId(command.newMessageId, 'Message id');
        if (state.nodes.has(newMessageId) || state.replies.has(newMessageId)) throw new DomainError('CONFLICT', 'Message id is already in use');
        return [{
          type: 'UserMessageSent',
          data: { ...ids, messageId: newMessageId, content, parentId: original.parentId, editedMessageId: command.messageId },
        }];
      }

      case 'RegenerateReply': {
        const ids = requireOwned(state, command.actorId);
        const node = requireNode(state, command.messageId);
        const messageId = node.role === 'user' ? command.messageId : node.parentId;
        const message = messageId === null ? undefined : state.nodes.get(messageId);
        if (messageId === null || message?.role !== 'user') throw new DomainError('NOT_FOUND', 'Message not found');
        requireWritable(state);
        const replyId = requireId(command.replyId, 'Reply id');
        if (state.nodes.has(replyId) || state.replies.has(replyId)) throw new DomainError('CONFLICT', 'Reply id is already in use');
        const previousReplyId = node.role === 'assistant' ? command.messageId
          : message.children.findLast((id) => state.nodes.get(id)?.role === 'assistant') ?? null;
        return [{ type: 'ReplyRegenerationRequested', data: { ...ids, messageId, replyId, previousReplyId } }];
      }

      case 'SwitchBranch': {
        const ids = requireOwned(state, command.actorId);
        requireNode(state, command.messageId);
        if (state.activeReply) throw new DomainError('CONFLICT', 'A reply is still being generated');
        const leafId = newestLeaf(state.nodes, command.messageId);
        if (leafId === state.activeLeafId) return [];
        return [{ type: 'ConversationBranchSwitched', data: { ...ids, messageId: command.messageId, leafId } }];
      }

      case 'ChangeConversationModel': {
        const ids = requireOwned(state, command.actorId);
        const model = normalizeModel(command.model);
        return model === state.model ? [] : [{ type: 'ConversationModelChanged', data: { ...ids, model } }];
      }

      case 'ChangeConversationParameters': {
        const ids = requireOwned(state, command.actorId);
        const params = normalizeParams(command.params);
        return sameParams(params, state.params) ? [] : [{ type: 'ConversationParametersChanged', data: { ...ids, params } }];
      }

      case 'ChangeConversationSystemPrompt': {
        const ids = requireOwned(state, command.actorId);
        const systemPrompt = normalizeSystemPrompt(command.systemPrompt);
        return systemPrompt === state.systemPrompt ? [] : [{ type: 'ConversationSystemPromptChanged', data: { ...ids, systemPrompt } }];
      }

      case 'PinConversation': {
        const ids = requireOwned(state, command.actorId);
        return state.pinned ? [] : [{ type: 'ConversationPinned', data: ids }];
      }

      case 'UnpinConversation': {
        const ids = requireOwned(state, command.actorId);
        return state.pinned ? [{ type: 'ConversationUnpinned', data: ids }] : [];
      }

      case 'TagConversation': {
        const ids = requireOwned(state, command.actorId);
        const tag = normalizeTag(command.tag);
        if (findTag(state.tags, tag) !== undefined) return [];
        if (state.tags.length >= MAX_TAGS) throw bad(`A conversation can have at most ${MAX_TAGS} tags`);
        return [{ type: 'ConversationTagged', data: { ...ids, tag } }];
      }

      case 'UntagConversation': {
        const ids = requireOwned(state, command.actorId);
        const existing = findTag(state.tags, normalizeTag(command.tag));
        return existing === undefined ? [] : [{ type: 'ConversationUntagged', data: { ...ids, tag: existing } }];
      }

      case 'StartAssistantReply': {
        const ids = requireExisting(state);
        const existing = state.replies.get(command.replyId);
        if (existing) {
          if (existing.inReplyTo === command.inReplyTo) return [];
          throw new DomainError('CONFLICT', 'Reply id is already in use');
        }
        if (state.userMessages.has(command.replyId)) throw new DomainError('CONFLICT', 'Reply id is already in use');
        const message = state.userMessages.get(command.inReplyTo);
        if (!message) throw new DomainError('NOT_FOUND', 'Message not found');
        const awaiting = state.awaitingReply;
        if (awaiting?.messageId !== command.inReplyTo && message.replyId !== null) throw new DomainError('CONFLICT', 'Message already has a reply');
        if (state.activeReply) throw new DomainError('CONFLICT', 'A reply is still being generated');
        // A newer message was sent (or the branch switched) before this one got its reply: the reply to the newer one answers both.
        if (awaiting?.messageId !== command.inReplyTo) throw new DomainError('CONFLICT', 'A newer message was sent');
        // A regeneration chose its reply's id; a plain message's reply has the id the reactor derives.
        if (awaiting.replyId !== null && awaiting.replyId !== command.replyId) throw new DomainError('CONFLICT', 'Another reply was requested');
        return [{
          type: 'AssistantReplyStarted',
          data: {
            ...ids, replyId: requireId(command.replyId, 'Reply id'), inReplyTo: command.inReplyTo,
            model: normalizeModel(command.model), params: normalizeParams(command.params),
          },
        }];
      }

      case 'CompleteAssistantReply': {
        const ids = requireExisting(state);
        const reply = requireStreaming(state, command.replyId);
        if (!reply) return [];
        const reported = typeof command.model === 'string' ? sanitizeText(command.model).trim() : '';
        const model = reported.length > 0 && reported.length <= MAX_MODEL_LENGTH ? reported : reply.model;
        const sources = normalizeSources(command.sources);
        return [{
          type: 'AssistantReplyCompleted',
          data: {
            ...ids, replyId: command.replyId, text: replyText(command.text), model, params: reply.params,
            usage: command.usage ?? null,
            timeToFirstTokenMs: optionalDuration(command.timeToFirstTokenMs, 'timeToFirstTokenMs'),
            latencyMs: duration(command.latencyMs, 'latencyMs'),
            finishReason: sanitizeOptionalText(command.finishReason),
            sources,
            provenance: normalizeProvenance(command.provenance, reply, sources),
          },
        }];
      }

      case 'CancelAssistantReply': {
        const ids = requireOwned(state, command.actorId);
        const reply = requireStreaming(state, command.replyId);
        if (!reply) return [];
        return [{
          type: 'AssistantReplyCancelled',
          data: {
            ...ids, replyId: command.replyId, partialText: replyText(command.partialText), latencyMs: duration(command.latencyMs, 'latencyMs'),
            provenance: normalizeProvenance(command.provenance, reply),
          },
        }];
      }

      case 'FailAssistantReply': {
        const ids = requireExisting(state);
        const reply = requireStreaming(state, command.replyId);
        if (!reply) return [];
        return [{
          type: 'AssistantReplyFailed',
          data: {
            ...ids, replyId: command.replyId, partialText: replyText(command.partialText),
            errorCode: sanitizeText(String(command.errorCode)), errorMessage: sanitizeText(String(command.errorMessage)), latencyMs: duration(command.latencyMs, 'latencyMs'),
            provenance: normalizeProvenance(command.provenance, reply),
          },
        }];
      }

      case 'InterruptAssistantReply': {
        const ids = requireExisting(state);
        if (!requireStreaming(state, command.replyId)) return [];
        return [{ type: 'AssistantReplyInterrupted', data: { ...ids, replyId: command.replyId, partialText: replyText(command.partialText) } }];
      }

      case 'SetConversationKnowledge': {
        const ids = requireOwned(state, command.actorId);
        const knowledge = normalizeKnowledgeSelection(command);
        if (sameSet(knowledge.knowledgeBaseIds, state.knowledge.knowledgeBaseIds) && sameSet(knowledge.documentIds, state.knowledge.documentIds)) return [];
        return [{ type: 'ConversationKnowledgeAttached', data: { ...ids, ...knowledge } }];
      }

      case 'ImportConversation':
        return decideImport(command, state);
    }
  },

  schemaVersions: {
    ConversationStarted: 1,
    ConversationRenamed: 1,
    ConversationArchived: 1,
    ConversationUnarchived: 1,
    ConversationDeleted: 1,
    ConversationExpired: 1,
    AssistantReplyStarted: 1,
    AssistantReplyCompleted: 3,
    AssistantReplyCancelled: 2,
    AssistantReplyFailed: 2,
    AssistantReplyInterrupted: 1,
    ConversationKnowledgeAttached: 1,
    ConversationImported: 1,
    ConversationMessageImported: 1,
    UserMessageSent: 2,
    ReplyRegenerationRequested: 1,
    ConversationBranchSwitched: 1,
    ConversationModelChanged: 1,
    ConversationParametersChanged: 1,
    ConversationSystemPromptChanged: 1,
    ConversationPinned: 1,
    ConversationUnpinned: 1,
    ConversationTagged: 1,
    ConversationUntagged: 1,
  },
};

/** ImportConversation: every string of the file checked (text rule, lengths), ids unique; nothing is silently altered. */
function decideImport(command: Extract<ConversationCommand, { type: 'ImportConversation' }>, state: ConversationState): ConversationEvent[] {
  if (state.status !== 'none') throw new DomainError('CONFLICT', 'Conversation already exists');
  if (!(IMPORT_FORMATS as readonly string[]).includes(command.format)) throw bad(`Import format must be one of ${IMPORT_FORMATS.join(', ')}`);
  const ids = { conversationId: requireId(command.conversationId, 'Conversation id'), ownerId: requireId(command.ownerId, 'Owner id') };
  if (!Array.isArray(command.messages) || command.messages.length === 0) throw bad('An imported conversation needs at least one message');
  if (command.messages.length > MAX_IMPORTED_MESSAGES) throw bad(`An imported conversation can hold at most ${MAX_IMPORTED_MESSAGES} messages`);
  const seen = new Set<string>();
  const messages = command.messages.map((m, i): ConversationMessageImported => {
    const where = `Message ${i + 1}`;
    const messageId = checkId(m.messageId, `${where} id`);
    if (seen.has(messageId) || messageId === ids.conversationId) throw bad(`${where} id is used twice`);
    seen.add(messageId);
    if (m.role !== 'user' && m.role !== 'assistant') throw bad(`${where}: role must be user or assistant`);
    const content = checkText(m.content, `${where} content`);
    if (content.trim().length === 0 || content.length > MAX_IMPORTED_MESSAGE_LENGTH) {
      throw bad(`${where} content must be 1 to ${MAX_IMPORTED_MESSAGE_LENGTH} characters`);
    }
    let createdAt: string | null = null;
    if (m.createdAt !== null && m.createdAt !== undefined) {
      const ms = typeof m.createdAt === 'string' ? Date.parse(m.createdAt) : Number.NaN;
      if (Number.isNaN(ms)) throw bad(`${where}: createdAt must be an ISO date`);
      createdAt = new Date(ms).toISOString();
    }
    const model = m.model === null || m.model === undefined ? null : normalizeModel(m.model);
    return { type: 'ConversationMessageImported', data: { ...ids, messageId, role: m.role, content, createdAt, model } };
  });
  return [
    { type: 'ConversationImported', data: {
      ...ids, format: command.format, title: normalizeTitle(command.title, 'Imported conversation'), model: normalizeModel(command.model),
      messageCount: messages.length,
    } },
    ...messages,
  ];
}

/** The messages to send to the provider: the system prompt first (if any), then the history. */
export function buildPrompt(state: Pick<ConversationState, 'systemPrompt' | 'history'>): Array<{ role: 'system' | 'user' | 'assistant'; content: string }> {
  const prompt: Array<{ role: 'system' | 'user' | 'assistant'; content: string }> = [];
  if (state.systemPrompt !== null && state.systemPrompt.length > 0) prompt.push({ role: 'system', content: state.systemPrompt });
  for (const entry of state.history) prompt.push({ role: entry.role, content: entry.content });
  return prompt;
}
