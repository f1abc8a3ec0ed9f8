import { DomainError } from '../decider.ts';
import { textProblem } from '../text.ts';
import { MAX_IMPORTED_MESSAGE_LENGTH, MAX_IMPORTED_MESSAGES, MAX_MODEL_LENGTH, MAX_TITLE_LENGTH, type ImportFormat } from './conversation.ts';

/**
 * Reading the conversation exports of other applications (pure: the bytes come in, plain data goes
 * out; ids are given by the command layer). Only the main path of each conversation is imported —
 * the branch its application showed last (ChatGPT: `current_node`; Open WebUI: `history.currentId`)
 * — followed from that leaf to the root through the parent links.
 *
 * The file is hostile: shapes are checked, strings pass the text rule (src/domain/text.ts), lengths
 * and counts are bounded, and a malformed file is refused as a whole with BAD_USER_INPUT naming
 * where it went wrong. Messages that are not user or assistant text (system prompts, tool calls,
 * hidden or empty messages) are left out, as their applications hide them too.
 */

export const MAX_IMPORT_BYTES = 20 * 1024 * 1024;
export const MAX_IMPORTED_CONVERSATIONS = 1_000;
/** Across all conversations of one file. */
export const MAX_IMPORTED_MESSAGES_TOTAL = 50_000;

export interface ParsedMessage {
  role: 'user' | 'assistant';
  content: string;
  createdAt: string | null;
  model: string | null;
}

export interface ParsedConversation {
  title: string;
  messages: ParsedMessage[];
}

export interface ParsedImport {
  conversations: ParsedConversation[];
  /** Conversations of the file without any user or assistant text on their main path. */
  skipped: number;
}

const bad = (message: string) => new DomainError('BAD_USER_INPUT', message);

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const own = (object: Json, key: string): unknown => (Object.hasOwn(object, key) ? object[key] : undefined);

/** Parses the file's text as JSON: one conversation object or a list of them. */
function conversationList(text: string): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw bad('The file is not valid JSON');
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  if (list.length === 0) throw bad('The file holds no conversations');
  if (list.length > MAX_IMPORTED_CONVERSATIONS) throw bad(`A file can hold at most ${MAX_IMPORTED_CONVERSATIONS} conversations`);
  return list;
}

/** Seconds since the epoch (both formats use them; Open WebUI sometimes milliseconds) → ISO, or null. */
function epochTime(value: unknown): string | null {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return null;
  const ms = value > 1e11 ? value : value * 1000;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) || date.getUTCFullYear() > 9999 ? null : date.toISOString();
}

function checkedText(value: string, where: string): string {
  const problem = textProblem(value);
  if (problem) throw bad(`${where} ${problem}`);
  if (value.length > MAX_IMPORTED_MESSAGE_LENGTH) throw bad(`${where} is longer than ${MAX_IMPORTED_MESSAGE_LENGTH} characters`);
  return value;
}

/** A title as one line within the limit: line breaks become spaces, the rest must pass the text rule. */
function title(value: unknown, where: string): string {
  if (typeof value !== 'string') return '';
  const problem = textProblem(value);
  if (problem) throw bad(`${where} title ${problem}`);
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001F\u007F-\u009F]+/g, ' ').trim().slice(0, MAX_TITLE_LENGTH).trim();
}

/** A model name when it is a sensible one line; anything else is dropped (it is informational only). */
function model(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const name = value.trim();
  return name.length > 0 && name.length <= MAX_MODEL_LENGTH && textProblem(name, 'single-line') === null ? name : null;
}

/**
 * The main path of a message tree: from `leaf` up the parent links to the root, then reversed.
 * A cycle, a dangling link or a path longer than the tree is refused.
 */
function mainPath(nodes: Json, leaf: unknown, parentOf: (node: Json) => unknown, where: string): Json[] {
  const path: Json[] = [];
  const seen = new Set<string>();
  let id = leaf;
  const size = Object.keys(nodes).length;
  while (id !== null && id !== undefined) {
    if (typeof id !== 'string') throw bad(`${where}: a message id is not a string`);
    if (seen.has(id) || path.length > size) throw bad(`${where}: the message links form a cycle`);
    seen.add(id);
    const node = own(nodes, id);
    if (!isObject(node)) throw bad(`${where}: message ${JSON.stringify(id.slice(0, 60))} is missing`);
    path.push(node);
    id = parentOf(node);
  }
  return path.reverse();
}

// --- ChatGPT (conversations.json of "Export data") ---------------------------------------------------

function chatGptText(content: unknown, where: string): string | null {
  if (!isObject(content)) return null;
  const type = own(content, 'content_type');
  if (type !== 'text' && type !== 'multimodal_text') return null;
  const parts = own(content, 'parts');
  if (!Array.isArray(parts)) throw bad(`${where}: content.parts must be a list`);
  // Images and other attachments are objects among the parts: only the text is imported.
  return parts.filter((part): part is string => typeof part === 'string').join('\n');
}

function chatGptConversation(raw: unknown, index: number): ParsedConversation {
  const where = `Conversation ${index + 1}`;
  if (!isObject(raw)) throw bad(`${where} is not an object`);
  const mapping = own(raw, 'mapping');
  if (!isObject(mapping)) throw bad(`${where}: mapping is missing (is this a ChatGPT conversations.json?)`);
  const current = own(raw, 'current_node');
  if (typeof current !== 'string') throw bad(`${where}: current_node is missing`);
  const path = mainPath(mapping, current, (node) => own(node, 'parent'), where);
  const messages: ParsedMessage[] = [];
  for (const node of path) {
    const message = own(node, 'message');
    if (!isObject(message)) continue; // the root node has none
    const author = own(message, 'author');
    const role = isObject(author) ? own(author, 'role') : undefined;
    if (role !== 'user' && role !== 'assistant') continue;
    const metadata = own(message, 'metadata');
    if (isObject(metadata) && own(metadata, 'is_visually_hidden_from_conversation') === true) continue;
    const text = chatGptText(own(message, 'content'), `${where}, message ${messages.length + 1}`);
    if (text === null || text.trim().length === 0) continue;
    messages.push({
      role, content: checkedText(text, `${where}, message ${messages.length + 1}`), createdAt: epochTime(own(message, 'create_time')),
      model: role === 'assistant' && isObject(metadata) ? model(own(metadata, 'model_slug')) : null,
    });
  }
  return { title: title(own(raw, 'title'), where), messages };
}

// --- Open WebUI (Settings → Chats → Export chats, or a single chat's JSON) --------------------------

function openWebUiConversation(raw: unknown, index: number): ParsedConversation {
  const where = `Conversation ${index + 1}`;
  if (!isObject(raw)) throw bad(`${where} is not an object`);
  // The export wraps each chat ({ id, title, chat: {...} }); a single chat may come unwrapped.
  const chat = isObject(own(raw, 'chat')) ? own(raw, 'chat') as Json : raw;
  const history = own(chat, 'history');
  let nodes: Json[];
  if (isObject(history) && isObject(own(history, 'messages')) && typeof own(history, 'currentId') === 'string') {
    nodes = mainPath(own(history, 'messages') as Json, own(history, 'currentId'), (node) => own(node, 'parentId'), where);
  } else if (Array.isArray(own(chat, 'messages'))) {
    nodes = (own(chat, 'messages') as unknown[]).map((node, i) => {
      if (!isObject(node)) throw bad(`${where}, message ${i + 1} is not an object`);
      return node;
    });
  } else {
    throw bad(`${where}: chat.history (messages and currentId) or chat.messages is missing (is this an Open WebUI export?)`);
  }
  const fallbackModel = Array.isArray(own(chat, 'models')) ? model((own(chat, 'models') as unknown[])[0]) : null;
  const messages: ParsedMessage[] = [];
  for (const node of nodes) {
    const role = own(node, 'role');
    if (role !== 'user' && role !== 'assistant') continue;
    const content = own(node, 'content');
    if (typeof content !== 'string' || content.trim().length === 0) continue;
    messages.push({
      role, content: checkedText(content, `${where}, message ${messages.length + 1}`), createdAt: epochTime(own(node, 'timestamp')),
      model: role === 'assistant' ? model(own(node, 'model')) ?? fallbackModel : null,
    });
  }
  return { title: title(own(raw, 'title') ?? own(chat, 'title'), where), messages };
}

/** The conversations of an export file (its text, already decoded as UTF-8). */
export function parseImport(format: ImportFormat, text: string): ParsedImport {
  const parse = format === 'chatgpt' ? chatGptConversation : format === 'open-webui' ? openWebUiConversation : null;
  if (!parse) throw bad('Unknown import format');
  const all = conversationList(text).map(parse);
  let total = 0;
  for (const [i, conversation] of all.entries()) {
    if (conversation.messages.length > MAX_IMPORTED_MESSAGES) {
      throw bad(`Conversation ${i + 1} has more than ${MAX_IMPORTED_MESSAGES} messages on its main path`);
    }
    total += conversation.messages.length;
  }
  if (total > MAX_IMPORTED_MESSAGES_TOTAL) throw bad(`A file can hold at most ${MAX_IMPORTED_MESSAGES_TOTAL} messages`);
  const conversations = all.filter((c) => c.messages.length > 0);
  if (conversations.length === 0) throw bad('The file holds no conversation with user or assistant messages');
  return { conversations, skipped: all.length - conversations.length };
}
