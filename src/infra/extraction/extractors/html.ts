import { convert, type FormatCallback } from 'html-to-text';
import type { ExtractorResult } from './context.ts';

/** HTML (and mammoth's HTML of a DOCX) to plain text that keeps headings as `#` lines. */

const markdownHeading: FormatCallback = (element, walk, builder, formatOptions) => {
  const level = Number(formatOptions['level'] ?? 1);
  builder.openBlock({ leadingLineBreaks: 2 });
  builder.addLiteral(`${'#'.repeat(level)} `);
  walk(element.children, builder);
  builder.closeBlock({ trailingLineBreaks: 2 });
};

export function htmlToMarkdownText(html: string, maxInputLength: number): string {
  return convert(html, {
    wordwrap: false,
    limits: { maxInputLength, ellipsis: '' },
    formatters: { markdownHeading },
    selectors: [
      ...[1, 2, 3, 4, 5, 6].map((level) => ({ selector: `h${level}`, format: 'markdownHeading', options: { level } })),
      { selector: 'a', options: { ignoreHref: true } },
      { selector: 'img', format: 'skip' },
      { selector: 'script', format: 'skip' },
      { selector: 'style', format: 'skip' },
      { selector: 'table', format: 'dataTable', options: { uppercaseHeaderCells: false } },
    ],
  }).trim();
}

export function extractHtml(text: string, maxInputLength: number): ExtractorResult {
  return { pages: [{ page: 1, text: htmlToMarkdownText(text, maxInputLength), ocr: false }], paginated: false };
}
