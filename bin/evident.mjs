#!/usr/bin/env node
// `npx evident …`: the CLI in src/cli (Node 24 strips the TypeScript types itself).
import { enableCompileCache } from 'node:module';

enableCompileCache();
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv);
// Open handles (a PostgreSQL pool, a subscription) must not keep a finished command alive.
process.exit(code);
