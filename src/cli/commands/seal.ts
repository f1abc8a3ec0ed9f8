import type { Command } from 'commander';
import { sealNow } from '../chain.ts';
import type { CliContext } from '../context.ts';

export function register(program: Command, ctx: CliContext): void {
  program.command('seal')
    .description('seal the log now (offline: the server seals while it runs): link every event to the chain and sign a checkpoint at the head')
    .action(async () => {
      const { sealedTo, sealedNow } = await sealNow(ctx);
      const head = await (await ctx.chain()).head();
      ctx.out.result({ sealedNow, headSeq: head.seq, headPosition: sealedTo, headHash: head.hash }, () => {
        ctx.out.line(`sealed ${sealedNow} events; head seq ${head.seq} at position ${sealedTo}, hash ${head.hash}, signed`);
      });
    });
}
