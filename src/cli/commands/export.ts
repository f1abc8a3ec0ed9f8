import { existsSync, readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ExportIntegrityError, exportKeys, exportLog, KEYS_FILE } from '../../infra/audit/log-export.ts';
import { sealNow } from '../chain.ts';
import type { CliContext } from '../context.ts';
import { CliError, EXIT, usageError } from '../errors.ts';

export function register(program: Command, ctx: CliContext): void {
  program.command('export')
    .description('write a complete, verifiable copy of the log (events as stored, signed checkpoints, manifest) into an empty directory')
    .requiredOption('--out <dir>', 'the directory to write (created; must be empty)')
    .option('--keys', `also write ${KEYS_FILE}: every data key (wrapped by the master key, which is never exported) and erasure tombstone. SENSITIVE`)
    .action(async (options: { out: string; keys?: boolean }) => {
      const dir = resolve(options.out);
      if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0)) {
        throw usageError(`${options.out} is not an empty directory: export writes only into a new or empty one`);
      }
      const log = await ctx.log();
      const chain = await ctx.chain();
      // Seal first, so the stored chain and a signed checkpoint cover every exported event. Beside a running
      // embedded server the data directory is locked: its own sealer does this. The manifest's head hash is
      // recomputed over every exported event either way.
      let sealed: number | null = null;
      try {
        sealed = (await sealNow(ctx)).sealedNow;
      } catch (error) {
        if (!(error instanceof CliError) || error.exitCode !== EXIT.unavailable) throw error;
        ctx.out.note(`not sealed first (${error.message}); the manifest's head hash still covers every exported event`);
      }
      let manifest;
      try {
        manifest = await exportLog({ log, chain, dir });
      } catch (error) {
        if (error instanceof ExportIntegrityError) throw new CliError(EXIT.checkFailed, error.message);
        throw error;
      }
      const keys = options.keys ? await exportKeys({ keyStore: await ctx.keyStore(), dir }) : null;
      ctx.out.result({ dir, sealedFirst: sealed, manifest, keys: keys ? { file: KEYS_FILE, ...keys, sensitive: true } : null }, () => {
        ctx.out.line(`exported ${manifest.eventCount} events in ${manifest.streamCount} streams to ${dir}`);
        ctx.out.line(`head       seq ${manifest.headSeq}, hash ${manifest.headHash}`);
        ctx.out.line(`signed     ${manifest.checkpointCount} checkpoints carried over`);
        ctx.out.line(`positions  ${manifest.firstPosition ?? '-'} … ${manifest.lastPosition ?? '-'} (${manifest.sourceKind})`);
        if (keys) {
          ctx.out.line(`keys       ${keys.keys} data keys and ${keys.erased} erasure tombstones in ${KEYS_FILE}`);
          ctx.out.line(`SENSITIVE: ${KEYS_FILE} with the master key reads every personal field. The master key is not in the export: move it separately.`);
        } else {
          ctx.out.line('keys       not exported (personal fields stay ciphertext; --keys writes them, wrapped by the master key)');
        }
      });
    });
}
