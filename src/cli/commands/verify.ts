import type { KeyObject } from 'node:crypto';
import { Option, type Command } from 'commander';
import { keyIdOf, publicKeyPem } from '../../infra/audit/signing-key.ts';
import { verifyChain } from '../../infra/audit/verify.ts';
import { configuredSigningKey, publicKeyFromFile } from '../chain.ts';
import type { CliContext } from '../context.ts';
import { EXIT, unavailable, usageError } from '../errors.ts';

const NO_KEY = 'No chain signing key here (CHAIN_SIGNING_KEY, or chain-signing.pem in DATA_DIR): pass --public-key FILE';

function exportPublicKey(ctx: CliContext): void {
  const key = configuredSigningKey(ctx);
  if (!key) throw unavailable(NO_KEY.replace(': pass --public-key FILE', ''));
  const pem = publicKeyPem(key);
  ctx.out.result({ publicKey: pem, keyId: keyIdOf(key) }, () => process.stdout.write(pem));
}

export function register(program: Command, ctx: CliContext): void {
  program.command('verify')
    .description('check the tamper-evidence chain: recompute every event\'s hash and check the stored links and signed checkpoints (exit 1 at the first break)')
    .addOption(new Option('--from <where>', 'recompute from the first event, or trust the last signed checkpoint and go on from there').choices(['start', 'last-checkpoint']).default('start'))
    .option('--public-key <file>', 'the signer\'s public key (SPKI PEM), e.g. from --export-public-key; repeat for a rotated key. Default: derived from the configured or embedded signing key', (file: string, files: string[]) => [...files, file], [] as string[])
    .option('--export-public-key', 'print the public key (SPKI PEM) of the configured or embedded signing key, and check nothing')
    .action(async (options: { from: 'start' | 'last-checkpoint'; publicKey: string[]; exportPublicKey?: boolean }) => {
      if (options.exportPublicKey) {
        if (options.publicKey.length > 0) throw usageError('--export-public-key prints the configured key: not with --public-key');
        exportPublicKey(ctx);
        return;
      }
      const given = options.publicKey.map(publicKeyFromFile);
      const log = await ctx.log();
      const chain = await ctx.chain();
      let keys: KeyObject[];
      let keySource: string;
      if (given.length > 0) {
        keys = given;
        keySource = options.publicKey.join(', ');
      } else {
        const own = configuredSigningKey(ctx);
        if (own) {
          keys = [own];
          keySource = ctx.config.chainSigningKey !== undefined ? 'CHAIN_SIGNING_KEY' : 'DATA_DIR/chain-signing.pem';
        } else {
          // Never sealed (no server has started on this log): the links, if any, are still checked; a checkpoint needs a key.
          if ((await chain.latestCheckpoint()) !== null) throw unavailable(NO_KEY);
          keys = [];
          keySource = 'none (no checkpoints to check)';
        }
      }
      const result = await verifyChain({ log, chain, publicKey: keys, from: options.from });
      const keyId = keys[0] ? keyIdOf(keys[0]) : null;
      ctx.out.result({ ...result, from: options.from, keyId }, () => {
        if (!result.ok) {
          ctx.out.line(`CHAIN BROKEN at seq ${result.seq}${result.position === null ? '' : ` (position ${result.position})`}: ${result.reason}`);
          ctx.out.line(`  ${result.detail}`);
          return;
        }
        ctx.out.line(`chain ok: ${result.events} events recomputed${options.from === 'last-checkpoint' ? ' after the last checkpoint' : ''}`);
        ctx.out.line(`head       seq ${result.headSeq}, hash ${result.headHash}`);
        const last = result.lastCheckpoint;
        ctx.out.line(`signed     ${result.checkpoints} checkpoints valid (key ${keySource}${keyId ? `, id ${keyId.slice(0, 16)}…` : ''})`
          + (last ? `; last at seq ${last.seq}, signed ${last.signedAt}` : ''));
        if (result.headSeq === 0) ctx.out.line('The chain is empty: this log was never sealed (the server seals it while it runs; or run `evident seal`).');
        ctx.out.line(result.unsealedTail === 0
          ? 'unsealed   0 events'
          : `unsealed   ${result.unsealedTail} events after the head: not covered yet (the server seals them; or run \`evident seal\`)`);
        if (last && last.seq < result.headSeq) ctx.out.line(`           ${result.headSeq - last.seq} sealed events after the last checkpoint: a truncation there would not be seen`);
      });
      if (!result.ok) process.exitCode = EXIT.checkFailed;
    });
}
