import DOMPurify from 'dompurify';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import css from 'highlight.js/lib/languages/css';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import python from 'highlight.js/lib/languages/python';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import { Marked, type Token, type Tokens } from 'marked';
import { memo, useMemo, type MouseEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useLocation } from 'wouter';

for (const [name, language] of Object.entries({ bash, css, javascript, json, python, sql, typescript, xml })) hljs.registerLanguage(name, language);
hljs.registerAliases(['sh', 'shell', 'zsh'], { languageName: 'bash' });
hljs.registerAliases(['js', 'jsx', 'mjs'], { languageName: 'javascript' });
hljs.registerAliases(['ts', 'tsx'], { languageName: 'typescript' });
hljs.registerAliases(['html', 'svg'], { languageName: 'xml' });
hljs.registerAliases(['py'], { languageName: 'python' });

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function highlighted(code: string, language: string | undefined): string {
  const known = language && hljs.getLanguage(language) ? language : null;
  return known ? hljs.highlight(code, { language: known, ignoreIllegals: true }).value : escapeHtml(code);
}

function parser(copyLabel: string): Marked {
  return new Marked({
    gfm: true,
    breaks: false,
    renderer: {
      // Raw HTML in model output is shown as text, never parsed: nothing for the sanitiser to miss.
      html: ({ text }: Tokens.HTML | Tokens.Tag) => escapeHtml(text),
      code: ({ text, lang }: Tokens.Code) => {
        const language = (lang ?? '').trim().split(/\s+/)[0]?.toLowerCase();
        return `<div class="code-block"><button type="button" class="copy" data-copy="">${escapeHtml(copyLabel)}</button>`
          + `<pre><code class="hljs">${highlighted(text, language)}</code></pre></div>`;
      },
    },
  });
}

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    const href = node.getAttribute('href') ?? '';
    if (/^(https?:|mailto:)/i.test(href)) {
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer nofollow');
    } else if (!href.startsWith('#')) node.removeAttribute('href'); // relative links could reach the app's own pages
  }
});

const SANITIZE = {
  USE_PROFILES: { html: true },
  FORBID_TAGS: ['style', 'form', 'input', 'textarea', 'select', 'iframe', 'object', 'embed', 'img', 'video', 'audio', 'source'],
  FORBID_ATTR: ['style', 'id', 'name'],
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#)/i,
};

/** Sanitised HTML of Markdown from a model or a document: no script, no handlers, no javascript: links. */
export function renderMarkdownBlock(marked: Marked, tokens: Token[]): string {
  return DOMPurify.sanitize(marked.parser(tokens), SANITIZE);
}

/** `[n]` citations of sources that exist become links (`#cite-n`, which a click turns into the source's page). */
export function linkCitations(text: string, sources: number): string {
  if (sources === 0) return text;
  return text.replace(/(?<![\]\\])\[(\d{1,3})\](?![([:])/g, (whole, n: string) => (Number(n) >= 1 && Number(n) <= sources ? `[\\[${n}\\]](#cite-${n})` : whole));
}

const Block = memo(function Block({ raw, marked }: { raw: string; marked: Marked }) {
  const html = useMemo(() => renderMarkdownBlock(marked, marked.lexer(raw)), [raw, marked]);
  return <div className="md-block" dangerouslySetInnerHTML={{ __html: html }} />;
});

function copyCode(event: MouseEvent<HTMLDivElement>): boolean {
  const button = (event.target as HTMLElement).closest('button[data-copy]');
  const code = button?.parentElement?.querySelector('code')?.textContent;
  if (!button || code === undefined || code === null) return false;
  void navigator.clipboard?.writeText(code).catch(() => undefined);
  return true;
}

/**
 * Markdown rendered block by block (`citations`: the page each `[n]` opens, n = 1…): while a reply streams in, only its last block changes, so only
 * that one is parsed and re-rendered per token (blocks are memoised on their source text).
 */
export function Markdown({ text, citations = [] }: { text: string; citations?: readonly string[] }) {
  const { t } = useTranslation();
  const [, navigate] = useLocation();
  const marked = useMemo(() => parser(t('copy')), [t]);
  const sources = citations.length;
  const blocks = useMemo(() => marked.lexer(linkCitations(text, sources)).map((token) => token.raw).filter((raw) => raw.length > 0), [marked, text, sources]);
  const onClick = (event: MouseEvent<HTMLDivElement>) => {
    if (copyCode(event)) return;
    const cite = (event.target as HTMLElement).closest('a[href^="#cite-"]');
    const href = cite ? citations[Number(cite.getAttribute('href')!.slice('#cite-'.length)) - 1] : undefined;
    if (href) {
      event.preventDefault();
      navigate(href);
    }
  };
  return (
    <div className="markdown" onClick={onClick}>
      {blocks.map((raw, i) => <Block key={i} raw={raw} marked={marked} />)}
    </div>
  );
}
