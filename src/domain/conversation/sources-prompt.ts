import { buildPrompt, normalizeSources, MAX_REPLY_SOURCES, type ConversationState, type ReplySource } from './conversation.ts';
import { DomainError } from '../decider.ts';
import { sanitizeText } from '../text.ts';

/** A retrieved chunk offered to the prompt, best first (what the reply reactor's knowledge port returns). */
export interface SourceCandidate {
  chunkId: string;
  documentId: string;
  version: number;
  /** Null when unknown or erased. */
  documentName: string | null;
  page: number | null;
  headingPath: readonly string[];
  text: string;
  score: number;
}

export type PromptMessage = ReturnType<typeof buildPrompt>[number];

export interface SourcesPromptOptions {
  /** Characters of source blocks (headers and text) the prompt may hold; the best sources come first. */
  maxSourceChars: number;
}

export const DEFAULT_MAX_SOURCE_CHARS = 12_000;
/** A source cut shorter than this is left out instead: a fragment that small rarely helps. */
export const MIN_SOURCE_TEXT_CHARS = 200;

export const SOURCES_INSTRUCTIONS =
  'Answer from the sources below. Cite a source by its number in square brackets, like [n], right after the statement it supports. '
  + 'Use only the numbers listed here. If the sources do not hold the answer, say so instead of guessing.';

/** A name, page or heading goes on one line: line breaks and other controls become spaces. */
function oneLine(value: string): string {
  // eslint-disable-next-line no-control-regex
  return sanitizeText(value).replace(/[\u0000-\u001F\u007F-\u009F]+/g, ' ').replace(/\s+/g, ' ').trim();
}

function header(n: number, candidate: SourceCandidate): string {
  const name = candidate.documentName === null ? '' : oneLine(candidate.documentName);
  const parts = [name.length > 0 ? name : 'Untitled document'];
  if (candidate.page !== null) parts.push(`page ${candidate.page}`);
  const section = candidate.headingPath.map(oneLine).filter((h) => h.length > 0).join(' > ');
  if (section.length > 0) parts.push(`section "${section}"`);
  return `[${n}] ${parts.join(', ')}:`;
}

/** The same rules CompleteAssistantReply applies: a candidate that would be refused is never offered. */
function recordable(candidate: SourceCandidate): boolean {
  if (typeof candidate !== 'object' || candidate === null) return false;
  try {
    normalizeSources([{ n: 1, documentId: candidate.documentId, version: candidate.version, chunkId: candidate.chunkId, page: candidate.page, score: candidate.score }]);
    return typeof candidate.text === 'string' && Array.isArray(candidate.headingPath)
      && (candidate.documentName === null || typeof candidate.documentName === 'string');
  } catch (error) {
    if (error instanceof DomainError) return false;
    throw error;
  }
}

/** Cuts at a word boundary near the limit when there is one, marking the cut. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const room = max - 1;
  const space = text.lastIndexOf(' ', room);
  const end = space > room * 0.8 ? space : room;
  // Never split a surrogate pair.
  const safeEnd = /[\uD800-\uDBFF]/.test(text[end - 1] ?? '') ? end - 1 : end;
  return `${text.slice(0, safeEnd).trimEnd()}…`;
}

/**
 * The provider prompt of `buildPrompt`, with the retrieved sources numbered [1]..[k] in a system
 * section after the conversation's own system prompt, and the sources the prompt holds (for
 * `CompleteAssistantReply`). Candidates are taken best first; repeated chunks and malformed ones are
 * skipped; blocks stop at `maxSourceChars` (the last one may be cut, at most MAX_REPLY_SOURCES).
 * With no usable candidate the prompt is exactly `buildPrompt`'s and there are no sources.
 */
export function buildPromptWithSources(
  state: Pick<ConversationState, 'systemPrompt' | 'history'>,
  candidates: readonly SourceCandidate[],
  options: SourcesPromptOptions = { maxSourceChars: DEFAULT_MAX_SOURCE_CHARS },
): { messages: PromptMessage[]; sources: ReplySource[] } {
  const blocks: string[] = [];
  const sources: ReplySource[] = [];
  const seen = new Set<string>();
  let room = Math.max(0, Math.floor(options.maxSourceChars));
  for (const candidate of candidates) {
    if (sources.length >= MAX_REPLY_SOURCES || room <= 0) break;
    if (!recordable(candidate) || seen.has(candidate.chunkId)) continue;
    const n = sources.length + 1;
    const head = header(n, candidate);
    const text = sanitizeText(candidate.text).trim();
    if (text.length === 0) continue;
    const textRoom = room - head.length - 1;
    const fits = text.length <= textRoom;
    if (!fits && textRoom < MIN_SOURCE_TEXT_CHARS) break;
    const block = `${head}\n${fits ? text : cut(text, textRoom)}`;
    blocks.push(block);
    room -= block.length + 2; // and the blank line between blocks
    seen.add(candidate.chunkId);
    sources.push({ n, documentId: candidate.documentId, version: candidate.version, chunkId: candidate.chunkId, page: candidate.page, score: candidate.score });
  }
  const messages = buildPrompt(state);
  if (sources.length === 0) return { messages, sources };
  const section = `${SOURCES_INSTRUCTIONS}\n\nSources:\n\n${blocks.join('\n\n')}`;
  // One system message, first: some chat templates accept no other place and no second one.
  if (messages[0]?.role === 'system') messages[0] = { role: 'system', content: `${messages[0].content}\n\n${section}` };
  else messages.unshift({ role: 'system', content: section });
  return { messages, sources };
}
