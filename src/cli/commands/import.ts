import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { KEYS_FILE } from '../../infra/audit/log-export.ts';
import {
  checkExport, ImportTargetNotEmptyError, ImportVerificationError, importKeys, importLog,
} from '../../infra/audit/log-import.ts';
import { openChainStore, openLog } from '../../stores.ts';
import type { CliContext } from '../context.ts';
import { CliError, EXIT, unavailable, usageError } from '../errors.ts';

const notEmpty = (what: string) => usageError(`The target ${what} is not empty: import only fills an empty store (configure a new DATA_DIR or DATABASE_URL)`);

async function opening<T>(what: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (error) {
    throw unavailable(`Cannot open the ${what}: ${(error as Error).message.split('\n')[0]}`);
  }
}

export function register(program: Command, ctx: CliContext): void {
  program.command('import')
    .description('import an export (evident export) into the configured store, which must be empty; any adapter (SQLite → PostgreSQL)')
    .requiredOption('--from <dir>', 'the export directory (with manifest.json)')
    .option('--keys', `also restore ${KEYS_FILE} into the key store (the target needs the same master key)`)
    .action(async (options: { from: string; keys?: boolean }) => {
      const dir = resolve(options.from);
      if (!existsSync(dir) || !statSync(dir).isDirectory()) throw usageError(`${options.from} is not a directory`);
      if (options.keys && !existsSync(join(dir, KEYS_FILE))) throw usageError(`${options.from} has no ${KEYS_FILE}: export it with --keys, or import without --keys`);
      const config = ctx.config;
      if (config.eventStore === 'sqlite' || config.readDb === 'pglite') {
        mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
        ctx.lockDataDir(); // no server may write the target meanwhile
      }
      // Checked completely before anything is opened for writing (importLog checks it again).
      let checked;
      try {
        checked = await checkExport(dir);
      } catch (error) {
        if (error instanceof ImportVerificationError) throw new CliError(EXIT.checkFailed, `The export does not verify: ${error.message}`);
        throw error;
      }
      const log = await opening('event log', () => openLog(config));
      ctx.onClose(() => log.close());
      const chain = await opening('chain store', () => openChainStore(config));
      ctx.onClose(() => chain.close());
      if ((await log.headPosition()) !== 0n) throw notEmpty('event log');
      if ((await chain.head()).seq !== 0) throw notEmpty('chain');
      const keyStore = options.keys ? await ctx.keyStore() : null;
      if (keyStore) {
        for await (const record of keyStore.list()) {
          void record;
          throw notEmpty('key store');
        }
      }
      let imported;
      try {
        imported = await importLog({ dir, log, chain });
      } catch (error) {
        if (error instanceof ImportTargetNotEmptyError) throw usageError(error.message);
        if (error instanceof ImportVerificationError) throw new CliError(EXIT.checkFailed, `The export does not verify: ${error.message}`);
        throw error;
      }
      const keys = keyStore ? await importKeys({ keyStore, dir }) : null;
      if (!keyStore && existsSync(join(dir, KEYS_FILE))) ctx.out.note(`${KEYS_FILE} was not imported: personal fields stay unreadable here until it is (--keys)`);
      const head = await chain.head();
      const { manifest } = checked;
      ctx.out.result({ events: imported.events, headSeq: head.seq, headHash: imported.headHash, manifestHeadHash: manifest.headHash, checkpoints: manifest.checkpointCount, target: log.kind, keys }, () => {
        ctx.out.line(`imported ${imported.events} events into ${log.kind}; head seq ${head.seq}, hash ${imported.headHash} (equals the manifest's)`);
        ctx.out.line(`signed   ${manifest.checkpointCount} checkpoints carried over`);
        if (keys) ctx.out.line(`keys     ${keys.keys} data keys and ${keys.erased} erasure tombstones restored`);
        ctx.out.line('The read models build from the imported log when the server starts (or: evident replay).');
      });
    });
}
