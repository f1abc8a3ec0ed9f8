import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_TERM_LENGTH, STOP_WORDS, termFrequencies, tokenize } from '../../../../src/infra/retrieval/lexical/tokenize.ts';

describe('tokenize', () => {
  it('lowercases, drops stop words and stems with Porter', () => {
    expect(tokenize('The Running dogs are barking at the Cells')).toEqual(['run', 'dog', 'bark', 'cell']);
  });

  it('uses Lucene’s 33 English stop words: "no" and "not" go, other function words stay', () => {
    expect(STOP_WORDS.size).toBe(33);
    expect(tokenize('this is not a cure and there is no cause')).toEqual(['cure', 'caus']);
    expect(tokenize('which were also about')).toEqual(['which', 'were', 'also', 'about']);
  });

  it('gives queries and chunks the same terms for inflected forms', () => {
    expect(tokenize('biomaterials')).toEqual(tokenize('Biomaterial'));
    expect(tokenize('induction')).toEqual(tokenize('inducted'));
  });

  it('splits on punctuation and keeps numbers of two or more digits', () => {
    expect(tokenize('0-dimensional, (IL-6) 3.5% in 2001, p53 CD4+')).toEqual(['dimension', 'il', '2001', 'p53', 'cd4']);
  });

  it('drops words of one character, of any script', () => {
    expect(tokenize('vitamin D, T cells, type 2, TGF-β, 中 x')).toEqual(['vitamin', 'cell', 'type', 'tgf']);
    expect(tokenize('a b c 1 2 3')).toEqual([]);
  });

  it('drops a possessive and joins a contraction', () => {
    expect(tokenize("the patient's doctor didn't")).toEqual(['patient', 'doctor', 'didnt']);
  });

  it('keeps words of other scripts whole and unstemmed', () => {
    expect(tokenize('Größe naïve 北京大学 हिन्दी Ελλάδα')).toEqual(['größe', 'naïve', '北京大学', 'हिन्दी', 'ελλάδα']);
  });

  it('folds compatibility forms (ligatures, full-width)', () => {
    expect(tokenize('ﬁbers ＡＢＣ')).toEqual(tokenize('fibers abc'));
  });

  it('returns nothing for empty, punctuation-only or stop-word-only text', () => {
    expect(tokenize('')).toEqual([]);
    expect(tokenize('?!… --- ***')).toEqual([]);
    expect(tokenize('the and of to this')).toEqual([]);
    expect(tokenize(undefined as unknown as string)).toEqual([]);
  });

  it('drops runs longer than a term may be, keeping the words around them', () => {
    const huge = 'a'.repeat(1_000_000);
    expect(tokenize(`alpha ${huge} beta`)).toEqual(['alpha', 'beta']);
    expect(tokenize('x'.repeat(MAX_TERM_LENGTH))).toEqual(['x'.repeat(MAX_TERM_LENGTH)]);
    expect(tokenize('x'.repeat(MAX_TERM_LENGTH + 1))).toEqual([]);
  });

  it('never throws and yields bounded, NUL-free, non-empty terms for any string', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
      const terms = tokenize(text);
      expect(tokenize(text)).toEqual(terms);
      for (const term of terms) {
        expect(term.length).toBeGreaterThan(0);
        expect(term.length).toBeLessThanOrEqual(MAX_TERM_LENGTH);
        expect(term).not.toContain('\0');
      }
    }), { numRuns: 500 });
  });
});

describe('termFrequencies', () => {
  it('counts repeated terms and the total', () => {
    const { terms, length } = termFrequencies('Cell cells, the CELL divides; division');
    expect([...terms]).toEqual([['cell', 3], ['divid', 1], ['divis', 1]]);
    expect(length).toBe(5);
  });
});
