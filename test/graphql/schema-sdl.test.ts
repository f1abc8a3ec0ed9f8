import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SCHEMA_FILE, WEB_TYPES_FILE, schemaSdl, writeWebTypes } from '../../scripts/print-schema.ts';

const fix = 'the schema changed: run `npm run schema` and commit schema.graphql and web/src/graphql-env.d.ts';

describe('schema.graphql (unit)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'evident-schema-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is the SDL of the schema the server serves', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8'), fix).toBe(schemaSdl());
  });

  it("is what the web app's operation types are generated from", () => {
    const fresh = join(dir, 'graphql-env.d.ts');
    writeWebTypes(fresh);
    expect(readFileSync(WEB_TYPES_FILE, 'utf8'), fix).toBe(readFileSync(fresh, 'utf8'));
  });
});
