import { PDFDocument, StandardFonts, rgb, type PDFFont, type PDFPage } from 'pdf-lib';
import type { ConversationExport, ExportedConversation, ExportedMessage } from './conversation-export.ts';

/**
 * Markdown and PDF renderings of a conversation export (conversation-export.ts). Pure apart from
 * pdf-lib's work in memory.
 */

const roleName = (m: ExportedMessage) => (m.role === 'user' ? 'User' : 'Assistant');

function statusNote(m: ExportedMessage): string | null {
  return m.status === 'complete' ? null : `(${m.status}${m.status === 'streaming' ? ': still being written when exported' : ''})`;
}

function citationLine(c: ExportedMessage['citations'][number]): string {
  const where = [`version ${c.documentVersion}`, ...(c.page !== null ? [`page ${c.page}`] : [])].join(', ');
  return `[${c.n}] ${c.documentName ?? `document ${c.documentId}`} (${where})`;
}

/** Text that Markdown would read as markup when it starts a line inside our headings' structure stays as written; only headings are escaped. */
const escapeHeading = (text: string) => text.replace(/[\\`*_[\]#<>]/g, (ch) => `\\${ch}`);

export function conversationMarkdown(exp: ConversationExport): string {
  const c = exp.conversation;
  const lines: string[] = [];
  lines.push(`# ${escapeHeading(c.title ?? 'Untitled conversation')}`, '');
  lines.push(`- Model: ${c.model}`, `- Created: ${c.createdAt}`, `- Exported: ${exp.exportedAt}`);
  if (c.knowledgeBases.length > 0) lines.push(`- Knowledge bases: ${c.knowledgeBases.map((k) => k.name ?? k.id).join(', ')}`);
  if (c.documents.length > 0) lines.push(`- Documents: ${c.documents.map((d) => d.name ?? d.id).join(', ')}`);
  lines.push('');
  if (c.systemPrompt) lines.push('## System prompt', '', c.systemPrompt, '');
  const elsewhere = c.messages.filter((m) => !m.onActiveBranch).length;
  if (elsewhere > 0) lines.push(`*The branch shown; ${elsewhere} message${elsewhere === 1 ? '' : 's'} on other branches ${elsewhere === 1 ? 'is' : 'are'} in the JSON export.*`, '');
  for (const m of c.messages.filter((message) => message.onActiveBranch)) {
    const note = statusNote(m);
    lines.push(`## ${roleName(m)}${m.role === 'assistant' && m.model ? ` (${escapeHeading(m.model)})` : ''}${note ? ` ${note}` : ''}`, '');
    lines.push(`*${m.createdAt}*`, '');
    lines.push(m.content ?? '*[erased]*', '');
    if (m.citations.length > 0) {
      lines.push('**Sources**', '');
      for (const citation of m.citations) lines.push(`- ${citationLine(citation)}`);
      lines.push('');
    }
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

// --- PDF --------------------------------------------------------------------------------------------

const PAGE = { width: 595.28, height: 841.89, margin: 50 }; // A4
const REPLACEMENT = '?';

/**
 * pdf-lib's standard fonts encode WinAnsi only (and no embeddable Unicode font ships in
 * node_modules): every other character is shown as "?", and the PDF says so at the top. The
 * Markdown and JSON exports keep every character.
 */
class PdfWriter {
  private page!: PDFPage;
  private y = 0;
  replaced = 0;
  private readonly supported: Set<number>;
  private readonly pdf: PDFDocument;
  private readonly font: PDFFont;
  private readonly bold: PDFFont;
  constructor(pdf: PDFDocument, font: PDFFont, bold: PDFFont) {
    this.pdf = pdf;
    this.font = font;
    this.bold = bold;
    this.supported = new Set(font.getCharacterSet());
    this.newPage();
  }

  private newPage() {
    this.page = this.pdf.addPage([PAGE.width, PAGE.height]);
    this.y = PAGE.height - PAGE.margin;
  }

  encodable(text: string): string {
    let out = '';
    for (const ch of text.replace(/\r\n?/g, '\n').replace(/\t/g, '    ')) {
      const code = ch.codePointAt(0)!;
      if (ch === '\n' || this.supported.has(code)) out += ch;
      else { out += REPLACEMENT; this.replaced++; }
    }
    return out;
  }

  private wrap(text: string, font: PDFFont, size: number, width: number): string[] {
    const lines: string[] = [];
    for (const paragraph of text.split('\n')) {
      let line = '';
      for (const word of paragraph.split(/(?<= )/)) {
        if (font.widthOfTextAtSize(line + word, size) <= width) { line += word; continue; }
        if (line) lines.push(line.trimEnd());
        line = '';
        // A word wider than the line is cut where it must be.
        let rest = word;
        while (font.widthOfTextAtSize(rest, size) > width) {
          let cut = rest.length - 1;
          while (cut > 1 && font.widthOfTextAtSize(rest.slice(0, cut), size) > width) cut--;
          lines.push(rest.slice(0, cut));
          rest = rest.slice(cut);
        }
        line = rest;
      }
      lines.push(line.trimEnd());
    }
    return lines;
  }

  text(raw: string, options: { size?: number; bold?: boolean; indent?: number; gray?: boolean } = {}) {
    const size = options.size ?? 10.5;
    const font = options.bold ? this.bold : this.font;
    const indent = options.indent ?? 0;
    const leading = size * 1.35;
    for (const line of this.wrap(this.encodable(raw), font, size, PAGE.width - 2 * PAGE.margin - indent)) {
      if (this.y - leading < PAGE.margin) this.newPage();
      this.y -= leading;
      if (line.length > 0) {
        this.page.drawText(line, { x: PAGE.margin + indent, y: this.y, size, font, color: options.gray ? rgb(0.4, 0.4, 0.4) : rgb(0, 0, 0) });
      }
    }
  }

  gap(points = 8) {
    this.y -= points;
  }
}

function writeConversation(w: PdfWriter, c: ExportedConversation, exportedAt: string) {
  w.text(c.title ?? 'Untitled conversation', { size: 18, bold: true });
  w.gap(4);
  w.text(`Model: ${c.model}   Created: ${c.createdAt}   Exported: ${exportedAt}`, { size: 9, gray: true });
  if (c.knowledgeBases.length > 0) w.text(`Knowledge bases: ${c.knowledgeBases.map((k) => k.name ?? k.id).join(', ')}`, { size: 9, gray: true });
  if (c.documents.length > 0) w.text(`Documents: ${c.documents.map((d) => d.name ?? d.id).join(', ')}`, { size: 9, gray: true });
  w.gap(10);
  if (c.systemPrompt) {
    w.text('System prompt', { bold: true });
    w.text(c.systemPrompt, { indent: 10 });
    w.gap(10);
  }
  for (const m of c.messages.filter((message) => message.onActiveBranch)) {
    const note = statusNote(m);
    w.text(`${roleName(m)}${m.role === 'assistant' && m.model ? ` (${m.model})` : ''}${note ? ` ${note}` : ''}`, { bold: true, size: 11 });
    w.text(m.createdAt, { size: 8, gray: true });
    w.gap(2);
    w.text(m.content ?? '[erased]', { indent: 10 });
    if (m.citations.length > 0) {
      w.gap(4);
      w.text('Sources', { bold: true, size: 9, indent: 10 });
      for (const citation of m.citations) w.text(citationLine(citation), { size: 9, indent: 16 });
    }
    w.gap(12);
  }
}

export async function conversationPdf(exp: ConversationExport): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  const c = exp.conversation;
  pdf.setTitle(c.title ?? 'Conversation');
  pdf.setCreator('Evident');
  pdf.setProducer('Evident (pdf-lib)');
  pdf.setCreationDate(new Date(exp.exportedAt));
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  const bold = await pdf.embedFont(StandardFonts.HelveticaBold);
  const writer = new PdfWriter(pdf, font, bold);
  writeConversation(writer, c, exp.exportedAt);
  if (writer.replaced > 0) {
    // Said on the first page, where a reader starts.
    const first = pdf.getPage(0);
    first.drawText(`${writer.replaced} character(s) this PDF's font cannot show appear as "?"; the Markdown and JSON exports keep them.`,
      { x: PAGE.margin, y: PAGE.margin / 2, size: 7, font, color: rgb(0.5, 0.2, 0.2) });
  }
  return pdf.save();
}
