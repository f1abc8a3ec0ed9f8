// `npm run schema`: writes the GraphQL schema as SDL to schema.graphql (committed; the web app's
// operations are typed and checked against it, and test/graphql/schema-sdl.test.ts fails when the
// file no longer matches the server) and the web app's gql.tada types beside it.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printSchema } from 'graphql';
import { buildSchema } from '../src/graphql/schema.ts';

export const SCHEMA_FILE = fileURLToPath(new URL('../schema.graphql', import.meta.url));
export const WEB_TYPES_FILE = fileURLToPath(new URL('../web/src/graphql-env.d.ts', import.meta.url));

export function schemaSdl(): string {
  return `${printSchema(buildSchema())}\n`;
}

/** gql.tada's introspection types for schema.graphql, as its CLI writes them. */
export function writeWebTypes(output = WEB_TYPES_FILE): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, [`${root}node_modules/gql.tada/bin/cli.js`, 'generate', 'output', '--tsconfig', `${root}web/tsconfig.json`, '--output', output], {
    cwd: root, stdio: ['ignore', 'ignore', 'inherit'],
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(SCHEMA_FILE, schemaSdl());
  writeWebTypes();
  console.log('wrote schema.graphql and web/src/graphql-env.d.ts');
}
