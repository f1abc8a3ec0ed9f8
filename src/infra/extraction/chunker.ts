import { RecursiveCharacterTextSplitter } from '@langchain/textsplitters';
import { Tiktoken } from 'js-tiktoken/lite';
import cl100k_base from 'js-tiktoken/ranks/cl100k_base';
import type { ExtractedDocument } from './types.ts';

/**
 * Structure-aware chunking: the text is cut at headings first (each section keeps the path of
 * headings above it, and a section may run over several pages), then each section is split into
 * token-sized chunks with overlap by LangChain's recursive splitter, counting cl100k_base tokens.
 * Each chunk records the page where it starts. Same input, same chunks.
 */

export interface Chunk {
  /** Position in the document, from 0. */
  index: number;
  text: string;
  /** 1-based page where the chunk starts; null for formats without pages. */
  page: number | null;
  /** Headings enclosing the chunk, outermost first. */
  headingPath: string[];
  tokens: number;
}

export interface ChunkOptions {
  chunkTokens?: number;
  overlapTokens?: number;
}

let encoder: Tiktoken | null = null;
function tokenizer(): Tiktoken {
  return (encoder ??= new Tiktoken(cl100k_base));
}

export function countTokens(text: string): number {
  return tokenizer().encode(text).length;
}

interface Section {
  headingPath: string[];
  /** The section's own heading line ('' before the first heading); it opens the section's first chunk. */
  heading: string;
  /** The body under the heading. */
  text: string;
  /** Where each page begins in `text`, ascending. */
  pageStarts: Array<{ offset: number; page: number }>;
}

const HEADING = /^(#{1,6})[ \t]+(.+?)[ \t#]*$/;
const FENCE = /^[ \t]{0,3}(```|~~~)/;
/** Plain text is not Markdown: a line starting with # there is a comment or a hashtag, not a heading. */
const WITHOUT_HEADINGS = new Set(['text/plain']);

function sectionsOf(doc: ExtractedDocument): Section[] {
  const sections: Section[] = [];
  const path: Array<{ level: number; title: string }> = [];
  let current: Section = { headingPath: [], heading: '', text: '', pageStarts: [] };
  const startPage = (page: number) => {
    const last = current.pageStarts.at(-1);
    if (last?.offset === current.text.length) last.page = page;
    else if (last?.page !== page) current.pageStarts.push({ offset: current.text.length, page });
  };
  // Headings with no body of their own (a title right above a subtitle) open the next section.
  let pending: string[] = [];
  const close = () => {
    if (current.text.trim()) {
      sections.push({ ...current, heading: [...pending, current.heading].filter(Boolean).join('\n\n') });
      pending = [];
    } else if (current.heading) {
      pending.push(current.heading);
    }
  };
  const headings = !WITHOUT_HEADINGS.has(doc.mediaType);
  let fence: string | null = null;
  for (const page of doc.pages) {
    startPage(page.page);
    for (const line of page.text.split('\n')) {
      const marker = FENCE.exec(line)?.[1];
      if (marker && (fence === null || fence === marker)) fence = fence === null ? marker : null;
      const heading = headings && fence === null && !marker ? HEADING.exec(line) : null;
      if (heading) {
        close();
        const level = heading[1]!.length;
        while (path.length && path.at(-1)!.level >= level) path.pop();
        path.push({ level, title: heading[2]!.trim() });
        current = { headingPath: path.map((h) => h.title), heading: line.trim(), text: '', pageStarts: [{ offset: 0, page: page.page }] };
        continue;
      }
      current.text += `${line}\n`;
    }
  }
  close();
  if (pending.length) sections.push({ headingPath: current.headingPath, heading: pending.join('\n\n'), text: '', pageStarts: current.pageStarts });
  return sections;
}

function pageAt(section: Section, offset: number): number {
  let page = section.pageStarts[0]?.page ?? 1;
  for (const start of section.pageStarts) {
    if (start.offset > offset) break;
    page = start.page;
  }
  return page;
}

export async function chunkDocument(doc: ExtractedDocument, options: ChunkOptions = {}): Promise<Chunk[]> {
  const chunkTokens = options.chunkTokens ?? 512;
  const overlapTokens = Math.min(options.overlapTokens ?? 64, Math.max(0, chunkTokens - 1));
  if (!Number.isInteger(chunkTokens) || chunkTokens < 1) throw new RangeError('chunkTokens must be a positive integer');
  if (!Number.isInteger(overlapTokens) || overlapTokens < 0) throw new RangeError('overlapTokens must be a non-negative integer');
  // The splitter measures the same pieces again as it merges them; tokenising is the cost.
  const measured = new Map<string, number>();
  const measure = (text: string) => {
    let tokens = measured.get(text);
    if (tokens === undefined) measured.set(text, (tokens = countTokens(text)));
    return tokens;
  };
  const splitterFor = (size: number) => new RecursiveCharacterTextSplitter({
    chunkSize: size,
    chunkOverlap: Math.min(overlapTokens, size - 1),
    lengthFunction: measure,
    separators: ['\n\n', '\n', ' ', ''],
  });
  const splitters = new Map<number, RecursiveCharacterTextSplitter>();
  const chunks: Chunk[] = [];
  for (const section of sectionsOf(doc)) {
    // The heading opens the first chunk, so the body is cut smaller by what the heading costs —
    // unless the heading is so long that it must be split like body text.
    let heading = section.heading;
    let body = section.text;
    let shift = 0;
    let headingTokens = heading ? countTokens(`${heading}\n\n`) : 0;
    if (headingTokens * 2 > chunkTokens) {
      body = `${heading}\n\n${body}`;
      shift = heading.length + 2;
      heading = '';
      headingTokens = 0;
    }
    const size = Math.max(1, chunkTokens - headingTokens);
    const splitter = splitters.get(size) ?? splitters.set(size, splitterFor(size)).get(size)!;
    let searchFrom = 0;
    const pieces = (await splitter.splitText(body)).map((piece) => piece.trim()).filter(Boolean);
    if (pieces.length === 0) pieces.push('');
    for (const [i, piece] of pieces.entries()) {
      const found = body.indexOf(piece, searchFrom);
      const offset = Math.max(0, (found >= 0 ? found : searchFrom) - shift);
      searchFrom = (found >= 0 ? found : searchFrom) + 1;
      const text = i === 0 && heading ? `${heading}\n\n${piece}`.trim() : piece;
      chunks.push({
        index: chunks.length,
        text,
        page: doc.paginated ? pageAt(section, offset) : null,
        headingPath: [...section.headingPath],
        tokens: measure(text),
      });
    }
  }
  return chunks;
}
