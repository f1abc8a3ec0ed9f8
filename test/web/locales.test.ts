// Every string the web app shows comes from its locale files: both languages hold the same keys in
// every namespace, no value is empty, and every literal key the sources pass to t() exists.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const WEB_SRC = fileURLToPath(new URL('../../web/src/', import.meta.url));
const LANGUAGES = ['en', 'de'];

type Tree = { [key: string]: string | Tree };

function flatten(tree: Tree, prefix = ''): Map<string, string> {
  const keys = new Map<string, string>();
  for (const [key, value] of Object.entries(tree)) {
    if (typeof value === 'string') keys.set(prefix + key, value);
    else for (const [inner, text] of flatten(value, `${prefix}${key}.`)) keys.set(inner, text);
  }
  return keys;
}

const namespaces = readdirSync(join(WEB_SRC, 'locales/en')).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
const catalog = (language: string, namespace: string) => flatten(JSON.parse(readFileSync(join(WEB_SRC, `locales/${language}/${namespace}.json`), 'utf8')) as Tree);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'locales' ? [] : sources(path);
    return /\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

describe('web app translations (unit)', () => {
  it('has a namespace file for each language', () => {
    for (const language of LANGUAGES) {
      expect(readdirSync(join(WEB_SRC, `locales/${language}`)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort()).toEqual([...namespaces].sort());
    }
  });

  it.each(namespaces)('%s: the same keys in every language, none empty', (namespace) => {
    const english = catalog('en', namespace);
    for (const language of LANGUAGES) {
      const translated = catalog(language, namespace);
      expect([...translated.keys()].sort(), `${language}/${namespace}.json`).toEqual([...english.keys()].sort());
      expect([...translated].filter(([, text]) => text.trim() === '').map(([key]) => key), `${language}/${namespace}.json`).toEqual([]);
    }
  });

  it('knows every literal key the sources translate', () => {
    const missing: string[] = [];
    for (const file of sources(WEB_SRC)) {
      const text = readFileSync(file, 'utf8');
      const declared = /useTranslation\(\s*'([\w-]+)'\s*\)/.exec(text)?.[1] ?? 'common';
      for (const match of text.matchAll(/\bt\(\s*'([\w.:-]+)'/g)) {
        const [namespace, key] = match[1]!.includes(':') ? match[1]!.split(':') as [string, string] : [declared, match[1]!];
        // i18next falls back to common for keys a page namespace lacks only when asked; we do not rely on it.
        const known = catalog('en', namespace);
        // A counted string is found under its plural forms (key_one, key_other).
        if (!known.has(key) && !known.has(`${key}_other`)) missing.push(`${file.slice(WEB_SRC.length)}: ${namespace}:${key}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
