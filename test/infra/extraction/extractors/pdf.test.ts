import { describe, expect, it } from 'vitest';
import { MAX_RENDER_PIXELS, RENDER_DPI, renderScale } from '../../../../src/infra/extraction/extractors/pdf.ts';

describe('renderScale (pages rendered for OCR)', () => {
  const budget = 256 * 1024 * 1024;

  it('renders an ordinary page at 200 dpi', () => {
    expect(renderScale(595, 842, budget)).toBeCloseTo(RENDER_DPI / 72, 10);
  });

  it('keeps a huge page inside the pixel cap', () => {
    const scale = renderScale(14_400, 14_400, budget);
    expect(Math.floor(14_400 * scale) ** 2).toBeLessThanOrEqual(MAX_RENDER_PIXELS);
    expect(scale).toBeLessThan(RENDER_DPI / 72);
  });

  it('keeps the RGBA canvas inside the budget for uncompressed content', () => {
    const small = 1024 * 1024;
    const scale = renderScale(595, 842, small);
    expect(Math.floor(595 * scale) * Math.floor(842 * scale) * 4).toBeLessThanOrEqual(small);
  });
});
