import type { Command } from 'commander';
import { createRetentionCommands } from '../../commands/retention.ts';
import { ProjectionRunner } from '../../projections/runner.ts';
import { createVectorIndexer } from '../../projections/vector-indexer.ts';
import { createErasureScrubber } from '../../stores.ts';
import type { CliContext } from '../context.ts';
import { unavailable, usageError } from '../errors.ts';
import { resolveOperator, resolveUser, userCommands } from '../operator.ts';

/** How long erase waits for the projections and the scrub; past it the scrub completes at the server's next start. */
const SCRUB_WAIT_MS = 120_000;

/**
 * Erasure as the server does it (src/app.ts): the erasure is recorded, the key deleted, then the
 * projections and the vector indexer drop the person's rows and the read database is scrubbed. It
 * runs those here, so it needs the read database: with PGlite, only while no server holds DATA_DIR.
 */
export function register(program: Command, ctx: CliContext): void {
  program.command('erase')
    .description('erase a person: their personal data in the log becomes unreadable for good, their read-model rows are deleted and scrubbed; recorded with the operator as actor')
    .argument('<user>', 'user id or email address')
    .requiredOption('--as <admin>', 'the operator: an active admin, by id or email address')
    .option('--yes', 'confirm: erasure cannot be undone')
    .action(async (user: string, options: { as: string; yes?: boolean }) => {
      const operator = await resolveOperator(ctx, options.as);
      const target = await resolveUser(ctx, user, 'user');
      if (!options.yes) throw usageError(`Erasing ${target.userId} cannot be undone: add --yes to confirm`);

      // The read models first: refused (exit 3) before anything is recorded when a server holds them.
      const readDb = await ctx.readDb();
      const infra = await ctx.documentInfra();
      const store = await ctx.store();
      const readModels = await ctx.readModels();
      const keyStore = await ctx.keyStore();
      const logger = ctx.logger;
      const projections = new ProjectionRunner({ store, db: readDb, projections: readModels, logger, batchSize: ctx.config.projectionBatchSize });
      await projections.start();
      ctx.onClose(() => projections.stop());
      const vectorIndexer = createVectorIndexer({ store, readDb, blobs: infra.blobs, vectorIndex: infra.vectorIndex, embedder: infra.embedder, logger });
      vectorIndexer.start();
      ctx.onClose(() => vectorIndexer.stop());
      const codec = await ctx.codec();
      if (!codec) throw unavailable('No master key: set MASTER_KEY, or keep master.key in DATA_DIR');
      const scrubber = createErasureScrubber({
        store, readDb, keyStore, codec, blobs: infra.blobs, readModels, projections, vectorIndexer, vectorIndex: infra.vectorIndex, logger,
      });
      scrubber.start();
      ctx.onClose(() => scrubber.stop());

      let scrubbed = true;
      const users = await userCommands(ctx, async (position) => {
        scrubbed = await scrubber.waitForScrub(position, SCRUB_WAIT_MS);
      }, (userId) => createRetentionCommands({ store, readDb }).holdsCovering(userId));
      const result = await users.eraseData({ userId: target.userId }, ctx.commandContext(operator.userId));
      const recorded = result.position !== null;
      ctx.out.result({ userId: target.userId, actorId: operator.userId, recorded, position: result.position?.toString() ?? null, scrubbed }, () => {
        ctx.out.line(recorded
          ? `erased ${target.userId} (UserDataErased at position ${result.position}, actor ${operator.userId})`
          : `${target.userId} was already erased: nothing recorded (the key is deleted again)`);
        if (!scrubbed) ctx.out.note('the read-model scrub did not finish in time; it completes when the server next starts');
      });
    });
}
