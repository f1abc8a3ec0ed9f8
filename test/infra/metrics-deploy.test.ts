// The dashboard and the alert rules in deploy/ only name series the server exports.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/infra/metrics.ts';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('deploy/ (Grafana dashboard, Prometheus alerts)', () => {
  it('names only metrics the server exports', async () => {
    const metrics = new Metrics('test:1');
    const exported = new Set((await metrics.registry.getMetricsAsJSON()).flatMap((m) => (String(m.type) === 'histogram'
      ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name])));
    const named = (text: string) => new Set([...text.matchAll(/\bevident_[a-z0-9_]+/g)].map((m) => m[0]));
    const used = new Set([...named(read('deploy/grafana/evident.json')), ...named(read('deploy/prometheus/alerts.yml'))]);
    expect(used.size).toBeGreaterThan(5);
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
    expect(used.has('evident_ingestion_queue_documents')).toBe(true);
  });
});
